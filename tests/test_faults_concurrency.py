"""Fault suite, two processes: racing on a new store, racing to resume one session.

Two runs started at once on a store that does not exist yet both finish (MLflow's
tables are created by one of them, under a lock beside the store). A session being run
holds a lease in the checkpoint database: a second ``--resume`` of it is refused in one
line naming the holder, while the first finishes with every trial once; a lease whose
holder died is taken over.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

from mlflow.tracking import MlflowClient

from tests.test_faults_kill import assert_each_trial_once, start, wait_for

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}


def test_two_runs_started_at_once_on_a_new_store_both_finish(tmp_path):
    uri = f"sqlite:///{tmp_path / 'new.db'}"
    base = [sys.executable, "-m", "lgt_graph", "run", "--task", "iris", "--budget", "1"]
    runs = [
        subprocess.Popen(
            [*base, "--seed", str(seed), "--tracking-uri", uri],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for seed in (0, 1)
    ]
    errors = [run.communicate(timeout=300)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    assert not any("Traceback" in err for err in errors), errors
    client = MlflowClient(uri)
    experiments = [e for e in client.search_experiments() if e.name == "lgt-iris"]
    assert len(experiments) == 1  # one experiment, not one each
    sessions = client.search_runs(
        [experiments[0].experiment_id], "tags.kind = 'session'", max_results=10
    )
    assert len(sessions) == 2 and all(s.info.status == "FINISHED" for s in sessions)


def test_a_second_resume_of_a_running_session_is_refused(store_uri, tmp_path):
    budget = 12
    base = [sys.executable, "-m", "lgt_graph", "run", "--tracking-uri", store_uri]
    base += ["--checkpoints", str(tmp_path / "ck.db")]
    first = start(base, "--task", "iris", "--budget", str(budget))
    session = wait_for(first, "session ").split("session ")[1].split(":")[0]
    assert wait_for(first, "trial   2/")
    os.killpg(first.pid, signal.SIGKILL)  # its lease is left behind, held by a dead pid
    first.wait()

    one = start(base, "--resume", session)  # takes the stale lease over
    assert wait_for(one, "resuming session")
    os.kill(one.pid, signal.SIGSTOP)  # alive but still at work while the second one tries
    try:
        two = subprocess.run(
            [*base, "--resume", session], capture_output=True, text=True, env=ENV, timeout=300
        )
    finally:
        os.kill(one.pid, signal.SIGCONT)
    assert two.returncode == 2, two.stderr
    lines = two.stderr.strip().splitlines()
    assert len(lines) == 1 and f"session {session} is being run by process {one.pid}" in lines[0]
    _, err = one.communicate(timeout=300)
    assert one.returncode == 0, err

    assert_each_trial_once(store_uri, session, budget=budget)
