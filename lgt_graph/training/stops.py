"""A trial's per-epoch stops: a multi-fidelity pruner's judgement and the seconds budget."""

from __future__ import annotations

import time
from typing import Any

from lgt_graph.training.result import Progress, Pruned


def judged(
    progress: Progress | None, monitor: Any, primary: str, seconds_left: float | None = None
) -> Progress | None:
    """Return the per-epoch callback: the terminal's progress, then the stops.

    The pruner's judgement first, then the seconds budget's (``seconds_left`` of training
    from now); the last epoch is never cut, it ends the trial anyway. A forest's stages
    (``unit``: trees) meet the seconds budget alone: the pruner's rungs are epochs.
    """
    if monitor is None and seconds_left is None:
        return progress
    started = time.perf_counter()

    def step(info: dict[str, Any]) -> None:
        if progress is not None:
            progress(info)
        epoch = int(info["epoch"])
        value = info.get(f"val_{primary}")
        by_epoch = info.get("unit", "epoch") == "epoch"
        if by_epoch and monitor is not None and value is not None and monitor(epoch, float(value)):
            raise Pruned(epoch)
        last = epoch >= int(info.get("epochs", epoch))
        if seconds_left is not None and not last and time.perf_counter() - started >= seconds_left:
            raise Pruned(epoch, by="budget")

    return step
