"""Finalize: refit the best configuration and score it, once, on the held-out test split."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context
from lgt_graph.state import State
from lgt_graph.training import train


def finalize(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Refit the best trial's configuration with the same seed; report validation and test."""
    ctx = runtime.context
    best = history.best_trial(state, ctx.maximize)
    if best is None:
        return {"final": {"status": "failed", "reason": "no trial succeeded", "trial": None}}
    result = train(best["config"], ctx.data, score_test=True)
    return {
        "final": {
            "status": result.status,
            "trial": best["index"],
            "config": best["config"],
            "val": result.metrics,
            "test": result.test_metrics,
            "reason": result.reason,
            "wall_time": result.wall_time,
        }
    }
