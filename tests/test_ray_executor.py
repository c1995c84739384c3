"""Trials on Ray, on a local instance of 2 CPUs: the same results as in this process, a
killed worker's trial retried once on another worker, then failed with the reason; an
unreachable cluster is one clear error."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import ray

from lgt_graph.context import Settings
from lgt_graph.errors import UserError
from lgt_graph.executors import LocalExecutor
from lgt_graph.executors.ray_tasks import RayExecutor, without_test
from lgt_graph.session import run_session
from lgt_graph.space import space_for
from lgt_graph.tasks import TASKS, load_task_data

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def iris():
    return load_task_data(TASKS["iris"], seed=0)


def net(data, epochs):
    config = space_for(data.task.family).default()
    config.update(model="mlp", epochs=epochs, batch_size=8)
    return config


def trial_processes(title=b"ray::lgt-trial"):
    """The worker processes running a trial now (Ray titles them ray::lgt-trial), or a branch."""
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    if handle.read().startswith(title):
                        yield int(pid)
            except OSError:
                pass


class Killer(threading.Thread):
    """Kill (SIGKILL) the worker of each new trial attempt, ``times`` times."""

    def __init__(self, times, title=b"ray::lgt-trial"):
        super().__init__(daemon=True)
        self.times, self.killed, self.title = times, [], title

    def run(self):
        deadline = time.monotonic() + 300
        while len(self.killed) < self.times and time.monotonic() < deadline:
            for pid in trial_processes(self.title):
                if pid not in self.killed:
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append(pid)
                    break
            time.sleep(0.05)


def run(executor, config):
    return executor.train(
        config, monitor=None, primary="accuracy", seconds_left=None, progress=None
    )


def test_a_killed_worker_costs_its_trial_one_retry_and_the_same_result(local_ray, iris):
    executor = RayExecutor(iris, None, cpus=1, gpus=0, device="cpu")
    config = net(iris, 60)
    killer = Killer(times=1)
    killer.start()
    result = run(executor, config)
    killer.join()
    assert len(killer.killed) == 1
    assert result.ok, result.reason
    assert result.diagnostics["retried"].startswith("after the worker died")
    assert len(result.diagnostics["worker_deaths"]) == 1
    assert result.diagnostics["worker"].endswith(", cpu")  # where it ran, resolved there
    here = run(LocalExecutor(iris, None), config)
    assert result.metrics == here.metrics  # the retry trained the same trial, to the same end
    executor.close()
    assert ray.is_initialized()  # an instance the executor did not start stays up


def test_a_worker_killed_twice_fails_its_trial_with_the_reason(local_ray, iris):
    executor = RayExecutor(iris, None, cpus=1, gpus=0, device="cpu")
    killer = Killer(times=2)
    killer.start()
    result = run(executor, net(iris, 60))
    killer.join()
    assert len(killer.killed) == 2
    assert result.status == "failed"
    assert "the Ray worker died in this trial 2 times" in result.reason
    assert run(executor, net(iris, 2)).ok  # the executor goes on


def test_a_worker_killed_in_a_round_costs_only_its_own_trial_a_retry(local_ray, iris):
    executor = RayExecutor(iris, None, cpus=1, gpus=0, device="cpu")
    configs = [net(iris, 60), net(iris, 61)]
    heard = []
    killer = Killer(times=1)
    killer.start()
    results = executor.train_round(
        configs, primary="accuracy", seconds_left=None, done=lambda i, r: heard.append(i)
    )
    killer.join()
    assert len(killer.killed) == 1
    assert [r.config for r in results] == configs and all(r.ok for r in results)
    assert sum("retried" in r.diagnostics for r in results) == 1  # the other trial went on
    assert sorted(heard) == [0, 1]  # each result told once, as it came back


def test_a_worker_killed_in_a_segment_branch_costs_the_branch_one_retry(local_ray, iris, tmp_path):
    executor = RayExecutor(iris, None, cpus=1, gpus=0, device="cpu")
    jobs = [(net(iris, 60), "candidate"), (net(iris, 60), "control")]
    killer = Killer(times=1, title=b"ray::lgt-branch")
    killer.start()
    ends = executor.train_branches(None, jobs, 40, 1, "accuracy", 0, tmp_path)
    killer.join()
    assert len(killer.killed) == 1
    assert all(result.ok and ref is not None for result, ref in ends)
    assert sum("worker_deaths" in result.diagnostics for result, _ in ends) == 1
    assert ends[0][0].metrics == ends[1][0].metrics  # the retried branch trained the same
    for _, ref in ends:  # the driver wrote each end checkpoint, whole and hashed
        assert Path(ref["path"]).parent == tmp_path and ref["epoch"] == 40


def test_workers_are_sent_the_data_without_the_test_split(iris):
    sent = without_test(iris)
    assert len(sent.y_train) == len(iris.y_train) and len(sent.test_split.y) == 0
    assert len(iris.test_split.y) > 0  # the session's own copy is untouched


def test_a_one_worker_session_on_ray_gives_what_an_in_process_session_gives(local_ray, tmp_path):
    from mlflow.tracking import MlflowClient

    outcomes = {}
    for executor in ("local", "ray"):
        uri = f"sqlite:///{tmp_path / executor}.db"
        settings = Settings.resolve(
            task="iris", budget=3, threads=1, executor=executor, workers=1, tracking_uri=uri
        )  # --workers 1 on Ray: one trial at a time, as in this process
        outcome = run_session(settings, checkpoints=str(tmp_path / f"{executor}-c.db"))
        outcomes[executor] = outcome.values
        runs = MlflowClient(uri).search_runs(
            [outcome.ctx.tracker.experiment_id], "tags.kind = 'trial'"
        )
        assert len(runs) == 3  # exactly the budget's trials, recorded by the driver
    local, on_ray = outcomes["local"], outcomes["ray"]
    assert [t["score"] for t in on_ray["trials"]] == [t["score"] for t in local["trials"]]
    assert [t["config"] for t in on_ray["trials"]] == [t["config"] for t in local["trials"]]
    assert on_ray["final"]["test"] == local["final"]["test"]


def test_an_epoch_level_session_on_ray_trains_its_branches_there_to_the_same_run(
    local_ray, tmp_path
):
    runs = {}
    for executor in ("local", "ray"):
        settings = Settings.resolve(
            task="iris",
            loop="epoch",
            budget=8,
            threads=1,
            executor=executor,
            tracking_uri=f"sqlite:///{tmp_path / executor}.db",
        )
        checkpoints = str(tmp_path / f"{executor}-c.db")
        runs[executor] = run_session(settings, checkpoints=checkpoints, echo=lambda _: None).values
    local, on_ray = runs["local"], runs["ray"]
    assert [t["score"] for t in on_ray["trials"]] == [t["score"] for t in local["trials"]]
    paired = [t for t in on_ray["trials"] if t["segment"]["paired"]]
    assert paired  # a proposal judged on two branches, each a task from the same checkpoint
    for trial in paired:
        twin = local["trials"][trial["index"] - 1]
        assert trial["segment"]["control"]["score"] == twin["segment"]["control"]["score"]
        assert trial["result"]["diagnostics"]["worker"].endswith(", cpu")
    assert on_ray["final"]["test"] == local["final"]["test"]  # the driver's files, same run


def test_ray_is_refused_for_nested_runs_and_bad_resources():
    with pytest.raises(UserError, match="--loop both runs an epoch-level graph"):
        Settings.resolve(task="iris", executor="ray", loop="both")
    with pytest.raises(UserError, match="trial loop only"):
        Settings.resolve(task="iris", executor="ray", loop="epoch", workers=2)
    with pytest.raises(UserError, match="prunes each trial epoch by epoch"):
        Settings.resolve(task="iris", executor="ray", method="hyperband")
    with pytest.raises(UserError, match="--cpus-per-trial must be above 0"):
        Settings.resolve(task="iris", executor="ray", cpus_per_trial=0)


def test_an_unreachable_cluster_is_one_clear_error_and_exit_2(tmp_path, data_dir):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    db = tmp_path / "m.db"
    command = [sys.executable, "-m", "lgt_graph", "run", "--task", "iris", "--executor", "ray"]
    command += ["--ray-address", f"127.0.0.1:{port}", "--tracking-uri", f"sqlite:///{db}"]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LGT_DATA_DIR": str(data_dir)},
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--ray-address 127.0.0.1:{port}: no Ray cluster answers" in lines[0]
    assert not (tmp_path / "lgt_checkpoints.db").exists()  # no session was recorded


def test_a_killed_driver_resumes_with_each_trial_once(tmp_path, data_dir):
    from tests.test_faults_kill import assert_each_trial_once, start, wait_for

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    base = [sys.executable, "-m", "lgt_graph", "run", "--tracking-uri", uri]
    flags = ["--task", "iris", "--budget", "12", "--threads", "1", "--executor", "ray"]
    flags += ["--data-dir", str(data_dir)]
    process = start(base, *flags)
    session = wait_for(process, "session ").split()[1].rstrip(":")
    assert wait_for(process, "trial   5/12")  # a trial in flight on a worker, the rest to come
    os.kill(process.pid, signal.SIGKILL)  # the driver alone, as the OOM killer would
    process.wait(timeout=60)
    resumed = start(base, "--resume", session)
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert_each_trial_once(uri, session, budget=12)


def test_a_comparison_on_ray_starts_one_instance_for_all_its_sessions(tmp_path, data_dir):
    import tempfile

    ray_tmp = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))  # short: Ray's sockets live there
    command = [sys.executable, "-m", "lgt_graph", "compare", "--task", "iris"]
    command += ["--methods", "random,lgt", "--budget", "2", "--seeds", "2", "--threads", "1"]
    command += ["--executor", "ray", "--data-dir", str(data_dir), "--out", str(tmp_path / "out")]
    command += ["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]
    env = {**os.environ, "RAY_TMPDIR": str(ray_tmp)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    instances = [p for p in (ray_tmp / "ray").glob("session_*") if p.name != "session_latest"]
    assert len(instances) == 1  # one Ray instance for the four sessions, not one each
    rows = [json.loads(line) for line in (tmp_path / "out" / "sessions.jsonl").open()]
    assert len(rows) == 4 and all(r["trials"] == 2 for r in rows)
    shutil.rmtree(ray_tmp, ignore_errors=True)
