"""Evaluate: judge the last trial against the best before it, and write the textual gradient.

The outcome and delta are computed from the frozen metric, so routing never depends on
a model's arithmetic; the Evaluator's words — the diagnosis and the suggested changes —
are what the ``llm`` evaluator adds, and what the ``numeric`` one leaves out.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.agents import predictions
from lgt_graph.agents.calling import Answer, ask, call_record, stop_if_endpoint_down
from lgt_graph.agents.evaluator_prompts import evaluator_messages
from lgt_graph.agents.noise import session_floor
from lgt_graph.agents.schemas import Verdict
from lgt_graph.context import Context
from lgt_graph.epoch.prompts import evaluator_messages as epoch_evaluator_messages
from lgt_graph.evaluation.metrics import outcome
from lgt_graph.state import State, Trial, VerdictRecord


def _numbers(state: State, ctx: Context, trial: Trial) -> tuple[str, float, str, float | None]:
    """Return the outcome, the delta, the verdict's numbers in words, and the noise floor."""
    if "segment" in trial:
        floor = trial["segment"].get("floor") if ctx.settings.tolerance is None else None
        return (*_segment_numbers(ctx, trial), floor)
    best = history.best_before(state, trial, ctx.maximize)
    best_score = best["score"] if best else None
    floor = session_floor(ctx, trial, best)
    judged = outcome(
        trial["score"], best_score, ctx.maximize, ctx.settings.tolerance_fraction, floor
    )
    if trial["score"] is None:
        reason = trial["result"].get("reason", "")
        return judged, 0.0, f"trial {trial['index']} failed: {reason}", floor
    if best_score is None:
        return judged, 0.0, f"{ctx.primary} {trial['score']:.4f} (first successful trial)", floor
    delta = trial["score"] - best_score
    against = f" (noise floor ±{floor:.4f})" if floor is not None else ""
    return (
        judged,
        delta,
        (
            f"{ctx.primary} {trial['score']:.4f} against the best {best_score:.4f}"
            f" (trial {best['index'] if best else '-'}){against}: {judged}"
        ),
        floor,
    )


def completed(
    record: VerdictRecord, state: State, ctx: Context, trial: Trial, floor: float | None
) -> VerdictRecord:
    """Return the verdict with its noise floor and the check of the Advisor's prediction.

    The floor where there was one (:mod:`lgt_graph.agents.noise`); the prediction's check where
    the trial's proposal made one (:mod:`lgt_graph.agents.predictions`).
    """
    if floor is not None:
        record = {**record, "floor": floor}
    if "segment" in trial:
        return record
    hits = predictions.hits_of(state.get("verdicts", []))
    prediction = predictions.check(state, trial, record["outcome"], ctx.maximize, hits)
    if prediction is None:
        return record
    so_far = predictions.calibration(
        [*predictions.checks_of(state.get("verdicts", [])), prediction]
    )
    prediction["brier_so_far"], prediction["skill_so_far"] = so_far["brier"], so_far["skill"]
    return {**record, "prediction": prediction}


def _segment_numbers(ctx: Context, trial: Trial) -> tuple[str, float, str]:
    """Judge a segment against its reference: the control branch, or the score at its start.

    Any gain over the reference improved; a loss by more than ``--tolerance`` (a fraction
    of the reference) regressed; a tie or a smaller loss is neutral, and is not called a
    harm. Which branch the run goes on from is :func:`lgt_graph.epoch.loop.kept`: the
    better one, so a neutral change against its control is rolled back too.
    """
    segment = trial["segment"]
    score, reference = trial["score"], segment["reference"]
    span = f"epochs {segment['start_epoch'] + 1}-{segment['start_epoch'] + segment['epochs']}"
    if score is None:
        return "failed", 0.0, f"segment {trial['index']} failed: {trial['result']['reason']}"
    if segment["reference_is"] == "none":
        what = "the first segment" if segment["start"] is None else "no change: the run continued"
        return (
            "neutral" if segment["start"] else "improved",
            0.0,
            (f"{ctx.primary} {score:.4f} after {span} ({what})"),
        )
    if reference is None:
        return "improved", 0.0, f"{ctx.primary} {score:.4f} after {span}; the reference failed"
    floor = segment.get("floor") if ctx.settings.tolerance is None else None
    judged = outcome(score, reference, ctx.maximize, ctx.settings.tolerance_fraction, floor)
    against = (
        "the control branch (same start, current configuration)"
        if segment["reference_is"] == "control"
        else "the score at the segment's start (unpaired)"
    )
    within = f", paired noise floor ±{floor:.4f}" if floor is not None else ""
    return (
        judged,
        score - reference,
        (
            f"{ctx.primary} {score:.4f} after {span} against {reference:.4f} for {against}"
            f"{within}: {judged}"
        ),
    )


def _numeric_record(state: State, ctx: Context, trial: Trial) -> VerdictRecord:
    judged, delta, text, floor = _numbers(state, ctx, trial)
    record = VerdictRecord(
        trial=trial["index"],
        outcome=judged,
        delta=delta,
        diagnosis=text,
        suggestions=[],
        status="numeric",
    )
    return completed(record, state, ctx, trial, floor)


def numeric_evaluator(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Judge by the metric alone: an outcome and a delta, no textual gradient.

    Every trial of a parallel round gets its verdict, against the best before the round.
    """
    ctx = runtime.context
    return {"verdicts": [_numeric_record(state, ctx, t) for t in history.last_round(state)]}


def llm_evaluator(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the chat model for the diagnosis and suggestions; the numbers decide the outcome.

    A parallel round is judged in one call: the model reads its best trial's curves and
    every trial's changes and numbers, and its textual gradient compares them (which
    change helped, which hurt); each trial's verdict carries it.
    """
    ctx = runtime.context
    members = history.last_round(state)
    if len(members) > 1:
        return _judge_round(state, ctx, members)
    trial = members[0]
    judged, delta, text, floor = _numbers(state, ctx, trial)
    answer: Answer[Verdict] = ask(
        ctx.model,
        lambda fit: (
            epoch_evaluator_messages(state, ctx, trial, fit)
            if "segment" in trial
            else evaluator_messages(state, ctx, trial, fit=fit)
        ),
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
    record = completed(record, state, ctx, trial, floor)
    return {"verdicts": [record], "agent_calls": [call_record("evaluator", trial["index"], answer)]}


def _judge_round(state: State, ctx: Context, members: list[Trial]) -> dict[str, Any]:
    numbers = [_numeric_record(state, ctx, t) for t in members]
    best = history.round_best(members, ctx.maximize)
    answer: Answer[Verdict] = ask(
        ctx.model,
        lambda fit: evaluator_messages(state, ctx, best, numbers, fit),
        Verdict,
        options=ctx.options,
        config=ctx.call_config("evaluator", best["index"]),
    )
    stop_if_endpoint_down(answer, ctx.settings.on_endpoint_error)
    verdict = answer.value
    records = []
    for record in numbers:
        status = answer.status
        if verdict is None:
            records.append({**record, "status": status})
            continue
        if record["trial"] == best["index"] and verdict.outcome != record["outcome"]:
            status += f" (model said {verdict.outcome}; the metric says {record['outcome']})"
        records.append(
            {
                **record,
                "diagnosis": f"{record['diagnosis']}. Round: {verdict.diagnosis}",
                "suggestions": list(verdict.suggestions),
                "status": status,
            }
        )
    return {"verdicts": records, "agent_calls": [call_record("evaluator", best["index"], answer)]}
