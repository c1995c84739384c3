"""Finalize: refit the best configuration and score it, once, on the held-out test split."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context
from lgt_graph.state import State
from lgt_graph.tasks import TaskData
from lgt_graph.training import train


def refit_best(state: State, data: TaskData, maximize: bool) -> dict[str, Any]:
    """Refit the best trial's configuration with the same seed; score validation and test."""
    best = history.best_trial(state, maximize)
    if best is None:
        return {"status": "failed", "reason": "no trial succeeded", "trial": None}
    with data.open_test():  # the one place a session reads the test split
        result = train(best["config"], data, score_test=True)
    return {
        "status": result.status,
        "trial": best["index"],
        "config": best["config"],
        "val": result.metrics,
        "test": result.test_metrics,
        "reason": result.reason,
        "wall_time": result.wall_time,
    }


def finalize(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Record the final refit of the session's best configuration."""
    ctx = runtime.context
    return {"final": refit_best(state, ctx.data, ctx.maximize)}
