"""Fault suite, killed runs: kill or interrupt a session at random points, resume it each time.

SIGKILL: half of the kills hit the session's process alone (as the kernel's OOM killer
does, leaving its MLflow writer to finish on its own), half its whole process group.
Ctrl-C: SIGINT to the whole process group, as a terminal sends it (half of the time
twice), and SIGTERM to the process, as a service manager does; each must end in one line
with the resume command and exit 130 or 143. At the end the store holds exactly the
budgeted trials, once each, and the session run is FINISHED.
"""

import contextlib
import os
import random
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

KILLS = int(os.environ.get("LGT_FAULT_KILLS", "4"))
"""Kills (and, apart, interrupts) per session: 4 in the suite; LGT_FAULT_KILLS=10 for the
soak run docs/RELIABILITY.md reports. Each costs a process start of several seconds."""
BUDGET = 4 * KILLS


def start(base, *args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    env.pop("MLFLOW_TRACKING_URI", None)  # the store is the one the command names, or ./mlflow.db
    return subprocess.Popen(
        [*base, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )


def wait_for(process, marker):
    """Read stderr until a line holds ``marker``; return that line ("" if the run ended)."""
    assert process.stderr is not None
    for line in process.stderr:
        if marker in line:
            return line
    return ""


def assert_each_trial_once(store_uri, session, budget=BUDGET, ended=("FINISHED",)):
    """Check that a finished session holds trials 1..budget once each, every one ``ended``."""
    client = MlflowClient(store_uri)
    parent = client.get_run(session)
    assert parent.info.status == "FINISHED"
    runs = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{session}'", max_results=500
    )
    trials = sorted(int(r.data.tags["lgt.trial"]) for r in runs)
    assert trials == list(range(1, budget + 1)), trials
    assert all(r.info.status in ended for r in runs), [r.info.status for r in runs]


@pytest.mark.slow
def test_random_sigkills_lose_and_duplicate_nothing(store_uri, tmp_path):
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

    assert_each_trial_once(store_uri, session, ended=("FINISHED", "FAILED"))
    assert set(kills) == {"group", "process"}
    print(f"{len(kills)} kills ({kills.count('group')} of the process group), {BUDGET} trials")


@pytest.mark.slow
def test_ctrl_c_and_sigterms_at_random_stop_cleanly_and_resume_each_trial_once(store_uri, tmp_path):
    rng = random.Random(130)
    checkpoints = tmp_path / "ck.db"
    base = [sys.executable, "-m", "lgt_graph", "run", "--tracking-uri", store_uri]
    base += ["--checkpoints", str(checkpoints)]
    process = start(base, "--task", "iris", "--budget", str(BUDGET))
    session = wait_for(process, "session ").split("session ")[1].split(":")[0]
    stops: list[str] = []
    while len(stops) < KILLS:
        time.sleep(rng.uniform(0.0, 1.5))
        if process.poll() is not None:
            pytest.fail(f"the run ended before interrupt {len(stops) + 1}; raise BUDGET")
        ctrl_c = rng.random() < 0.7
        if ctrl_c:
            os.killpg(process.pid, signal.SIGINT)  # the terminal's Ctrl-C: the whole group
            if rng.random() < 0.5:  # pressed twice: the second one changes nothing
                time.sleep(rng.uniform(0.0, 0.5))
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGINT)
        else:
            os.kill(process.pid, signal.SIGTERM)
        _, err = process.communicate(timeout=120)
        stops.append("ctrl-c" if ctrl_c else "term")
        # one line, the resume command, no traceback, the conventional exit status
        assert process.returncode == (130 if ctrl_c else 143), err
        assert "Traceback" not in err, err
        said = [line for line in err.splitlines() if "is saved; continue with:" in line]
        assert len(said) == 1, err
        assert f"run --resume {session} --checkpoints {checkpoints}" in said[0]
        # the session stops as KILLED until it is resumed: a failed trial is never recorded
        client = MlflowClient(store_uri)
        assert client.get_run(session).info.status == "KILLED"
        process = start(base, "--resume", session)
        assert wait_for(process, "resuming session"), "resume did not start"
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert_each_trial_once(store_uri, session)
    assert set(stops) == {"ctrl-c", "term"}
    print(f"{len(stops)} stops ({stops.count('ctrl-c')} Ctrl-C), {BUDGET} trials")


@pytest.mark.slow
def test_a_killed_comparison_resumes_from_its_out_folder(store_uri, tmp_path):
    out = tmp_path / "out"
    base = [sys.executable, "-m", "lgt_graph", "compare", "--task", "iris"]
    base += ["--methods", "random,lgt", "--budget", "20", "--seeds", "2"]
    base += ["--out", str(out), "--tracking-uri", store_uri]
    process = start(base)
    assert wait_for(process, "[3/4]")  # two sessions done, the third under way
    time.sleep(1.0)  # into it: its 20 random-search trials take about 4 s here
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    # what ended is already written; the comparison is not overwritten by accident
    assert len((out / "results.csv").read_text().splitlines()) == 3
    again = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "add --resume to continue it" in again.stderr
    other = subprocess.run(
        [*base[:-4], "--budget", "5", "--out", str(out), "--tracking-uri", store_uri, "--resume"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert other.returncode == 2 and "other budget" in other.stderr, other.stderr

    resumed = subprocess.run([*base, "--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert "[1/4]" not in resumed.stderr and "[2/4]" not in resumed.stderr
    assert "[3/4] iris seed 1: RandomSearch (resuming session" in resumed.stderr
    lines = (out / "results.csv").read_text().splitlines()
    header, rows = (
        lines[0].split(","),
        [dict(zip(lines[0].split(","), r.split(","), strict=False)) for r in lines[1:]],
    )
    assert "session_id" in header
    assert sorted((r["seed"], r["method"]) for r in rows) == [
        ("0", "lgt"),
        ("0", "random"),
        ("1", "lgt"),
        ("1", "random"),
    ]
    # the resumed session holds each of its trials once
    for row in rows:
        assert_each_trial_once(store_uri, row["session_id"], 20, ("FINISHED", "FAILED"))


def read_checkpoints(checkpoints, query, *params):
    """Return the rows a query finds in a checkpoint database ([] before its tables exist)."""
    if not checkpoints.exists():
        return []
    with (
        contextlib.closing(sqlite3.connect(checkpoints, timeout=30)) as db,
        contextlib.suppress(sqlite3.OperationalError),  # its tables are not there yet
    ):
        return db.execute(query, params).fetchall()
    return []


def sessions_in(checkpoints):
    """Return (id, status) of each session a checkpoint database records, oldest first."""
    return read_checkpoints(checkpoints, "SELECT id, status FROM lgt_sessions ORDER BY created")


def test_a_comparison_stopped_in_its_second_session_resumes_it_in_the_default_store(
    store_uri, tmp_path
):
    # No --tracking-uri: MLflow exported the store of the first session as
    # MLFLOW_TRACKING_URI, the second recorded it as the user's choice, and --resume
    # found no session like it: it began again beside a KILLED one.
    assert store_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"  # ./mlflow.db, made already
    args = ["compare", "--task", "iris", "--methods", "none,lgt", "--budget", "6", "--out", "cmp"]
    base = [sys.executable, "-m", "lgt_graph", *args]
    process = start(base, cwd=tmp_path)
    assert wait_for(process, "[2/2]"), "the second session did not start"
    checkpoints = tmp_path / "cmp" / "lgt_checkpoints.db"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # Ctrl-C once the second session has trained a step
        recorded = sessions_in(checkpoints)
        steps = "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ?"
        if len(recorded) == 2 and len(read_checkpoints(checkpoints, steps, recorded[1][0])) > 1:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    again = f"python -m lgt_graph {shlex.join(args)} --resume"
    said = [line for line in err.splitlines() if "continue with:" in line]
    assert said == [f"interrupted: the comparison in cmp is saved; continue with: {again}"], err
    first, second = sessions_in(checkpoints)
    assert (first[1], second[1]) == ("finished", "interrupted")
    assert MlflowClient(store_uri).get_run(second[0]).info.status == "KILLED"

    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    resumed = subprocess.run(
        [sys.executable, *shlex.split(again)[1:]],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"[2/2] iris seed 0: LGT (resuming session {second[0]})" in resumed.stderr
    assert "[1/2]" not in resumed.stderr
    # each session once, finished: no KILLED one beside a new one
    assert sessions_in(checkpoints) == [(first[0], "finished"), (second[0], "finished")]
    client = MlflowClient(store_uri)
    runs = client.search_runs(
        [client.get_experiment_by_name("lgt-iris").experiment_id], "tags.kind = 'session'"
    )
    assert sorted((r.info.run_id, r.info.status) for r in runs) == sorted(
        [(first[0], "FINISHED"), (second[0], "FINISHED")]
    )
    assert_each_trial_once(store_uri, second[0], budget=6)


@pytest.mark.parametrize(
    "node",
    [
        # Ctrl-C landing while a dataclass builds its methods (an import under way) escapes
        # an exec of a string; CPython remembers it and, unless told otherwise, exits by
        # SIGINT (-2) whatever status the command returned: 2 stops in 30 before.
        "train_then_ctrl_c_in_an_exec",
        # Ctrl-C eaten by a library: the session must still stop, after the step under way
        # (it ran on to its end with exit 0 before, all later signals being ignored).
        "train_then_swallow_a_ctrl_c",
    ],
)
def test_a_ctrl_c_in_an_exec_or_eaten_by_a_library_still_exits_130_and_resumes(
    node, store_uri, tmp_path
):
    checkpoints = tmp_path / "ck.db"
    base = [sys.executable, "-m", "lgt_graph", "run", "--tracking-uri", store_uri]
    base += ["--checkpoints", str(checkpoints)]
    node = ["--node", f"train=tests.custom_nodes:{node}"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    stopped = subprocess.run(
        [*base, "--task", "iris", "--budget", "4", *node],
        capture_output=True,
        text=True,
        env={**env, "LGT_TEST_CTRL_C_AT": "2"},
        timeout=300,
    )
    assert stopped.returncode == 130, stopped.stderr
    said = [line for line in stopped.stderr.splitlines() if "is saved; continue with:" in line]
    assert len(said) == 1, stopped.stderr
    session = said[0].split("session ")[1].split(" ")[0]
    resumed = subprocess.run(
        [*base, "--resume", session], capture_output=True, text=True, env=env, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    assert_each_trial_once(store_uri, session, budget=4)
