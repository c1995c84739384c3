"""The epoch-level loop: segments of one run, paired judging, weight rollback, resume."""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mlflow.tracking import MlflowClient

from lgt_graph.compare.run import run_comparison
from lgt_graph.context import Settings
from lgt_graph.epoch.nested import SCHEDULE, carried
from lgt_graph.errors import UserError
from lgt_graph.graph.methods import METHODS
from lgt_graph.session import run_session
from lgt_graph.session.opening import open_session
from lgt_graph.session.runner import initial_state
from lgt_graph.session.store import SessionStore
from lgt_graph.space import space_for
from lgt_graph.space.families import LIVE
from lgt_graph.training import available_threads
from lgt_graph.training.segments import NeuralRun, load_model, read_checkpoint
from tests.conftest import final_state, needs_data
from tests.openai_server import ScriptedOpenAI

pytestmark = needs_data
REPO = Path(__file__).resolve().parents[1]
CNN = {"model": "cnn", "optimizer": "adam", "learning_rate": "0.001"}
THREADS = available_threads()
"""Pinned where two runs must agree to the last bit: by default a net's threads follow the load."""


def session(store_uri, tmp_path, **settings):
    settings.setdefault("tracking_uri", store_uri)
    settings.setdefault("loop", "epoch")
    tmp_path.mkdir(parents=True, exist_ok=True)
    return run_session(
        Settings.resolve(**settings), checkpoints=str(tmp_path / "ck.db"), echo=lambda line: None
    )


def change(knob, value):
    """A scripted Advisor's reply: one change with its reason."""
    return {
        "args": {
            "changes": [{"knob": knob, "value": value, "reason": "scripted reason"}],
            "rationale": "scripted",
            "expected_effect": "better",
        }
    }


def scripted(proposals):
    """A script for the test server: these proposals, a neutral verdict, one rewrite."""
    return {
        "Proposal": proposals,
        "Verdict": [
            {"args": {"outcome": "neutral", "delta": 0.0, "diagnosis": "scripted diagnosis"}}
        ],
        "PromptRewrite": [{"args": {"guidance": "Prefer: learning_rate down", "why": "it did"}}],
    }


def _equal_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def kill_and_resume(store_uri, tmp_path, args, at, delay):
    """Run ``run ARGS`` in a subprocess, SIGKILL it ``delay`` s after a line starting with
    ``at``, resume it; return (session id, the resumed process)."""
    base = [
        sys.executable,
        "-m",
        "lgt_graph",
        "run",
        "--tracking-uri",
        store_uri,
        "--checkpoints",
        str(tmp_path / "ck.db"),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        base + args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
    )
    seen = []
    assert process.stderr is not None
    for line in process.stderr:
        seen.append(line)
        if line.startswith(at):
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    seen += process.stderr.readlines()  # what it wrote before the signal landed
    assert process.returncode == -9, "".join(seen)
    session_id = seen[0].split("session ")[1].split(":")[0]
    resumed = subprocess.run(
        [*base, "--resume", session_id], capture_output=True, text=True, env=env, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr
    resumed.killed = "".join(seen)  # the first process's lines, for the caller
    return session_id, resumed


def test_a_regressing_segment_rolls_the_weights_back_bit_for_bit(store_uri, tmp_path):
    settings = Settings.resolve(
        task="iris",
        loop="epoch",
        budget=7,
        tracking_uri=store_uri,
        start={"learning_rate": 0.05, "batch_size": 16},  # a net that learns in a few epochs
        nodes={"advisor": "tests.custom_nodes:HarmfulLiveAdvisor"},
    )
    ctx, graph, store = open_session(settings, None, str(tmp_path / "ck.db"))
    config = {"configurable": {"thread_id": ctx.session_id}, "recursion_limit": 100}
    checked = []
    try:
        stream = graph.stream(
            initial_state(ctx), config, context=ctx, stream_mode="values", durability="sync"
        )
        for values in stream:
            if values.get("last_node") != "rollback":
                continue
            segment = values["trials"][-1]["segment"]
            assert segment["paired"] and segment["control"] is not None
            restored = values["run"]["current"]
            # the state now points at the control branch's end: same start, old configuration
            assert restored == segment["control"]["checkpoint"]
            run = NeuralRun.load(dict(restored), ctx.data, 0)
            saved = read_checkpoint(dict(restored))
            assert _equal_weights(run.model.state_dict(), saved["model"])
            assert run.optimizer.state_dict()["state"].keys() == saved["optimizer"]["state"].keys()
            assert torch.equal(run.generator.get_state(), saved["generator"])
            assert run.config["learning_rate"] != 1.0  # not the regressing configuration
            assert values["config"]["learning_rate"] == run.config["learning_rate"]
            checked.append(values["trials"][-1]["index"])
        final = graph.get_state(config).values
    finally:
        ctx.tracker.close()
        store.close()
    assert checked, "no segment regressed"
    after = [t for t in final["trials"] if t["index"] == checked[0] + 1]
    # the next segment continued from the restored checkpoint, not from the candidate's
    assert after and after[0]["segment"]["start"]["branch"] == "control"
    assert final["verdicts"][checked[0] - 1]["outcome"] == "regressed"


def test_a_neutral_change_goes_back_to_the_control_and_the_table_shows_both(store_uri, tmp_path):
    from lgt_graph.epoch.prompts import recently_rolled_back
    from lgt_graph.session.mirror import summary_markdown

    outcome = session(
        store_uri,
        tmp_path,
        task="iris",
        budget=6,
        start={"learning_rate": 0.05, "batch_size": 16},
        nodes={"advisor": "tests.custom_nodes:NoOpLiveAdvisor"},
    )
    values = outcome.values
    # segment 3 clips far above the gradients' norm: both branches end the same, a tie
    third = values["trials"][2]
    assert third["changes"][0]["knob"] == "grad_clip" and third["segment"]["paired"]
    verdict = values["verdicts"][2]
    assert verdict["outcome"] == "neutral" and verdict["delta"] == 0.0
    # the run went on from the control branch, with the control's configuration
    fourth = values["trials"][3]
    assert fourth["segment"]["start"] == third["segment"]["control"]["checkpoint"]
    assert fourth["changes"][0]["old"] == 0  # proposed again over the control's grad_clip
    assert [t["source"] for t in values["transitions"]].count("rollback") >= 1
    assert "grad_clip=10.0" in recently_rolled_back(values)  # not proposed again soon
    table = summary_markdown(values, outcome.ctx)
    control = third["segment"]["control"]["score"]
    assert f"| 3 | {third['score']:.4f} (control {control:.4f}) | neutral, control kept |" in table
    # the reported best is a score the table shows
    assert f"{values['final']['val'][outcome.ctx.primary]:.4f}" in table.split("Best")[0]


def test_budget_counts_both_branches_and_mlflow_keeps_each_segment(store_uri, tmp_path):
    outcome = session(
        store_uri,
        tmp_path,
        task="iris",
        budget=9,
        nodes={"advisor": "tests.custom_nodes:ChangeEveryTimeAdvisor"},
    )
    values = outcome.values
    segments = [t["segment"] for t in values["trials"]]
    assert segments[0]["paired"] is False and segments[0]["cost"] == 1  # the first: no proposal
    assert all(s["paired"] and s["cost"] == 2 * s["epochs"] for s in segments[1:])
    assert sum(s["cost"] for s in segments) == values["run"]["epochs_trained"] == 9
    for trial, segment in zip(values["trials"][1:], segments[1:], strict=True):
        assert segment["control"]["steps"] == trial["result"]["steps"]  # same epochs, same start
        assert segment["reference"] == segment["control"]["score"]
    # and its seconds are both branches' (a --budget-seconds counts what the pairs cost)
    both = sum(t["result"]["wall_time"] for t in values["trials"][1:])
    assert both >= 1.5 * sum(s["control"]["wall_time"] for s in segments[1:]) > 0
    # the line the weights went through is one epoch per kept segment: 1 + 4 paired segments
    assert values["run"]["current"]["epoch"] == 5
    client = MlflowClient(store_uri)
    runs = client.search_runs(
        [outcome.ctx.tracker.experiment_id], f"tags.mlflow.parentRunId = '{outcome.session_id}'"
    )
    assert sorted(r.info.run_name for r in runs) == [f"segment-{i:03d}" for i in range(1, 6)]
    assert sum(r.data.metrics["segment_cost_epochs"] for r in runs) == 9
    paired = [r for r in runs if r.data.tags["lgt.paired"] == "true"]
    assert all("control/val_accuracy" in r.data.metrics for r in paired)
    # the best checkpoint is the session's model in MLflow, and it loads
    files = client.list_artifacts(outcome.session_id, "model")
    assert len(files) == 1 and files[0].path.endswith(".pt")
    local = client.download_artifacts(outcome.session_id, files[0].path, str(tmp_path))
    model, config = load_model(local)
    assert config == values["final"]["config"] and not model.training


def test_a_frozen_knob_proposed_mid_run_is_refused_and_the_reason_sent_back(
    store_uri, tmp_path, monkeypatch
):
    script = scripted([change("depth", 3), change("learning_rate", 0.003)])
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with ScriptedOpenAI(script) as server:
        outcome = session(
            store_uri,
            tmp_path,
            task="iris",
            budget=3,
            llm="openai:scripted",
            base_url=server.url,
            max_retries=0,
        )
        requests = list(server.requests)
    values = outcome.values
    advisor = [c for c in values["agent_calls"] if c["agent"] == "advisor"]
    assert advisor[0]["status"] == "repaired"
    repair = next(r for r in requests if any(m.get("role") == "tool" for m in r["messages"]))
    assert "depth cannot change in the middle of a training run" in str(repair["messages"])
    assert [(c["knob"], c["new"]) for c in values["trials"][1]["changes"]] == [
        ("learning_rate", 0.003)
    ]
    advisor_request = next(r for r in requests if r["tools"][0]["function"]["name"] == "Proposal")
    system = advisor_request["messages"][0]["content"]
    assert "working between the epochs of one training run" in system


def test_a_killed_epoch_session_resumes_mid_segment_with_nothing_lost_or_repeated(
    store_uri, tmp_path
):
    # a CNN on scikit-learn's 8x8 digits: a net of images, at a size a test can afford
    args = ["--task", "digits", "--loop", "epoch", "--budget", "8"]
    args += ["--threads", str(THREADS)]  # the same float sums in both runs, whatever the load
    args += [item for k, v in CNN.items() for item in ("--set", f"{k}={v}")]
    args += ["--node", "advisor=tests.custom_nodes:ChangeEveryTimeAdvisor"]
    # SIGKILL 0.05 s after segment 2's line: into segment 3's paired training
    session_id, resumed = kill_and_resume(store_uri, tmp_path, args, "segment   2", 0.05)
    assert "resuming session" in resumed.stderr and "segment   3" in resumed.stderr
    client = MlflowClient(store_uri)
    parent = client.get_run(session_id)
    runs = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{session_id}'"
    )
    names = sorted(r.info.run_name for r in runs)
    assert names == sorted(set(names)) == [f"segment-{i:03d}" for i in range(1, len(names) + 1)]
    straight = session(
        store_uri,
        tmp_path / "straight",
        task="digits",
        budget=8,
        threads=THREADS,
        start=CNN,
        nodes={"advisor": "tests.custom_nodes:ChangeEveryTimeAdvisor"},
    )
    expected = {t["index"]: t["score"] for t in straight.values["trials"]}
    got = {int(r.data.tags["lgt.trial"]): r.data.metrics["val_accuracy"] for r in runs}
    assert got.keys() == expected.keys()
    for index, score in expected.items():
        assert math.isclose(got[index], score, abs_tol=1e-9), index
    assert parent.data.metrics["test_accuracy"] == pytest.approx(
        straight.values["final"]["test"]["accuracy"]
    )


def test_epoch_level_baselines_schedule_the_rate_as_they_say(store_uri, tmp_path):
    cosine = session(store_uri, tmp_path / "c", task="iris", budget=6, method="cosine").values
    rates = [t["config"]["learning_rate"] for t in cosine["trials"]]
    start = 0.001
    expected = [start] + [
        float(f"{0.5 * start * (1 + math.cos(math.pi * e / 6)):.4g}") for e in range(1, 6)
    ]
    assert rates == pytest.approx(expected)
    assert [t["segment"]["epochs"] for t in cosine["trials"]] == [1] * 6  # one line, no pairs
    none = session(store_uri, tmp_path / "n", task="iris", budget=5, method="none").values
    assert all(not t["changes"] for t in none["trials"]) and none["run"]["current"]["epoch"] == 5
    plateau = session(
        store_uri,
        tmp_path / "p",
        task="iris",
        budget=40,
        method="plateau",
        nodes={"advisor": "plateau?patience=1&stop=3"},
    ).values
    trials = plateau["trials"]
    assert len(trials) < 40  # early stopping ended it
    assert any(
        t["target"] == "finalize" and "early stopping" in t["why"] for t in plateau["transitions"]
    )


def test_a_method_or_model_without_an_epoch_level_form_is_refused(store_uri, tmp_path):
    with pytest.raises(UserError, match="does not run the epoch-level loop"):
        Settings.resolve(task="iris", loop="epoch", method="grid")
    with pytest.raises(UserError, match="has no epochs"):
        session(store_uri, tmp_path, task="iris", budget=2, start={"model": "gbm"})


def test_both_levels_nest_epoch_runs_inside_trials_within_one_epoch_budget(store_uri, tmp_path):
    outcome = session(
        store_uri,
        tmp_path,
        task="iris",
        loop="both",
        budget=10,
        start={"epochs": 3, "learning_rate": 0.05, "batch_size": 16},
    )
    values = outcome.values
    trials = values["trials"]
    costs = [t["result"]["diagnostics"]["epochs_trained"] for t in trials]
    assert len(trials) >= 2 and sum(costs) <= 10
    nets = [t for t in trials if t["config"]["model"] == "mlp" and t["score"] is not None]
    assert nets, "no net trial"
    for trial in nets:
        diagnostics = trial["result"]["diagnostics"]
        # a net's trial is one epoch-level run: its segments, its curve, its best checkpoint
        assert diagnostics["segments"] and diagnostics["segments"][0]["segment"] == 1
        assert trial["result"]["steps"] == list(range(1, len(trial["result"]["steps"]) + 1))
        assert trial["config"]["epochs"] >= diagnostics["epochs_run"]
        # the next trial builds on the training changes the run kept, the rate as it started
        proposed, kept = diagnostics["proposed_config"], diagnostics["final_config"]
        for knob, value in trial["config"].items():
            if value != proposed[knob]:
                assert knob in LIVE - SCHEDULE and value == kept[knob], knob
    final = values["final"]
    assert final["status"] == "ok" and final["test"]
    if "checkpoint" in final:  # the best trial was a net: its run's best state, no refit
        best = next(t for t in trials if t["index"] == final["trial"])
        assert final["checkpoint"] == best["result"]["diagnostics"]["checkpoint"]
        assert final["val"]["accuracy"] == pytest.approx(best["score"])
    # every inner run is a thread of its own in the session's checkpointer
    import sqlite3

    with sqlite3.connect(tmp_path / "ck.db") as db:
        threads = {r[0] for r in db.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    assert {f"{outcome.session_id}/trial-{t['index']:03d}" for t in nets} <= threads
    # in MLflow each inner segment is a child of its trial's run, with its verdict
    client = MlflowClient(store_uri)
    experiment = [outcome.ctx.tracker.experiment_id]
    trial_runs = client.search_runs(experiment, f"tags.mlflow.parentRunId = '{outcome.session_id}'")
    run_of = {int(r.data.tags["lgt.trial"]): r.info.run_id for r in trial_runs}
    for trial in nets:
        children = client.search_runs(
            experiment, f"tags.mlflow.parentRunId = '{run_of[trial['index']]}'"
        )
        segments = trial["result"]["diagnostics"]["segments"]
        by_segment = {int(r.data.tags["lgt.segment"]): r for r in children}
        assert sorted(by_segment) == [s["segment"] for s in segments]
        for seg in segments:
            child = by_segment[seg["segment"]]
            assert child.data.tags["kind"] == "inner_segment"
            assert child.data.tags["lgt.outcome"] == str(seg["outcome"])
            assert child.data.tags["mlflow.note.content"] == seg["verdict"] != ""
            assert child.data.metrics["val_accuracy"] == pytest.approx(seg["score"])


def test_a_trial_carries_the_training_changes_its_run_kept():
    start = {**space_for("image").default(), "model": "cnn"}
    kept = {
        **start,
        "momentum": 0.9,
        "nesterov": True,
        "test_time_flip": True,
        "optimizer": "adam",
        "learning_rate": 0.0003,  # annealed after the switch
        "batch_size": 128,  # grown late: the run's schedule
    }
    switch = [{"knob": "optimizer", "new": "adam"}, {"knob": "learning_rate", "new": 0.001}]
    segments = [
        {"changes": [{"knob": "momentum", "new": 0.9}, {"knob": "nesterov", "new": True}]},
        {"changes": switch},
        {"changes": [{"knob": "learning_rate", "new": 0.0003}]},
    ]
    out = carried(start, {"final": {"config": kept}, "trials": segments})
    carried_over = {"momentum": 0.9, "nesterov": True, "test_time_flip": True}
    # the optimiser comes with the rate its switch set, not the annealed one
    assert out == {**start, **carried_over, "optimizer": "adam", "learning_rate": 0.001}
    # no record of the switch's rate: the optimiser stays as the trial started it
    unknown = carried(start, {"final": {"config": kept}, "trials": segments[:1]})
    assert unknown == {**start, **carried_over}


def test_both_levels_run_the_unpaired_variant_inside_each_trial(store_uri, tmp_path):
    start = {"epochs": 4, "learning_rate": 0.05, "batch_size": 16}

    def segments(method):
        values = session(
            store_uri,
            tmp_path / method,
            task="iris",
            loop="both",
            budget=12,
            method=method,
            start=start,
        ).values
        nets = [t for t in values["trials"] if "segments" in t["result"]["diagnostics"]]
        assert nets, "no net trial"
        return [s for t in nets for s in t["result"]["diagnostics"]["segments"]]

    # the variant's own segments inside each trial: one branch each, judged on the run so far
    unpaired = segments("unpaired")
    assert unpaired and not any(s["paired"] for s in unpaired)
    # LGT's pairs a proposed change with its control branch
    assert any(s["paired"] for s in segments("lgt"))


@pytest.mark.parametrize(
    "how", [{"method": "hybrid"}, {"nodes": {"advisor": "hybrid"}}], ids=["method", "node"]
)
def test_the_hybrid_at_both_levels_runs_lgts_epoch_loop_inside_its_trials(store_uri, tmp_path, how):
    # compare's method `hybrid`, or `run --node advisor=hybrid` in LGT's graph
    start = {"epochs": 4, "learning_rate": 0.05, "batch_size": 16}
    values = session(
        store_uri, tmp_path, task="iris", loop="both", budget=12, start=start, **how
    ).values
    trials = values["trials"]
    assert sum(t["result"]["diagnostics"]["epochs_trained"] for t in trials) <= 12
    # the trial level is the hybrid's study: its first trial is the enqueued default, a net
    first = trials[0]
    assert first["config"]["model"] == "mlp" and first["config"]["epochs"] == 4
    # inside each net trial, LGT's epoch-level loop: segments judged by its Evaluator, a
    # change paired with a control branch (a regression is rolled back to the control)
    nets = [t for t in trials if t["config"]["model"] == "mlp" and t["score"] is not None]
    runs = [t["result"]["diagnostics"]["segments"] for t in nets]
    assert len(runs) >= 2 and all(len(run) >= 2 for run in runs)
    assert all(s["verdict"] for run in runs for s in run)
    assert any(s["paired"] and s["changes"] for run in runs for s in run)
    # the session ends on its best trial's best checkpoint, not a refit
    final = values["final"]
    assert final["status"] == "ok" and final["test"]
    best = next(t for t in trials if t["index"] == final["trial"])
    if "checkpoint" in best["result"]["diagnostics"]:
        assert final["checkpoint"] == best["result"]["diagnostics"]["checkpoint"]
    # a searcher without an epoch-level loop of its own is still refused at both levels
    with pytest.raises(UserError, match="does not run the epoch-level loop"):
        Settings.resolve(task="iris", loop="both", method="bayes")


EPOCH_METHODS = [name for name, m in METHODS.items() if "epoch" in m.loops]


@pytest.fixture(scope="module")
def epoch_comparison(_template_store, tmp_path_factory):
    folder = tmp_path_factory.mktemp("epoch-methods")
    shutil.copy(_template_store, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    common = {"tracking_uri": uri, "loop": "epoch", "start": {"learning_rate": 0.02}}
    rows = run_comparison(["iris"], EPOCH_METHODS, 6, [0], folder / "out", common, echo=print)
    checkpoints = folder / "out" / "lgt_checkpoints.db"
    states = {r.method: final_state(checkpoints, r.session_id) for r in rows}
    return SimpleNamespace(rows={r.method: r for r in rows}, states=states, uri=uri, folder=folder)


def test_compare_at_the_epoch_level_counts_epochs(epoch_comparison):
    text = (epoch_comparison.folder / "out" / "results.md").read_text()
    assert "Budget 6 epochs trained per method" in text
    assert "| best val accuracy | epochs | failed | wall s |" in text
    for row in epoch_comparison.rows.values():
        assert 0 < row.epochs <= 6 and len(row.curve) == row.epochs  # best so far, per epoch


@pytest.mark.parametrize("name", EPOCH_METHODS)
def test_every_epoch_level_method_spends_the_epoch_budget_and_resumes(
    epoch_comparison, name, tmp_path
):
    row = epoch_comparison.rows[name]
    assert row.test.get("accuracy") is not None
    checkpoints = str(tmp_path / "ck.db")
    settings = Settings.resolve(
        task="iris",
        method=name,
        loop="epoch",
        budget=6,
        start={"learning_rate": 0.02},
        tracking_uri=epoch_comparison.uri,
    )

    def stop_at_segment_2(line):
        if line.startswith("segment   2"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_session(settings, checkpoints=checkpoints, echo=stop_at_segment_2)
    session_id = (
        SessionStore(Path(checkpoints)).conn.execute("SELECT id FROM lgt_sessions").fetchone()[0]
    )
    resumed = run_session(Settings(task=""), resume=session_id, checkpoints=checkpoints)
    straight = epoch_comparison.states[name]  # the comparison's session: the same settings
    values = resumed.values
    used = values["run"]["epochs_trained"]
    assert used <= 6 and (used >= 5 or name == "plateau")  # a paired step may not fit the last
    assert sum(t["segment"]["cost"] for t in values["trials"]) == used

    def story(v):
        return [(t["index"], t["config"]["learning_rate"], t["score"]) for t in v["trials"]]

    assert story(values) == story(straight)  # nothing lost, nothing trained twice
    assert values["final"]["test"] == straight["final"]["test"]
    client = MlflowClient(epoch_comparison.uri)
    runs = client.search_runs(
        [resumed.ctx.tracker.experiment_id], f"tags.mlflow.parentRunId = '{session_id}'"
    )
    assert sorted(int(r.data.tags["lgt.trial"]) for r in runs) == [
        t["index"] for t in values["trials"]
    ]


def test_a_killed_both_level_session_resumes_inside_its_trial(store_uri, tmp_path):
    args = ["--task", "digits", "--loop", "both", "--budget", "9"]
    args += ["--set", "epochs=3", "--threads", str(THREADS)]
    # SIGKILL 0.05 s after trial 2's first segment line: into trial 2's inner run
    session_id, resumed = kill_and_resume(store_uri, tmp_path, args, "  trial 2 segment   1", 0.05)
    # the inner run went on from its last saved segment: trial 2's segment 1 is not redone,
    # and its later segments were trained once, before the kill or by the resumed process
    assert "  trial 2 segment   1 " not in resumed.stderr
    for segment in ("2", "3"):
        line = f"  trial 2 segment   {segment} "
        assert (resumed.killed + resumed.stderr).count(line) == 1, segment
    assert "trial   2 (3 ep)" in resumed.stderr  # the trial itself ends in the resumed process
    straight = session(
        store_uri,
        tmp_path / "straight",
        task="digits",
        loop="both",
        budget=9,
        threads=THREADS,
        start={"epochs": 3},
    )
    client = MlflowClient(store_uri)
    runs = client.search_runs(
        [straight.ctx.tracker.experiment_id], f"tags.mlflow.parentRunId = '{session_id}'"
    )
    got = {int(r.data.tags["lgt.trial"]): r.data.metrics["val_accuracy"] for r in runs}
    expected = {t["index"]: t["score"] for t in straight.values["trials"]}
    assert got == pytest.approx(expected, abs=1e-9)


def test_a_paired_gain_inside_its_noise_floor_is_not_an_improvement(store_uri, tmp_path):
    import numpy as np

    from lgt_graph.evaluation.metrics import paired_standard_error

    # By hand: ten rows, branch A right on 8, B on 6; A alone right on 3, B alone on 1. The
    # per-row differences (1, 1, 1, -1, 0 x 6) have mean 0.2, sd sqrt(0.4): SE 0.2.
    y = np.zeros(10, dtype=int)
    a_right = np.array([1, 1, 1, 0, 1, 1, 1, 1, 1, 0], dtype=bool)
    b_right = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 0], dtype=bool)
    a, b = (np.eye(2)[np.where(right, 0, 1)] for right in (a_right, b_right))
    assert paired_standard_error("accuracy", y, a, b, 2) == pytest.approx(0.2)
    # A gains 0.2 over B: exactly the floor, not past it — inside the noise

    outcome = session(
        store_uri, tmp_path, task="iris", budget=10, start={"learning_rate": 0.05, "batch_size": 16}
    )
    values = outcome.values
    pairs = [
        (t, v)
        for t, v in zip(values["trials"], values["verdicts"], strict=True)
        if t.get("segment") and t["segment"]["paired"] and t["score"] is not None
    ]
    assert pairs, "no paired segment"
    for trial, verdict in pairs:
        floor = trial["segment"]["floor"]
        assert floor is not None and verdict["floor"] == floor
        if abs(verdict["delta"]) <= floor:
            assert verdict["outcome"] == "neutral"  # a gain within the floor is not kept
        else:
            assert verdict["outcome"] == ("improved" if verdict["delta"] > 0 else "regressed")


def test_a_proposal_reversing_a_kept_change_is_sent_back(store_uri, tmp_path, monkeypatch):
    none = {"args": {"changes": [], "rationale": "continue", "expected_effect": "better"}}
    script = scripted([change("learning_rate", 0.05), change("learning_rate", 1e-4), none])
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with ScriptedOpenAI(script) as server:
        outcome = session(
            store_uri,
            tmp_path,
            task="iris",
            loop="epoch",
            budget=16,
            segment=4,
            start={"learning_rate": 1e-4, "batch_size": 16},
            llm="openai:scripted",
            base_url=server.url,
            max_retries=0,
        )
        requests = list(server.requests)
    values = outcome.values
    raised, after = values["trials"][1], values["trials"][2]
    assert values["verdicts"][1]["outcome"] == "improved"  # a rate 500 times higher: kept
    assert [(c["knob"], c["new"]) for c in raised["changes"]] == [("learning_rate", 0.05)]
    # the next proposal took it back to 1e-4 with no new evidence: sent back, then none
    repair = next(r for r in requests if any(m.get("role") == "tool" for m in r["messages"]))
    assert "segment 2 moved learning_rate 0.0001 -> 0.05 and that change was kept" in str(
        repair["messages"]
    )
    assert after["changes"] == [] and after["config"]["learning_rate"] == 0.05
    advisor = [c for c in values["agent_calls"] if c["agent"] == "advisor"]
    assert advisor[1]["status"] == "repaired"


def test_after_changes_inside_the_noise_floor_the_run_trains_on_for_its_patience(
    store_uri, tmp_path
):
    from lgt_graph.epoch import guards as epoch_guards
    from lgt_graph.epoch.prompts import history_facts

    outcome = session(
        store_uri,
        tmp_path,
        task="iris",
        loop="epoch",
        budget=24,
        start={"learning_rate": 0.05, "batch_size": 16},
    )
    values = outcome.values
    entries = history_facts(values)[1]
    waits = [p for p in values["proposals"] if p["status"] == "patience"]
    assert waits, "no patience in a session whose changes sat inside their floor"
    for proposal in waits:
        assert proposal["changes"] == [] and "inside their noise floor" in proposal["rationale"]
        before = [e for e in entries if e["trial"] < proposal["for_trial"]]
        judged = [e for e in before if e["changes"] and e["paired"]]
        assert [e["outcome"] for e in judged[-epoch_guards.WINDOW :]] == ["neutral"] * 2
    # the heuristic Advisor never proposes the reverse of a change it kept lately
    for position, entry in enumerate(entries):
        for change in entry["changes"]:
            earlier = entries[:position]
            assert (
                epoch_guards.reversal(earlier, change["knob"], change["old"], change["new"]) is None
            )


def test_keep_checkpoints_keeps_every_branch_end_and_the_default_only_what_the_run_needs(
    store_uri, tmp_path
):
    args = {"task": "iris", "loop": "epoch", "budget": 8, "start": {"learning_rate": 0.05}}
    kept = session(store_uri, tmp_path / "kept", keep_checkpoints=True, **args)
    pruned = session(store_uri, tmp_path / "pruned", **args)
    for outcome in (kept, pruned):
        assert outcome.values["final"]["status"] == "ok"
    ends = sum(1 + (t["segment"]["control"] is not None) for t in kept.values["trials"])
    files = sorted(Path(kept.ctx.workdir).glob("segment-*.pt"))
    assert len(files) == ends  # every branch of every segment, candidate and control
    for trial in kept.values["trials"][1:]:  # so each segment can be rerun from its start
        assert Path(trial["segment"]["start"]["path"]).is_file()
    assert len(list(Path(pruned.ctx.workdir).glob("segment-*.pt"))) < ends
