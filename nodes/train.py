"""Train: fit the configuration the state holds, score it on validation. One call, one trial."""

from __future__ import annotations

import time
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
    epoch's validation metric and may stop the trial there: it is then *pruned*. Under
    ``--budget-seconds`` a net also stops after the epoch in which the session's seconds
    run out, so no method trains past its compute by more than one epoch (a scikit-learn
    fit cannot be stopped midway: it ends its fit).
    """
    ctx = runtime.context
    left = None
    if ctx.settings.budget_seconds is not None:
        left = ctx.settings.budget_seconds - history.seconds_used(state)
    progress = judged(ctx.epochs, ctx.monitor, ctx.primary, left)
    ctx.monitor = None  # the judge of this trial only
    result = fit(state["config"], ctx.data, progress=progress, placement=ctx.placement)
    return history.trial_update(state, result, ctx.primary)


def judged(
    progress: Progress | None, monitor: Any, primary: str, seconds_left: float | None = None
) -> Progress | None:
    """Return the per-epoch callback: the terminal's progress, then the stops.

    The pruner's judgement first, then the seconds budget's (``seconds_left`` of training
    from now); the last epoch is never cut, it ends the trial anyway.
    """
    if monitor is None and seconds_left is None:
        return progress
    started = time.perf_counter()

    def step(info: dict[str, Any]) -> None:
        if progress is not None:
            progress(info)
        epoch = int(info["epoch"])
        value = info.get(f"val_{primary}")
        if monitor is not None and value is not None and monitor(epoch, float(value)):
            raise Pruned(epoch)
        last = epoch >= int(info.get("epochs", epoch))
        if seconds_left is not None and not last and time.perf_counter() - started >= seconds_left:
            raise Pruned(epoch, by="budget")

    return step
