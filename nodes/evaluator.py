"""Evaluate: judge the last trial against the best before it, and write the textual gradient.

The outcome and delta are computed from the frozen metric, so routing never depends on
a model's arithmetic; the Evaluator's words — the diagnosis and the suggested changes —
are what the ``llm`` evaluator adds, and what the ``numeric`` one leaves out.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.agents import Answer, ask, call_record, stop_if_endpoint_down
from lgt_graph.context import Context
from lgt_graph.metrics import outcome
from lgt_graph.prompting import evaluator_messages
from lgt_graph.schemas import Verdict
from lgt_graph.state import State, Trial, VerdictRecord


def _numbers(state: State, ctx: Context, trial: Trial) -> tuple[str, float, str]:
    best = history.best_trial(state, ctx.maximize, before=trial["index"])
    best_score = best["score"] if best else None
    judged = outcome(trial["score"], best_score, ctx.maximize, ctx.settings.tolerance)
    if trial["score"] is None:
        return judged, 0.0, f"trial {trial['index']} failed: {trial['result'].get('reason', '')}"
    if best_score is None:
        return judged, 0.0, f"{ctx.primary} {trial['score']:.4f} (first successful trial)"
    delta = trial["score"] - best_score
    return (
        judged,
        delta,
        (
            f"{ctx.primary} {trial['score']:.4f} against the best {best_score:.4f}"
            f" (trial {best['index'] if best else '-'}): {judged}"
        ),
    )


def numeric_evaluator(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Judge by the metric alone: an outcome and a delta, no textual gradient."""
    trial = history.last_trial(state)
    assert trial is not None
    judged, delta, text = _numbers(state, runtime.context, trial)
    record = VerdictRecord(
        trial=trial["index"],
        outcome=judged,
        delta=delta,
        diagnosis=text,
        suggestions=[],
        status="numeric",
    )
    return {"verdicts": [record]}


def llm_evaluator(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the chat model for the diagnosis and suggestions; the numbers decide the outcome."""
    ctx = runtime.context
    trial = history.last_trial(state)
    assert trial is not None
    judged, delta, text = _numbers(state, ctx, trial)
    answer: Answer[Verdict] = ask(
        ctx.model,
        evaluator_messages(state, ctx, trial),
        Verdict,
        options=ctx.options,
        config=ctx.call_config("evaluator", trial["index"]),
    )
    stop_if_endpoint_down(answer, ctx.settings.on_endpoint_error)
    verdict = answer.value
    status = answer.status
    if verdict is not None and verdict.outcome != judged:
        status += f" (model said {verdict.outcome}; the metric says {judged})"
    record = VerdictRecord(
        trial=trial["index"],
        outcome=judged,
        delta=delta,
        diagnosis=verdict.diagnosis if verdict else text,
        suggestions=list(verdict.suggestions) if verdict else [],
        status=status,
    )
    return {"verdicts": [record], "agent_calls": [call_record("evaluator", trial["index"], answer)]}
