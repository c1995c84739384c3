"""Train: fit the configuration the state holds, score it on validation. One call, one trial."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context
from lgt_graph.executors import LocalExecutor
from lgt_graph.state import State
from lgt_graph.training.stops import judged

__all__ = ["judged", "train"]


def train(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run one trial of ``state['config']`` and append it to the history.

    The session's executor runs it: in this process, or as a Ray task (``--executor``).
    A multi-fidelity baseline's judge (``ctx.monitor``, left by its Advisor) reads each
    epoch's validation metric and may stop the trial there: it is then *pruned*. Under
    ``--budget-seconds`` a net also stops after the epoch in which the session's seconds
    run out, so no method trains past its compute by more than one epoch (a scikit-learn
    fit cannot be stopped midway: it ends its fit).
    """
    ctx = runtime.context
    left = None
    if ctx.settings.budget_seconds is not None:
        left = ctx.settings.budget_seconds - history.seconds_used(state)
    monitor, ctx.monitor = ctx.monitor, None  # the judge of this trial only
    executor = ctx.executor or LocalExecutor(ctx.data, ctx.placement)
    result = executor.train(
        state["config"],
        monitor=monitor,
        primary=ctx.primary,
        seconds_left=left,
        progress=ctx.epochs,
    )
    return history.trial_update(state, result, ctx.primary)
