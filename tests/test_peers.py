"""Peers and SMAC in a comparison: FLAML, AutoGluon and SMAC3 beside LGT on the same splits."""

import csv
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from lgt_graph.errors import UserError
from lgt_graph.graph import methods
from lgt_graph.graph.methods import METHODS, Method, check_installed
from tests.test_cli import run_cli


def write_houses(path, rows=160, seed=0):
    """A raw CSV: a categorical column, missing cells, a long right tail in the target."""
    rng = np.random.default_rng(seed)
    area = rng.uniform(40, 200, rows)
    district = rng.choice(["north", "south", "east"], rows)
    age = rng.integers(0, 80, rows).astype(float)
    age[rng.random(rows) < 0.1] = np.nan
    price = np.exp(0.01 * area + (district == "south") * 0.5 + rng.normal(0, 0.3, rows))
    frame = pd.DataFrame({"area": area, "district": district, "age": age, "price": price})
    frame.to_csv(path, index=False)


def sessions_of(uri):
    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client, client.search_runs(experiments, "tags.kind = 'session'")


def test_peers_and_smac_run_beside_lgt_on_the_same_splits_and_are_recorded(store_uri, tmp_path):
    path = tmp_path / "houses.csv"
    write_houses(path)
    out = tmp_path / "cmp"
    proc = run_cli(
        "compare",
        *("--task", f"csv:{path}", "--target", "price", "--metric", "mae"),
        *("--methods", "lgt,hybrid,smac,flaml,autogluon", "--budget-seconds", "3"),
        *("--seeds", "2", "--out", str(out), "--tracking-uri", store_uri),
    )
    assert proc.returncode == 0, proc.stderr
    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted({r["method"] for r in rows}) == ["autogluon", "flaml", "hybrid", "lgt", "smac"]
    assert len(rows) == 10 and all(r["status"] == "ok" for r in rows)
    spread = np.std(pd.read_csv(path)["price"])
    for r in rows:  # every method learned something: better than the target's spread
        assert 0 < float(r["test_mae"]) < spread, r
    peers = [r for r in rows if r["method"] in ("flaml", "autogluon")]
    assert all(int(r["trials"]) >= 1 for r in peers)  # the models each tried
    assert all(float(r["train_seconds"]) <= 3 * 3 for r in peers)  # within its time limit

    text = (out / "results.md").read_text()
    for title in ("FLAML AutoML", "AutoGluon-Tabular", "SMAC3"):
        assert f"| {title}" in text
    # how the peers got the data and their seconds is said next to the tables
    assert "Peers (FLAML AutoML (its own models and search), AutoGluon-Tabular" in text
    assert "searched on the training and validation splits only" in text
    # LGT's two methods are measured against the rivals, each in its own table and line
    hybrid = METHODS["hybrid"].title
    assert "| LGT against | wins | ties | losses | no interval (1 seed) |" in text
    assert f"| {hybrid} against | wins | ties | losses | no interval (1 seed) |" in text
    verdicts = re.findall(r"^(.+) against the best of the baselines and peers, (.+?):", text, re.M)
    assert [v[0] for v in verdicts] == ["LGT", hybrid]
    assert verdicts[0][1] in {METHODS[m].title for m in ("smac", "flaml", "autogluon")}

    client, sessions = sessions_of(store_uri)
    assert len(sessions) == 10
    by_id = {r["session_id"]: r for r in rows}
    for run in sessions:
        row = by_id[run.info.run_id]
        assert run.info.status == "FINISHED"
        assert run.data.params["setting.budget_seconds"] == "3.0"
        assert run.data.metrics["test_mae"] == pytest.approx(float(row["test_mae"]))
        if row["method"] in ("flaml", "autogluon"):
            assert run.data.tags["lgt.peer"].startswith(row["method"] + " ")
            files = {f.path for f in client.list_artifacts(run.info.run_id)}
            assert {"leaderboard.csv", "chosen.json", "final.json", "summary.md"} <= files
            board = client.download_artifacts(run.info.run_id, "leaderboard.csv", str(tmp_path))
            models = pd.read_csv(board)
            assert len(models) == int(row["trials"]) and models["val"].notna().any()
            saved = client.download_artifacts(run.info.run_id, "final.json", str(tmp_path))
            final = json.loads(Path(saved).read_text())
            assert final["test"]["mae"] == pytest.approx(float(row["test_mae"]))
            assert run.data.params["setting.seed"] == row["seed"]


def test_a_peer_runs_alone_and_refuses_to_resume(store_uri, tmp_path):
    ck = str(tmp_path / "ck.db")
    common = ["--tracking-uri", store_uri, "--checkpoints", ck]
    proc = run_cli("run", "--task", "iris", "--method", "flaml", "--budget-seconds", "2", *common)
    assert proc.returncode == 0, proc.stderr
    # two seconds of FLAML's search: better than chance (a third), in plain numbers
    accuracy = float(re.search(r"test: accuracy (0\.\d+)", proc.stdout).group(1))
    assert accuracy > 0.5 and "np." not in proc.stdout, proc.stdout
    session = re.search(r"session ([0-9a-f]{32}):", proc.stderr).group(1)
    again = run_cli("run", "--resume", session, *common)
    assert again.returncode == 2
    assert "already finished" in again.stderr or "cannot be resumed" in again.stderr


def test_a_stopped_peer_session_is_refused_by_resume_with_its_reason(store_uri, tmp_path):
    from lgt_graph.context import Settings
    from lgt_graph.session.store import SessionStore

    settings = Settings.resolve(task="iris", method="autogluon", budget_seconds=5.0)
    store = SessionStore(tmp_path / "ck.db")
    store.add("a" * 32, settings.to_dict(), store_uri, "lgt-iris")
    store.set_status("a" * 32, "interrupted")
    store.close()
    proc = run_cli("run", "--resume", "a" * 32, "--checkpoints", str(tmp_path / "ck.db"))
    assert proc.returncode == 2
    assert "cannot be resumed (the tool's search is not checkpointed)" in proc.stderr
    assert "--method autogluon" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--task", "iris", "--method", "flaml"], "give --budget-seconds"),
        (
            ["--task", "digits", "--method", "autogluon", "--budget-seconds", "2"],
            "task digits is an image task",
        ),
        (
            ["--task", "iris", "--method", "flaml", "--loop", "epoch", "--budget-seconds", "2"],
            "it has no epoch-level loop",
        ),
    ],
)
def test_a_peer_given_what_it_cannot_do_says_so_in_one_line(args, message, store_uri, tmp_path):
    proc = run_cli("run", *args, "--tracking-uri", store_uri, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_a_missing_extra_names_its_install_command(monkeypatch):
    absent = Method("absent", "A tool not installed", requires=("no_such_tool_lgt",), extra="x")
    monkeypatch.setitem(methods.METHODS, "absent", absent)
    with pytest.raises(UserError, match=r"needs no_such_tool_lgt.*pip install 'lgt_graph\[x\]'"):
        check_installed("absent")
    check_installed("flaml")  # installed with the test extras: no error


def test_a_comparison_stopped_in_a_peers_search_runs_that_search_again(store_uri, tmp_path):
    from tests.test_faults_kill import sessions_in, start, wait_for

    args = ["compare", "--task", "iris", "--methods", "none,flaml", "--budget-seconds", "20"]
    args += ["--out", "cmp", "--tracking-uri", store_uri]
    process = start([sys.executable, "-m", "lgt_graph", *args], cwd=tmp_path)
    assert wait_for(process, "[2/2]"), "the peer's session did not start"
    checkpoints = tmp_path / "cmp" / "lgt_checkpoints.db"
    deadline = time.monotonic() + 120
    while len(sessions_in(checkpoints)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(3)  # inside FLAML's search
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "continue with: python -m lgt_graph compare" in err
    first, stopped = sessions_in(checkpoints)
    assert (first[1], stopped[1]) == ("finished", "interrupted")
    client = MlflowClient(store_uri)
    assert client.get_run(stopped[0]).info.status == "KILLED"

    resumed = run_cli(*args, "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"(session {stopped[0]} stopped: its search starts again)" in resumed.stderr
    assert "[1/2]" not in resumed.stderr
    after = sessions_in(checkpoints)
    assert after[:2] == [first, stopped] and len(after) == 3 and after[2][1] == "finished"
    assert client.get_run(after[2][0]).info.status == "FINISHED"
    with (tmp_path / "cmp" / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["method"] for r in rows] == ["none", "flaml"] and rows[1]["session_id"] == after[2][0]


def test_a_peer_whose_tool_fails_is_a_failed_row_and_the_comparison_goes_on(
    store_uri, tmp_path, monkeypatch, capsys
):
    import flaml

    from lgt_graph.cli import main

    def broken(self, *args, **kwargs):  # the tool's own error, e.g. a bad install or a bug
        raise RuntimeError("the tool broke inside its search")

    monkeypatch.setattr(flaml.AutoML, "fit", broken)
    out = tmp_path / "cmp"
    common = ["--task", "iris", "--budget-seconds", "1", "--tracking-uri", store_uri]
    status = main(["compare", "--methods", "flaml,lgt", "--seeds", "1", "--out", str(out), *common])
    assert status == 0
    with (out / "results.csv").open() as handle:
        rows = {r["method"]: r for r in csv.DictReader(handle)}
    assert rows["flaml"]["status"] == "failed" and rows["flaml"]["test_accuracy"] == ""
    assert rows["lgt"]["status"] == "ok" and float(rows["lgt"]["test_accuracy"]) > 0.5
    assert (
        "FLAML AutoML (its own models and search): 1 of 1 sessions failed (seeds 0)"
        in (out / "results.md").read_text()
    )
    client, runs = sessions_of(store_uri)
    failed = [r for r in runs if r.data.tags.get("lgt.error")]
    assert len(failed) == 1 and failed[0].info.status == "FAILED"
    assert "RuntimeError: the tool broke" in failed[0].data.tags["lgt.error"]
    text = client.download_artifacts(failed[0].info.run_id, "error.txt", str(tmp_path))
    assert "the tool broke inside its search" in Path(text).read_text()
    capsys.readouterr()
    ck = str(tmp_path / "ck.db")
    assert main(["run", "--method", "flaml", "--checkpoints", ck, *common]) == 1
    err = capsys.readouterr().err
    assert "search) failed: RuntimeError: the tool broke" in err and "error.txt" in err
