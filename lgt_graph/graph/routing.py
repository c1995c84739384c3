"""The graph's decisions: after evaluate, stop, roll back or go on; after advise, train or stop.

Each decision comes with its reason in words, which the transition records.
"""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context, Settings
from lgt_graph.epoch.loop import kept
from lgt_graph.evaluation.metrics import SETBACKS, reached
from lgt_graph.graph import budgets
from lgt_graph.state import State

Route = Literal["finalize", "rollback", "optimize"]
AdviseRoute = Literal["train", "finalize"]


def decide(state: State, settings: Settings, maximize: bool) -> tuple[Route, str]:
    """Return where to go after a trial was evaluated, and the reason, in words.

    Stops when a budget is spent (:mod:`lgt_graph.graph.budgets`), when the best trial reached
    ``stop_at``, or after ``patience`` trials without an improvement of at least ``min_delta``;
    otherwise rolls back when the last trial regressed or failed, and goes on otherwise.
    """
    spent = budgets.exhausted(state, settings)
    if spent is not None:
        return "finalize", spent
    if settings.loop == "epoch":
        return _decide_segment(state, settings, maximize)
    latest = history.last_round(state)
    last = history.round_best(latest, maximize)  # a parallel round: go on from its best
    best = history.best_trial(state, maximize)
    target = settings.stop_at
    if (
        target is not None
        and best is not None
        and best["score"] is not None
        and reached(best["score"], target, maximize)
    ):
        return "finalize", f"trial {best['index']} reached {best['score']:.4g}, the target {target}"
    if settings.patience is not None:
        stale = history.since_improvement(state, maximize, settings.min_delta)
        if stale >= settings.patience:
            return "finalize", (
                f"{stale} trials without an improvement of more than {settings.min_delta}"
                f" (patience {settings.patience})"
            )
    verdict = history.verdict_for(state, last["index"])
    if verdict is not None and verdict["outcome"] in SETBACKS:
        to = f"trial {best['index']}" if best else "the first trial"
        what = (
            "failed"
            if verdict["outcome"] == "failed"
            else f"regressed ({verdict['delta']:+.4g} against the best)"
        )
        who = f"trial {last['index']}"
        if len(latest) > 1:
            who = f"the round of trials {latest[0]['index']}-{latest[-1]['index']} (best: {who})"
        return "rollback", f"{who} {what}: the next proposal starts again from {to}"
    outcome = verdict["outcome"] if verdict else "was not judged"
    # The Advisor chooses the base of its next proposal (this trial, or the best after a
    # stall): the route only says the session goes on.
    return "optimize", f"trial {last['index']} {outcome}: on to the next proposal"


def _decide_segment(state: State, settings: Settings, maximize: bool) -> tuple[Route, str]:
    """Decide as the epoch-level loop does: the budget counts epochs, rollback restores weights.

    The run goes on from the better branch (:func:`lgt_graph.epoch.loop.kept`): a change
    that did not beat its control is rolled back, whatever its verdict's name.
    """
    run = state.get("run") or {}
    last = history.trials(state)[-1]
    best = run.get("best")
    target = settings.stop_at
    if target is not None and best is not None and reached(best["score"], target, maximize):
        return "finalize", (
            f"epoch {best['epoch']} (segment {best['trial']}) reached {best['score']:.4g},"
            f" the target {target}"
        )
    if settings.patience is not None:
        stale = last["index"] - int(run.get("improved_at", 0))
        if stale >= settings.patience:
            return "finalize", (
                f"{stale} segments without an improvement of more than {settings.min_delta}"
                f" (patience {settings.patience})"
            )
    verdict = history.verdict_for(state, last["index"])
    if verdict is not None and not kept(last, verdict["outcome"]):
        back = run.get("fallback")
        to = "a fresh start"
        if back:
            which = (
                "the control branch" if back["trial"] == last["index"] else "the segment's start"
            )
            to = f"the checkpoint at epoch {back['epoch']} ({which})"
        what = {
            "failed": "failed",
            "regressed": f"regressed ({verdict['delta']:+.4g})",
            "neutral": f"was neutral ({verdict['delta']:+.4g}: the control did as well)",
        }[verdict["outcome"]]
        return "rollback", (
            f"segment {last['index']} {what}: the weights, optimiser and RNG state go back to {to}"
        )
    outcome = verdict["outcome"] if verdict else "was not judged"
    return "optimize", f"segment {last['index']} {outcome}: the run continues from it"


def route_after_evaluate(state: State, runtime: Runtime[Context]) -> Route:
    """Choose the edge out of evaluate."""
    ctx = runtime.context
    return decide(state, ctx.settings, ctx.maximize)[0]


def decide_after_advise(state: State) -> tuple[AdviseRoute, str]:
    """Train the proposal, or finalize when the Advisor has nothing left to propose."""
    if state.get("exhausted"):
        return "finalize", state["exhausted"]
    return "train", "fixed edge"


def route_after_advise(state: State) -> AdviseRoute:
    """Choose the edge out of advise."""
    return decide_after_advise(state)[0]
