"""Fault suite, the LLM endpoint: errors, rate limits, hangs, dropped and truncated replies.

A server on 127.0.0.1 misbehaves in each way, through the real ChatOpenAI client. A
passing fault is retried with backoff; one that lasts stops the session, checkpointed
(exit status 3), and ``run --resume`` finishes it once the endpoint is back, or, with
``--on-endpoint-error fallback``, the session carries on without the model.
"""

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from mlflow.tracking import MlflowClient

from lgt_graph.agents.calling import ask
from lgt_graph.agents.schemas import Verdict
from lgt_graph.context import Settings
from lgt_graph.llm import make_chat_model
from lgt_graph.session import run_session
from tests.openai_server import ScriptedOpenAI

VERDICT = {"args": {"outcome": "neutral", "delta": 0.0, "diagnosis": "scripted", "suggestions": []}}
REWRITE = {"args": {"guidance": "Prefer: scaling=standard", "why": "scripted"}}
TIMEOUT = 1.0
FAULTS = {
    "500": ({"status": 500}, 0.3),
    "429 Retry-After": ({"status": 429, "headers": {"Retry-After": "1"}}, 0.9),
    "hang": ({"hang": 2.5}, TIMEOUT),
    "connection closed": ({"close": True}, 0.3),
    "truncated body": ({**VERDICT, "truncate": True}, 0.3),
}
"""Each fault, and the least wait before the client's retry (backoff, Retry-After, timeout)."""


@pytest.fixture(autouse=True)
def _no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def judge(server, retries):
    model, options = make_chat_model("openai:scripted", server.url, TIMEOUT, retries)
    return ask(model, [HumanMessage("judge")], Verdict, options=options)


@pytest.mark.parametrize("fault", FAULTS)
def test_a_passing_fault_is_retried_after_a_wait(fault):
    reply, wait = FAULTS[fault]
    with ScriptedOpenAI({"Verdict": [reply, VERDICT]}) as server:
        answer = judge(server, retries=2)
        times = list(server.times)
    assert answer.status == "ok" and answer.value.diagnosis == "scripted"
    assert len(times) == 2 and times[1] - times[0] >= wait


@pytest.mark.parametrize("fault", FAULTS)
def test_a_lasting_fault_is_an_endpoint_failure_after_every_retry(fault):
    reply, wait = FAULTS[fault]
    with ScriptedOpenAI({"Verdict": [reply]}) as server:
        answer = judge(server, retries=2)
        times = list(server.times)
    assert answer.value is None and answer.endpoint_down
    assert answer.status.startswith("fallback: endpoint error:")
    assert len(times) == 3
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= wait
    if fault == "500":
        assert gaps[1] > gaps[0]  # exponential backoff


class Switch:
    """Answer every agent with a fault while ``down``, then normally."""

    def __init__(self, fault):
        self.fault, self.down, self.proposals = fault, True, 0

    def __call__(self, body):
        if self.down:
            return self.fault
        name = (body.get("tools") or [{}])[0].get("function", {}).get("name")
        if name == "Verdict":
            return VERDICT
        if name == "PromptRewrite":
            return REWRITE
        self.proposals += 1
        changes = [{"knob": "width", "value": 16 + 8 * self.proposals, "reason": "wider"}]
        return {"args": {"changes": changes, "rationale": "scripted", "expected_effect": "x" * 3}}


def cli(store_uri, tmp_path, *args):
    command = [sys.executable, "-m", "lgt_graph", "run", "--tracking-uri", store_uri]
    command += ["--checkpoints", str(tmp_path / "ck.db"), *args]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.parametrize("fault", ["500", "connection closed"])
def test_a_lasting_outage_stops_checkpointed_and_resume_finishes(fault, store_uri, tmp_path):
    switch = Switch(FAULTS[fault][0])
    with ScriptedOpenAI(responder=switch) as server:
        args = ["--llm", "openai:scripted", "--base-url", server.url, "--max-retries", "1"]
        stopped = cli(store_uri, tmp_path, "--task", "iris", "--budget", "4", *args)
        assert stopped.returncode == 3, stopped.stderr
        assert "Traceback" not in stopped.stderr
        session = stopped.stderr.split("session ")[1].split(":")[0]
        assert f"python -m lgt_graph run --resume {session}" in stopped.stderr
        client = MlflowClient(store_uri)
        parent = client.get_run(session)
        assert parent.info.status == "KILLED"
        requests = len(server.requests)
        assert requests == 2  # one call, one retry: the Evaluator of trial 1

        switch.down = False
        resumed = cli(store_uri, tmp_path, "--resume", session, "--base-url", server.url)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming session" in resumed.stderr and "after 1 trials" in resumed.stderr
    parent = client.get_run(session)
    assert parent.info.status == "FINISHED"
    runs = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{session}'")
    assert sorted(int(r.data.tags["lgt.trial"]) for r in runs) == [1, 2, 3, 4]
    assert parent.data.metrics["llm/fallbacks"] == 0, resumed.stderr  # repeated, not skipped


def test_with_fallback_a_lasting_outage_is_recorded_and_the_session_finishes(store_uri, tmp_path):
    with ScriptedOpenAI(responder=Switch({"status": 503})) as server:
        settings = Settings.resolve(
            task="iris",
            budget=3,
            llm="openai:scripted",
            base_url=server.url,
            max_retries=0,
            on_endpoint_error="fallback",
            tracking_uri=store_uri,
        )
        outcome = run_session(settings, checkpoints=str(tmp_path / "ck.db"), echo=lambda _: None)
    values = outcome.values
    assert len(values["trials"]) == 3 and values["final"]["status"] == "ok"
    calls = values["agent_calls"]
    assert calls and all(c["status"] == "fallback" for c in calls)
    assert all(c["error"].startswith("endpoint error: ") and "503" in c["error"] for c in calls)
    parent = MlflowClient(store_uri).get_run(outcome.session_id)
    assert parent.data.metrics["llm/fallbacks"] == len(calls)


def test_a_comparison_stopped_by_an_outage_says_how_to_go_on_and_resumes(
    store_uri, tmp_path, capsys, monkeypatch
):
    from lgt_graph.cli import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    switch = Switch(FAULTS["500"][0])
    with ScriptedOpenAI(responder=switch) as server:
        args = ["compare", "--task", "iris", "--methods", "lgt", "--budget", "2"]
        args += ["--out", str(tmp_path / "out"), "--tracking-uri", store_uri]
        args += ["--llm", "openai:scripted", "--base-url", server.url]
        assert main(args) == 3
        err = capsys.readouterr().err
        assert "Traceback" not in err
        (said,) = [line for line in err.splitlines() if "continue with" in line]
        assert said.startswith("the LLM endpoint still failed after its retries")
        assert said.endswith(f"continue with: python -m lgt_graph {' '.join(args)} --resume")
        switch.down = False
        assert main([*args, "--resume"]) == 0
    assert "[1/1] iris seed 0: LGT (resuming session" in capsys.readouterr().err
