"""Where trials run: in this process (``--executor local``, the default) or on Ray.

An executor sits behind the train node: the node asks it to train one configuration and
gets the :class:`~lgt_graph.training.result.TrialResult` back, so the graph, its
checkpoints and MLflow are the same whichever runs the trial; only the driver (this
process) writes them. ``--executor ray`` runs each trial as a Ray task with its declared
resources (``--cpus-per-trial``, ``--gpus-per-trial``) on a local Ray instance the session
starts and stops, or on an existing cluster (``--ray-address``); the data reach the
workers once per session, through Ray's object store. ``--workers N`` hands it rounds
of N trials (``train_round``); in the epoch-level loop a Ray executor trains a paired
segment's two branches at once (``train_branches``, :mod:`lgt_graph.executors.ray_branches`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from lgt_graph.training.result import Progress, TrialResult


class Executor(Protocol):
    """Trains one configuration at a time for the train node, wherever it runs them."""

    def train(
        self,
        config: dict[str, Any],
        *,
        monitor: Any,
        primary: str,
        seconds_left: float | None,
        progress: Progress | None,
    ) -> TrialResult:
        """Fit ``config`` and score it on validation; a failure is a failed result."""
        ...

    def train_round(
        self,
        configs: list[dict[str, Any]],
        *,
        primary: str,
        seconds_left: float | None,
        done: Callable[[int, TrialResult], None] | None = None,
    ) -> list[TrialResult]:
        """Fit a parallel round's configurations (side by side where it can); results in order.

        ``done(position, result)`` hears of each result as soon as it is known.
        """
        ...

    def close(self) -> None:
        """Give back what the executor holds (a Ray instance it started)."""
        ...


class LocalExecutor:
    """Trains in this process: the session's data, device and threads as they are."""

    def __init__(self, data: Any, placement: Any) -> None:
        self.data, self.placement = data, placement

    def train(
        self,
        config: dict[str, Any],
        *,
        monitor: Any,
        primary: str,
        seconds_left: float | None,
        progress: Progress | None,
    ) -> TrialResult:
        """Fit ``config`` here, with the per-epoch stops (pruner, seconds) and progress."""
        from lgt_graph.training import train
        from lgt_graph.training.stops import judged

        steps = judged(progress, monitor, primary, seconds_left)
        return train(config, self.data, progress=steps, placement=self.placement)

    def train_round(
        self,
        configs: list[dict[str, Any]],
        *,
        primary: str,
        seconds_left: float | None,
        done: Callable[[int, TrialResult], None] | None = None,
    ) -> list[TrialResult]:
        """Fit the configurations one after another, here (one process trains one at a time)."""
        results = []
        for position, config in enumerate(configs):
            result = self.train(
                config, monitor=None, primary=primary, seconds_left=seconds_left, progress=None
            )
            if done is not None:
                done(position, result)
            results.append(result)
        return results

    def close(self) -> None:
        """Nothing to give back."""


def open_executor(settings: Any, data: Any, placement: Any) -> Executor:
    """Return the session's executor, as ``settings.executor`` names it (checked already)."""
    if settings.executor != "ray":
        return LocalExecutor(data, placement)
    from lgt_graph.executors.ray_tasks import RayExecutor

    return RayExecutor(
        data,
        address=settings.ray_address,
        cpus=settings.cpus_per_trial,
        gpus=settings.gpus_per_trial,
        device=settings.device,
        amp=settings.amp,
    )
