"""Fault suite, malformed model output: 200+ bad Advisor replies through the real ChatOpenAI path.

Each bad reply is followed by a repair request; the second reply is a valid proposal
(the step is repaired) or, for every fourth case, bad again (the step falls back to a
random valid change). The whole corpus runs as one session, so every case is also
counted in MLflow.
"""

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from lgt_graph.context import Settings
from lgt_graph.session import run_session
from tests.fault_corpus import SENTINEL, corpus
from tests.openai_server import ScriptedOpenAI

CASES = corpus()
VERDICT = {"args": {"outcome": "neutral", "delta": 0.0, "diagnosis": "scripted", "suggestions": []}}
REWRITE = {"args": {"guidance": "Prefer: width up", "why": "scripted"}}


def test_the_corpus_has_every_kind_and_enough_cases():
    kinds = Counter(kind for kind, _ in CASES)
    assert len(CASES) >= 200
    for kind in (
        "not JSON",
        "wrong schema",
        "unknown knob",
        "out of range",
        "wrong type",
        "empty",
        "enormous",
        "truncated",
        "code or file request (valid fields)",
        "code or file request (as a knob)",
    ):
        assert kinds[kind] >= 4, kind


class Responder:
    """Serve case i to the Advisor's i-th request, then its repair reply."""

    def __init__(self) -> None:
        self.case = -1
        self.outcomes: list[str] = []

    def __call__(self, body):
        tools = body.get("tools") or []
        name = tools[0]["function"]["name"] if tools else ""
        if name == "Verdict":
            return VERDICT
        if name == "PromptRewrite":
            return REWRITE
        repairing = any(
            m.get("role") == "tool" or "could not be used" in str(m.get("content"))
            for m in body["messages"][2:]
        )
        if not repairing:
            self.case += 1
            return CASES[self.case % len(CASES)][1]
        if self.case % 4 == 3:
            return {"arguments": '{"changes": "still wrong"'}
        changes = [
            {"knob": "model", "value": "mlp", "reason": "a valid repair"},
            {"knob": "width", "value": 9 + self.case, "reason": "a valid repair"},
        ]
        return {
            "args": {"changes": changes, "rationale": "repaired", "expected_effect": "a wider net"}
        }


@pytest.mark.slow
def test_every_bad_reply_is_repaired_or_falls_back_and_is_counted_in_mlflow(
    store_uri, tmp_path, monkeypatch
):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert not os.path.exists(SENTINEL)
    responder = Responder()
    budget = len(CASES) + 1  # trial 1 is the default; each later trial follows one case
    with ScriptedOpenAI(responder=responder) as server:
        settings = Settings.resolve(
            task="iris",
            budget=budget,
            llm="openai:scripted",
            base_url=server.url,
            max_retries=0,
            tracking_uri=store_uri,
            limits={"epochs": (1, 3)},  # the replies are the test, not the training
        )
        outcome = run_session(settings, checkpoints=str(tmp_path / "ck.db"), echo=lambda line: None)
    values = outcome.values
    assert len(values["trials"]) == budget and values["final"]["status"] == "ok"
    advisor = [c for c in values["agent_calls"] if c["agent"] == "advisor"]
    assert len(advisor) == len(CASES)
    by_kind: dict[str, Counter] = {}
    for (kind, _), call in zip(CASES, advisor, strict=True):
        by_kind.setdefault(kind, Counter())[call["status"]] += 1
    for kind, counts in by_kind.items():
        if kind == "code or file request (valid fields)":
            # harmless text, stored as text (a repeat of a tried width is repaired)
            assert set(counts) <= {"ok", "repaired"}, (kind, counts)
        else:
            assert set(counts) <= {"ok", "repaired", "fallback"}, (kind, counts)
            assert counts["repaired"] + counts["fallback"] >= 1, (kind, counts)
    statuses = Counter(c["status"] for c in advisor)
    assert statuses["fallback"] >= len(CASES) // 5 and statuses["repaired"] >= len(CASES) // 2
    assert not os.path.exists(SENTINEL)

    client = MlflowClient(store_uri)
    parent = client.get_run(outcome.session_id)
    calls = values["agent_calls"]
    assert parent.data.metrics["llm/calls"] == len(calls)
    assert parent.data.metrics["llm/repaired"] == sum(c["status"] == "repaired" for c in calls)
    assert parent.data.metrics["llm/fallbacks"] == sum(c["status"] == "fallback" for c in calls)
    logged = json.loads(
        Path(
            client.download_artifacts(outcome.session_id, "agent_calls.json", str(tmp_path))
        ).read_text()
    )
    assert [c["status"] for c in logged["agent_calls"]] == [c["status"] for c in calls]
    children = client.search_runs(
        [parent.info.experiment_id],
        f"tags.mlflow.parentRunId = '{outcome.session_id}'",
        max_results=1000,
    )
    assert len(children) == budget
    summary = {kind: dict(counts) for kind, counts in by_kind.items()}
    (tmp_path / "malformed_outcomes.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
