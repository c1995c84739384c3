"""Train: fit the configuration the state holds, score it on validation. One call, one trial."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context
from lgt_graph.state import State
from lgt_graph.training import train as fit


def train(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run one trial of ``state['config']`` and append it to the history."""
    ctx = runtime.context
    result = fit(state["config"], ctx.data, progress=ctx.epochs)
    return history.trial_update(state, result, ctx.primary)
