"""The Evaluator's messages: one trial, or the best of a parallel round with its siblings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from lgt_graph import history
from lgt_graph.agents.noise import judging, session_floor
from lgt_graph.agents.prompting import changes_text, messages, trial_summary
from lgt_graph.context import Context
from lgt_graph.evaluation.curves import describe
from lgt_graph.llm.fitting import FULL, Fit, facts_json
from lgt_graph.state import State, Trial, VerdictRecord


def evaluator_messages(
    state: State,
    ctx: Context,
    trial: Trial,
    verdicts: Sequence[VerdictRecord] = (),
    fit: Fit = FULL,
) -> list[BaseMessage]:
    """Build the Evaluator's messages for one trial, or for the parallel round it is best of.

    ``verdicts``: the numbers' verdicts on every trial of the trial's round (``--workers``),
    which the Evaluator compares; empty for a trial trained alone.
    """
    parent = history.trial(state, trial["base"])
    best = history.best_before(state, trial, ctx.maximize)
    floor = session_floor(ctx, trial, best)
    summary = trial_summary(trial, ctx)

    def line(item: Trial | None) -> str:
        if item is None:
            return "none"
        score = "failed" if item["score"] is None else f"{ctx.primary} {item['score']:.4f}"
        return f"trial {item['index']}, {score}"

    facts: dict[str, Any] = {
        "agent": "evaluator",
        "task": ctx.profile,
        "trial": {
            "index": trial["index"],
            "changes": [dict(c) for c in trial["changes"]],
            "config": trial["config"],
            "score": trial["score"],
            "summary": summary,
        },
        "parent": {
            "index": parent["index"],
            "score": parent["score"],
            "summary": trial_summary(parent, ctx),
        }
        if parent
        else None,
        "best_before": {"index": best["index"], "score": best["score"]} if best else None,
        "tolerance": ctx.settings.tolerance_fraction,
        "noise_floor": floor,
        "maximize": ctx.maximize,
        "primary": ctx.primary,
    }
    siblings = [
        {
            "index": v["trial"],
            "changes": [dict(c) for c in t["changes"]],
            "score": t["score"],
            "outcome": v["outcome"],
            "delta": v["delta"],
        }
        for v in verdicts
        if (t := history.trial(state, v["trial"])) is not None
    ]
    if siblings:
        facts["round"] = siblings
    return messages(
        "evaluator",
        primary=ctx.primary,
        task=ctx.profile,
        judging=judging(ctx, floor),
        index=trial["index"],
        changes_text=changes_text(trial["changes"]),
        trial_summary=describe(summary),
        parent_index=parent["index"] if parent else "none",
        parent_line=line(parent),
        best_line=line(best),
        round_text=_round_text(siblings, ctx.primary, trial["index"]),
        facts_json=facts_json(facts, fit),
    )


def _round_text(siblings: list[dict[str, Any]], primary: str, best: int) -> str:
    """Describe a parallel round for the Evaluator: every trial, its changes and its verdict."""
    if not siblings:
        return ""
    rows = "\n".join(
        f"- trial {s['index']}: {changes_text(s['changes'])} -> "
        + ("failed" if s["score"] is None else f"{primary} {s['score']:.4f}")
        + f" ({s['outcome']}, {s['delta']:+.4f})"
        for s in siblings
    )
    return (
        f"Trial {best} is the best of a round of {len(siblings)} trials trained side by side"
        f" from the same history; the round:\n{rows}\nCompare them: say which change helped"
        " and which hurt, and why."
    )
