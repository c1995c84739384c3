"""Fault suite, killed runs: SIGKILL a session at random points, resume it each time.

Half of the kills hit the session's process alone (as the kernel's OOM killer does,
leaving its MLflow writer to finish on its own), half its whole process group. At
the end the store holds exactly the budgeted trials, once each, and the session run
is FINISHED.
"""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

KILLS = 10
BUDGET = 40


def start(base, *args):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    return subprocess.Popen(
        [*base, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )


def wait_for(process, marker):
    """Read stderr until a line holds ``marker``; return that line ("" if the run ended)."""
    assert process.stderr is not None
    for line in process.stderr:
        if marker in line:
            return line
    return ""


@pytest.mark.slow
def test_ten_random_sigkills_lose_and_duplicate_nothing(store_uri, tmp_path):
    rng = random.Random(20261129)
    base = [sys.executable, "-m", "lgt_graph", "run", "--tracking-uri", store_uri]
    base += ["--checkpoints", str(tmp_path / "ck.db")]
    process = start(base, "--task", "iris", "--budget", str(BUDGET))
    line = wait_for(process, "session ")
    session = line.split("session ")[1].split(":")[0]
    kills: list[str] = []
    while len(kills) < KILLS:
        time.sleep(rng.uniform(0.0, 1.5))
        if process.poll() is not None:
            pytest.fail(f"the run ended before kill {len(kills) + 1}; raise BUDGET")
        group = rng.random() < 0.5
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        kills.append("group" if group else "process")
        process = start(base, "--resume", session)
        assert wait_for(process, "resuming session"), "resume did not start"
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err

    client = MlflowClient(store_uri)
    parent = client.get_run(session)
    assert parent.info.status == "FINISHED"
    runs = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{session}'", max_results=500
    )
    trials = sorted(int(r.data.tags["lgt.trial"]) for r in runs)
    assert trials == list(range(1, BUDGET + 1)), trials
    assert all(r.info.status in ("FINISHED", "FAILED") for r in runs)
    assert set(kills) == {"group", "process"}
    print(f"{len(kills)} kills ({kills.count('group')} of the process group), {BUDGET} trials")
