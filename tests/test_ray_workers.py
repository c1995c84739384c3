"""Parallel rounds (``--workers N``) on a local Ray instance of 2 CPUs: rounds of distinct
proposals trained side by side, exactly the budget's trials, one verdict each against the
best before the round, a baseline's batch ask that a resumed searcher replays, a chat
model's round checked proposal by proposal, and a driver killed in the middle of a round
that resumes from the round's journal."""

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from lgt_graph import history
from lgt_graph.context import Settings
from lgt_graph.errors import UserError
from lgt_graph.graph.registry import builtin
from lgt_graph.session import run_session
from lgt_graph.space import config_key
from tests.openai_server import ScriptedOpenAI

pytestmark = pytest.mark.timeout(900)


def session(tmp_path, name, **settings):
    uri = f"sqlite:///{tmp_path / name}.db"
    chosen = Settings.resolve(task="iris", threads=1, executor="ray", tracking_uri=uri, **settings)
    return run_session(chosen, checkpoints=str(tmp_path / f"{name}-c.db"), echo=lambda _: None)


def mlflow_trials(outcome, tag="lgt.trial"):
    """The trials' MLflow runs: their ``lgt.trial`` tags, or another tag of each, by trial."""
    from mlflow.tracking import MlflowClient

    uri = outcome.ctx.settings.tracking_uri
    runs = MlflowClient(uri).search_runs(
        [outcome.ctx.tracker.experiment_id], "tags.kind = 'trial'", max_results=100
    )
    ordered = sorted(runs, key=lambda r: int(r.data.tags["lgt.trial"]))
    return [
        int(r.data.tags["lgt.trial"]) if tag == "lgt.trial" else r.data.tags.get(tag)
        for r in ordered
    ]


def test_more_than_one_worker_needs_ray():
    with pytest.raises(UserError, match="add --executor ray"):
        Settings.resolve(task="iris", workers=2)
    with pytest.raises(UserError, match="give at least 1"):
        Settings.resolve(task="iris", executor="ray", workers=0)


def test_a_two_worker_lgt_session_trains_rounds_and_ends_at_the_budget(local_ray, tmp_path):
    outcome = session(tmp_path, "lgt", budget=6, workers=2)
    values = outcome.values
    trials = values["trials"]
    # the default first, rounds of two, and the last round trimmed to the budget's one trial
    assert [t.get("round") for t in trials] == [None, 2, 2, 4, 4, None]
    assert mlflow_trials(outcome) == [1, 2, 3, 4, 5, 6]  # exactly the budget, each once
    assert mlflow_trials(outcome, "lgt.round") == [None, "2", "2", "4", "4", None]  # filterable
    assert len({config_key(t["config"]) for t in trials}) == 6  # no configuration twice
    assert [p["for_trial"] for p in values["proposals"]] == [2, 3, 4, 5, 6]
    assert all(p["status"] == "ok" for p in values["proposals"])  # the expert fills a round
    assert sorted(v["trial"] for v in values["verdicts"]) == [1, 2, 3, 4, 5, 6]
    calls = [(c["agent"], c["trial"]) for c in values["agent_calls"]]
    assert [t for a, t in calls if a == "advisor"] == [2, 4, 6]  # one call per round
    assert len([a for a, _ in calls if a == "evaluator"]) == 4  # one judgement per step
    for first in (2, 4):
        members = [t for t in trials if t.get("round") == first]
        best = history.best_trial(values, outcome.ctx.maximize, before=first)
        for trial in members:  # judged against the best before the round, not each other
            verdict = history.verdict_for(values, trial["index"])
            assert verdict["delta"] == pytest.approx(trial["score"] - best["score"])
            assert "Of the round's 2 trials side by side" in verdict["diagnosis"]
    steps = [s for s in values["transitions"] if s["source"] == "train"]
    assert len(steps) == 4  # the graph's train step ran once per round
    assert values["final"]["status"] == "ok"


def test_a_baseline_asks_a_round_at_once_and_a_rebuilt_searcher_replays_it(local_ray, tmp_path):
    outcome = session(tmp_path, "bayes", method="bayes", budget=7, workers=3)
    values = outcome.values
    rounds = [t.get("round") for t in values["trials"]]
    assert rounds == [None, 2, 2, 2, 5, 5, 5]  # the default alone, then rounds of three
    assert mlflow_trials(outcome) == list(range(1, 8))
    assert len({config_key(t["config"]) for t in values["trials"]}) == 7
    advisor = builtin("advisor", "bayes")  # a new process's node: it rebuilds by replay
    searcher = advisor._catch_up(
        outcome.ctx, values["searcher"], values["trials"], values["proposals"]
    )
    assert searcher.study.sampler._constant_liar  # TPE spreads a round's asks
    assert len(searcher.study.trials) == 7 and not searcher.pending


TRIAL_CHANGE = {"knob": "scaling", "value": "standard", "reason": "features differ in scale"}


def test_a_chat_models_round_keeps_its_usable_proposals_and_fills_the_rest(local_ray, tmp_path):
    good = {"changes": [TRIAL_CHANGE], "rationale": "scale first", "expected_effect": "better"}
    bad = {
        "changes": [{"knob": "learning_rate", "value": 50.0, "reason": "much faster"}],
        "rationale": "a bold rate",
        "expected_effect": "faster",
    }
    verdict = {"outcome": "neutral", "delta": 0.0, "diagnosis": "compared", "suggestions": []}
    rewrite = {"guidance": "Prefer: scaling=standard", "why": "it helped"}
    script = {
        "ProposalBatch": [{"args": {"proposals": [good, good, bad]}}],
        "Verdict": [{"args": verdict}],
        "PromptRewrite": [{"args": rewrite}],
    }
    with ScriptedOpenAI(script) as server:
        outcome = session(
            tmp_path,
            "chat",
            budget=4,
            workers=3,
            llm="openai:scripted",
            base_url=server.url,
            max_retries=0,
            limits={"epochs": (1, 3)},
        )
    asked = [r for r in server.requests if "ProposalBatch" in str(r.get("tools"))]
    assert len(asked) == 1 and "answer with 3 distinct" in str(asked[0]["messages"])
    proposals = outcome.values["proposals"]
    assert [p["for_trial"] for p in proposals] == [2, 3, 4]
    assert proposals[0]["status"] == "ok" and proposals[0]["changes"][0]["new"] == "standard"
    for place, proposal in ((2, proposals[1]), (3, proposals[2])):
        assert proposal["status"].startswith("fallback: ")
        assert f"proposal {place}:" in proposal["status"]  # which one, and why, is kept
    assert "already tried" in proposals[1]["status"]  # the repeat of the first one
    trials = outcome.values["trials"]
    assert len({config_key(t["config"]) for t in trials}) == 4  # the fills are new ones
    rounds_diagnoses = [history.verdict_for(outcome.values, i)["diagnosis"] for i in (2, 3, 4)]
    assert all(d.endswith("Round: compared") for d in rounds_diagnoses)


def test_a_driver_killed_mid_round_resumes_without_training_a_finished_trial(tmp_path, data_dir):
    from mlflow.tracking import MlflowClient

    from tests.test_faults_kill import assert_each_trial_once, start, wait_for

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    base = [sys.executable, "-m", "lgt_graph", "run", "--tracking-uri", uri]
    flags = ["--task", "iris", "--budget", "10", "--threads", "1", "--executor", "ray"]
    flags += ["--workers", "3", "--data-dir", str(data_dir)]
    process = start(base, *flags)
    session_id = wait_for(process, "session ").split()[1].rstrip(":")
    journal = Path(tmp_path / "lgt_runs" / session_id / "round")
    deadline = time.monotonic() + 300
    finished: list[Path] = []
    while not finished and time.monotonic() < deadline and process.poll() is None:
        finished = [p for p in journal.glob("trial-*.json") if int(p.name.split("-")[1]) >= 5]
        time.sleep(0.01)
    assert finished, "no trial of a later round finished"
    os.kill(process.pid, signal.SIGKILL)  # one trial of the round is back, others in flight
    process.wait(timeout=60)
    resumed = start(base, "--resume", session_id)
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert_each_trial_once(uri, session_id, budget=10)
    client = MlflowClient(uri)
    runs = client.search_runs(
        [client.get_run(session_id).info.experiment_id],
        f"tags.mlflow.parentRunId = '{session_id}'",
    )
    kept = [r for r in runs if "diagnostics.journal" in r.data.tags]
    assert kept, "the resumed round trained again a trial the journal held"
    assert not list(journal.glob("trial-*"))  # the journal ends with the session
