import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from lgt_graph import provenance
from lgt_graph.context import Settings
from lgt_graph.errors import UserError
from lgt_graph.evaluation.metrics import CLASSIFICATION_METRICS
from lgt_graph.graph.registry import resolve
from lgt_graph.session import run_session
from lgt_graph.tracking.session_runs import prompt_name
from tests.conftest import needs_data
from tests.openai_server import ScriptedOpenAI

SNAPSHOT = Path(__file__).parent / "snapshots" / "graph.mmd"


def session(store_uri, tmp_path, **settings):
    settings.setdefault("tracking_uri", store_uri)
    tmp_path.mkdir(parents=True, exist_ok=True)
    outcome = run_session(
        Settings.resolve(**settings), checkpoints=str(tmp_path / "ck.db"), echo=lambda line: None
    )
    return outcome


def runs_of(store_uri, outcome):
    client = MlflowClient(store_uri)
    exp = outcome.ctx.tracker.experiment_id
    children = client.search_runs(
        [exp], f"tags.mlflow.parentRunId = '{outcome.session_id}'", max_results=1000
    )
    return client, client.get_run(outcome.session_id), children


def test_graph_shape_snapshot():
    from lgt_graph.graph.build import build_graph

    drawn = build_graph(resolve({})).get_graph().draw_mermaid()
    if not SNAPSHOT.exists():  # first run writes the snapshot; review it in the diff
        SNAPSHOT.write_text(drawn)
    assert drawn == SNAPSHOT.read_text()
    for edge in (
        "train --> evaluate",
        "evaluate -.-> rollback",
        "evaluate -.-> finalize",
        "rollback --> optimize",
        "optimize --> advise",
        "advise -.-> train",
        "advise -.-> finalize",
    ):
        assert edge in drawn


@pytest.mark.parametrize(
    ("task", "budget", "extra"), [("iris", 5, {}), ("digits", 4, {"max_train_samples": 300})]
)
def test_offline_run_reaches_finalize_and_records_everything(
    store_uri, tmp_path, task, budget, extra
):
    outcome = session(store_uri, tmp_path, task=task, budget=budget, **extra)
    values = outcome.values
    assert len(values["trials"]) == budget
    assert values["final"]["status"] == "ok"
    assert set(values["final"]["test"]) == set(CLASSIFICATION_METRICS)
    assert values["transitions"][-1]["target"] == "finalize"
    assert "budget of" in values["transitions"][-1]["why"]

    client, parent, children = runs_of(store_uri, outcome)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["task"] == task and parent.data.tags["llm"] == "heuristic"
    assert parent.data.tags["budget"] == str(budget)
    assert parent.data.tags["lgt.source"] == provenance.source()  # the code that ran it
    if provenance.full_commit():  # a checkout: MLflow's own Source version too
        assert parent.data.tags["mlflow.source.git.commit"] == provenance.full_commit()
    assert "test_accuracy" in parent.data.metrics
    trial_runs = [r for r in children if r.data.tags.get("kind") == "trial"]
    assert sorted(int(r.data.tags["lgt.trial"]) for r in trial_runs) == list(range(1, budget + 1))
    # a trial's run spans its training, though it is written after it
    trained = {t["index"]: t for t in values["trials"]}
    for run in trial_runs:
        trial = trained[int(run.data.tags["lgt.trial"])]
        assert run.info.end_time == trial["timestamp"]
        span = run.info.end_time - run.info.start_time
        assert span == pytest.approx(1000 * trial["result"]["wall_time"], abs=1)
    history = client.get_metric_history(outcome.session_id, "trial/val_accuracy")
    assert sorted(m.step for m in history) == list(range(1, budget + 1))
    # the transitions: tags on the parent, and the table artifact
    tags = {k: v for k, v in parent.data.tags.items() if k.startswith("transition.")}
    assert len(tags) == len(values["transitions"])
    assert tags["transition.0001"].startswith("__start__ -> train")
    table = json.loads(
        Path(
            client.download_artifacts(outcome.session_id, "transitions.json", str(tmp_path))
        ).read_text()
    )
    assert len(table["transitions"]) == len(values["transitions"])
    # every prompt version is in the registry, and trials name the version they used
    versions = client.search_prompt_versions(prompt_name(outcome.session_id))
    assert sorted(int(v.version) for v in versions) == [p["version"] for p in values["prompts"]]
    for run in trial_runs:
        used = run.data.tags["lgt.prompt_version"]
        assert json.loads(run.data.tags["mlflow.linkedPrompts"])[0]["version"] == used
    # proposals and verdicts are readable artifacts on the trial runs
    second = next(r for r in trial_runs if r.data.tags["lgt.trial"] == "2")
    proposal = Path(client.download_artifacts(second.info.run_id, "proposal.md", str(tmp_path)))
    assert "| knob | from | to | reason |" in proposal.read_text()
    verdict = Path(client.download_artifacts(second.info.run_id, "verdict.md", str(tmp_path)))
    assert "Diagnosis (textual gradient)" in verdict.read_text()


def test_a_regression_takes_the_rollback_edge(store_uri, tmp_path):
    outcome = session(
        store_uri,
        tmp_path,
        task="iris",
        budget=4,
        nodes={"advisor": "tests.custom_nodes:SabotageAdvisor"},
    )
    values = outcome.values
    scores = [t["score"] for t in values["trials"]]
    assert scores[1] is not None and scores[2] is None  # trial 3 diverged
    rollbacks = [t for t in values["transitions"] if t["target"] == "rollback"]
    assert rollbacks and rollbacks[0]["source"] == "evaluate"
    assert "trial 3 failed: the next proposal starts again from trial 2" in rollbacks[0]["why"]
    assert values["trials"][3]["base"] == 2  # trial 4 starts again from the best
    assert values["verdicts"][2]["outcome"] == "failed"


def test_without_the_rollback_node_a_regression_stays_the_base(store_uri, tmp_path):
    nodes = {"advisor": "tests.custom_nodes:SabotageAdvisor", "rollback": "none"}
    values = session(store_uri, tmp_path, task="iris", budget=4, nodes=nodes).values
    assert values["trials"][2]["score"] is None  # trial 3 diverged, the edge was taken
    assert any(t["target"] == "rollback" for t in values["transitions"])
    assert values["trials"][3]["base"] == 3  # ... and trial 4 changes the failed trial
    assert values["final"]["trial"] == 2  # the best is still what finalize refits


def test_patience_stops_early(store_uri, tmp_path):
    outcome = session(
        store_uri,
        tmp_path,
        task="iris",
        budget=10,
        patience=2,
        nodes={"advisor": "tests.custom_nodes:stale_advisor"},
    )
    values = outcome.values
    assert len(values["trials"]) == 3
    assert "patience 2" in values["transitions"][-1]["why"]
    assert values["final"]["trial"] == 1


def test_an_advisor_that_is_always_wrong_and_sure_scores_below_the_base_rates(store_uri, tmp_path):

    from lgt_graph.agents.predictions import calibration, checks_of
    from lgt_graph.report import publish_report

    nodes = {"advisor": "tests.custom_nodes:overconfident_advisor"}
    outcome = session(store_uri, tmp_path, task="iris", budget=5, nodes=nodes)
    checks = checks_of(outcome.values["verdicts"])
    assert len(checks) == 4 and all(c["expected"] == "better" for c in checks)
    assert not any(c["hit"] for c in checks)  # shorter training never improved
    c = calibration(checks)
    assert c["hit_rate"] == 0 and c["skill"] is not None and c["skill"] < 0
    run = MlflowClient(store_uri).get_run(outcome.session_id)
    assert run.data.metrics["advisor/skill"] == pytest.approx(c["skill"])
    assert run.data.metrics["advisor/brier"] == pytest.approx(c["brier"])
    page = Path(publish_report(store_uri, outcome.session_id)).with_suffix(".md").read_text()
    assert "came true in 0 of 4 trials" in page and f"skill {c['skill']:+.2f}, above 0" in page


def test_the_hybrids_agents_state_expectations_that_the_session_scores(store_uri, tmp_path):
    from lgt_graph.agents.predictions import checks_of

    outcome = session(store_uri, tmp_path, task="iris", budget=8, method="hybrid")
    values = outcome.values
    by_agents = [p for p in values["proposals"] if p.get("expected_outcome")]
    assert by_agents, [p["status"] for p in values["proposals"]]  # the agents proposed some
    assert all(0 <= p["probability"] <= 1 and p["forecast"] for p in by_agents)
    checks = checks_of(values["verdicts"])
    assert len(checks) == len(by_agents) and all(c["brier"] is not None for c in checks)
    # the agents' calls inside the hybrid's sampler are the session's, as LGT's own are
    calls = values["agent_calls"]
    assert sum(c["agent"] == "advisor" for c in calls) >= len(by_agents)
    assert any(c["agent"] == "evaluator" for c in calls)
    assert all(c["status"] == "ok" for c in calls)


def test_swapping_nodes_changes_behaviour(store_uri, tmp_path):
    default = session(store_uri, tmp_path, task="iris", budget=3).values
    swapped = session(
        store_uri,
        tmp_path / "b",
        task="iris",
        budget=3,
        nodes={"advisor": "random", "evaluator": "numeric", "optimizer": "none"},
    ).values
    assert [p["status"] for p in swapped["proposals"]] == ["random", "random"]
    assert all(
        c["reason"] == "random change (no language guidance)"
        for p in swapped["proposals"]
        for c in p["changes"]
    )
    assert [v["status"] for v in swapped["verdicts"]] == ["numeric"] * 3
    assert all(v["suggestions"] == [] for v in swapped["verdicts"])
    assert len(swapped["prompts"]) == 1
    assert not swapped.get("agent_calls")
    assert [p["status"] for p in default["proposals"]] == ["ok", "ok"]
    assert all(v["suggestions"] for v in default["verdicts"][1:])
    assert [t["config"] for t in default["trials"]] != [t["config"] for t in swapped["trials"]]


def test_settings_precedence_explicit_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("LGT_BUDGET", raising=False)
    assert Settings.resolve(task="iris").budget == 10
    monkeypatch.setenv("LGT_BUDGET", "7")
    monkeypatch.setenv("LGT_LLM", "openai:x")
    assert Settings.resolve(task="iris").budget == 7
    assert Settings.resolve(task="iris").llm == "openai:x"
    assert Settings.resolve(task="iris", budget=3).budget == 3
    monkeypatch.setenv("LGT_BUDGET", "many")
    with pytest.raises(Exception, match="LGT_BUDGET='many' is not a valid budget"):
        Settings.resolve(task="iris")


def proposal(knob, value, reason="the curves say so"):
    return {
        "args": {
            "changes": [{"knob": knob, "value": value, "reason": reason}],
            "rationale": "scripted",
            "expected_effect": "better",
        }
    }


VERDICT = {
    "args": {
        "outcome": "neutral",
        "delta": 0.0,
        "diagnosis": "scripted diagnosis",
        "suggestions": ["epochs=60: train longer"],
    }
}
REWRITE = {"args": {"guidance": "Prefer: scaling=standard", "why": "it helped"}}


def test_a_run_through_chatopenai_against_a_local_server(store_uri, tmp_path, monkeypatch):
    script = {
        "Proposal": [
            proposal("scaling", "standard"),
            {"arguments": '{"changes": [{"knob": "epochs", "value": '},  # truncated JSON
            proposal("epochs", 60),
        ],
        "Verdict": [VERDICT],
        "PromptRewrite": [REWRITE],
    }
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
    assert len(values["trials"]) == 3 and values["final"]["status"] == "ok"
    changes = [[(c["knob"], c["new"]) for c in t["changes"]] for t in values["trials"]]
    assert changes == [[], [("scaling", "standard")], [("epochs", 60)]]
    advisor_calls = [c for c in values["agent_calls"] if c["agent"] == "advisor"]
    assert [c["status"] for c in advisor_calls] == ["ok", "repaired"]
    assert values["verdicts"][1]["diagnosis"] == "scripted diagnosis"
    assert values["prompts"][-1]["guidance"] == "Prefer: scaling=standard"
    # the repair sent the error back to the model, answering its broken tool call
    repair = next(r for r in requests if any(m.get("role") == "tool" for m in r["messages"]))
    assert "could not be used" in repair["messages"][-1]["content"]
    assert all(r["model"] == "scripted" for r in requests)
    _client, parent, _ = runs_of(store_uri, outcome)
    assert parent.data.metrics["llm/input_tokens"] == 100 * len(requests)
    assert parent.data.metrics["llm/repaired"] == 1
    traces = _client.search_traces(locations=[parent.info.experiment_id], flush=True)
    spans = [s for t in traces for s in t.data.spans if s.span_type == "CHAT_MODEL"]
    assert len(spans) == len(requests)  # every LLM call is traced in MLflow


@pytest.mark.parametrize("method", ["lgt", "nas"])
def test_a_killed_run_resumes_to_the_uninterrupted_trials(store_uri, tmp_path, method):
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
    args = ["--task", "iris", "--budget", "5", "--method", method]
    args += ["--node", "train=tests.custom_nodes:train_then_die"]
    env = {**os.environ, "LGT_TEST_DIE_AT": "3", "PYTHONPATH": str(Path(__file__).parents[1])}
    killed = subprocess.run(base + args, capture_output=True, text=True, env=env, timeout=600)
    assert killed.returncode == -9, killed.stderr
    session_id = killed.stderr.split("session ")[1].split(":")[0]
    env.pop("LGT_TEST_DIE_AT")
    resumed = subprocess.run(
        [*base, "--resume", session_id], capture_output=True, text=True, env=env, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming session" in resumed.stderr and "after 2 trials" in resumed.stderr
    client = MlflowClient(store_uri)
    parent = client.get_run(session_id)
    assert parent.info.status == "FINISHED"
    trials = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{session_id}'"
    )
    assert sorted(int(r.data.tags["lgt.trial"]) for r in trials) == [1, 2, 3, 4, 5]
    # the killed process's trial 3 was trained again, and every trial is what it would be
    straight = session(store_uri, tmp_path / "straight", task="iris", budget=5, method=method)
    configs = {int(r.data.tags["lgt.trial"]): r.data.params for r in trials}
    for trial in straight.values["trials"]:
        expected = {
            k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in trial["config"].items()
        }
        assert configs[trial["index"]] == expected


def test_an_interrupted_run_names_its_checkpoints_when_they_are_beside_another_store(
    store_uri, tmp_path, monkeypatch
):
    # MLflow exported the session's store as MLFLOW_TRACKING_URI: the resume command took
    # that store's folder for the default and left --checkpoints out, so, typed where the
    # run was started, it found no checkpoint database.
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    said: list[str] = []

    def ctrl_c_at_trial_2(line):
        said.append(line)
        if line.startswith("trial   2/"):
            raise KeyboardInterrupt

    settings = Settings.resolve(task="iris", method="random", budget=3, tracking_uri=store_uri)
    with pytest.raises(KeyboardInterrupt):
        run_session(settings, echo=ctrl_c_at_trial_2)
    assert "MLFLOW_TRACKING_URI" not in os.environ  # a later session reads it as the user's
    stop = next(line for line in said if "continue with:" in line)
    session_id = stop.split("session ")[1].split(" ")[0]
    command = stop.split("continue with: ")[1]
    checkpoints = tmp_path / "lgt_checkpoints.db"
    assert command == f"python -m lgt_graph run --resume {session_id} --checkpoints {checkpoints}"
    resumed = run_session(
        Settings(task=""), resume=session_id, checkpoints=shlex.split(command)[-1]
    )
    assert len(resumed.values["trials"]) == 3 and resumed.values["final"]["status"] == "ok"


def test_threads_flag_or_the_free_cpus_set_each_trials_threads_recorded(store_uri, tmp_path):
    from lgt_graph.training import available_threads, limit_threads

    cnn = {"task": "mnist", "max_train_samples": 200, "budget": 1}
    cnn["start"] = {"model": "cnn", "epochs": 1}  # a CNN takes every thread it may use
    outcome = session(store_uri, tmp_path, threads=1, **cnn)
    assert outcome.values["trials"][0]["result"]["diagnostics"]["threads"] == 1
    limit_threads(None)
    # By default a CNN gets the CPUs other jobs leave free: with every CPU kept busy, one.
    # (Other jobs: not this process's children, whose time counts as its own.)
    spin = f"{shlex.quote(sys.executable)} -c 'while True: pass' & wait"
    others = [
        subprocess.Popen(["sh", "-c", spin], start_new_session=True)
        for _ in range(available_threads())
    ]
    try:
        time.sleep(0.5)
        default = session(store_uri, tmp_path / "b", **cnn)
    finally:
        for other in others:
            os.killpg(other.pid, signal.SIGKILL)
            other.wait()
    assert default.values["trials"][0]["result"]["diagnostics"]["threads"] == 1
    with pytest.raises(UserError, match="--threads must be at least 1"):
        Settings.resolve(task="iris", threads=0)


@needs_data
@pytest.mark.parametrize(("optimizer", "listed"), [("adam", False), ("sgd", True)])
def test_the_summary_lists_momentum_as_changed_only_under_an_optimizer_that_reads_it(
    optimizer, listed
):
    from lgt_graph.context import Context
    from lgt_graph.session.mirror import summary_markdown
    from lgt_graph.space import space_for
    from lgt_graph.tasks import TASKS, load_task_data

    space = space_for("tabular_classification")  # its default optimizer is adam
    data = load_task_data(TASKS["iris"])
    ctx = Context(Settings.resolve(task="iris"), data, space, None, None, "s")
    config = space.apply(space.default(), {"optimizer": optimizer, "momentum": 0.9})
    scores = {"accuracy": 0.9}
    final = {"status": "ok", "trial": 2, "config": config, "val": scores, "test": scores}
    summary = summary_markdown({"trials": [], "final": final}, ctx)
    changed = [line for line in summary.splitlines() if line.startswith("Changed from the default")]
    assert changed == [
        "Changed from the default: optimizer: adam -> sgd, momentum: 0 -> 0.9"
        if listed
        else "Changed from the default: nothing"
    ]


def test_a_stop_while_a_resume_replays_its_records_says_how_to_continue(store_uri, tmp_path):
    checkpoints = str(tmp_path / "ck.db")
    settings = Settings.resolve(task="iris", budget=3, tracking_uri=store_uri)
    lines: list[str] = []

    def stop_at(prefix):
        def echo(line):
            lines.append(line)
            if line.startswith(prefix) and not any(x.startswith("interrupted") for x in lines):
                raise KeyboardInterrupt

        return echo

    with pytest.raises(KeyboardInterrupt):
        run_session(settings, checkpoints=checkpoints, echo=stop_at("trial   2/"))
    session_id = lines[0].split("session ")[1].split(":")[0]
    lines.clear()
    # a Ctrl-C lands while the resume replays the trials it holds: it is said, and closed
    with pytest.raises(KeyboardInterrupt):
        run_session(Settings(task=""), session_id, checkpoints, echo=stop_at("resuming session"))
    assert lines[-1] == (
        f"interrupted: session {session_id} is saved; continue with: python -m lgt_graph run"
        f" --resume {session_id} --checkpoints {checkpoints}"
    )
    assert MlflowClient(store_uri).get_run(session_id).info.status == "KILLED"
    finished = run_session(Settings(task=""), session_id, checkpoints, echo=lambda line: None)
    assert [t["index"] for t in finished.values["trials"]] == [1, 2, 3]
