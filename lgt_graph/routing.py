"""The graph's decisions: after evaluate, stop, roll back or go on; after advise, train or stop.

Each decision comes with its reason in words, which the transition records.
"""

from __future__ import annotations

from typing import Literal

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context, Settings
from lgt_graph.metrics import reached
from lgt_graph.state import State

Route = Literal["finalize", "rollback", "optimize"]
AdviseRoute = Literal["train", "finalize"]


def decide(state: State, settings: Settings, maximize: bool) -> tuple[Route, str]:
    """Return where to go after a trial was evaluated, and the reason, in words.

    Stops when the trial budget is spent, when the best trial reached ``stop_at``,
    or after ``patience`` trials without an improvement of at least ``min_delta``;
    otherwise rolls back when the last trial regressed, and goes on when it did not.
    """
    done = history.trials(state)
    last = done[-1]
    best = history.best_trial(state, maximize)
    if len(done) >= settings.budget:
        return "finalize", f"the budget of {settings.budget} trials is spent"
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
    if verdict is not None and verdict["outcome"] == "regressed":
        to = f"trial {best['index']}" if best else "the first trial"
        return "rollback", (
            f"trial {last['index']} regressed ({verdict['delta']:+.4g} against the best):"
            f" the next proposal starts again from {to}"
        )
    outcome = verdict["outcome"] if verdict else "was not judged"
    return "optimize", f"trial {last['index']} {outcome}: the next proposal builds on it"


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
