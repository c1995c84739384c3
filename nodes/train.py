"""Train: fit the configuration the state holds, score it on validation. One call, one trial."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context
from lgt_graph.state import State
from lgt_graph.training import train as fit
from lgt_graph.training.result import Progress, Pruned


def train(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run one trial of ``state['config']`` and append it to the history.

    A multi-fidelity baseline's judge (``ctx.monitor``, left by its Advisor) reads each
    epoch's validation metric and may stop the trial there: it is then *pruned*.
    """
    ctx = runtime.context
    progress = judged(ctx.epochs, ctx.monitor, ctx.primary)
    ctx.monitor = None  # the judge of this trial only
    result = fit(state["config"], ctx.data, progress=progress, placement=ctx.placement)
    return history.trial_update(state, result, ctx.primary)


def judged(progress: Progress | None, monitor: Any, primary: str) -> Progress | None:
    """Return the per-epoch callback: the terminal's progress, then the pruner's judgement."""
    if monitor is None:
        return progress

    def step(info: dict[str, Any]) -> None:
        if progress is not None:
            progress(info)
        value = info.get(f"val_{primary}")
        if value is not None and monitor(int(info["epoch"]), float(value)):
            raise Pruned(int(info["epoch"]))

    return step
