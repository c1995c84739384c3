"""What one trial produces: its configuration, curves, validation metrics and diagnostics."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np

from lgt_graph.space import Config

Status = Literal["ok", "failed"]
Progress = Callable[[dict[str, Any]], None]
"""Called after each epoch with its number, the epoch count, losses and metrics."""


class Diverged(FloatingPointError):
    """The training or validation loss stopped being a finite number."""


class Pruned(Exception):
    """The trial stops after this epoch (raised by its progress callback).

    ``by`` says who stopped it: ``pruner`` (a multi-fidelity baseline's pruner) or
    ``budget`` (the session's ``--budget-seconds`` ran out during the trial).
    """

    def __init__(self, epoch: int, by: str = "pruner") -> None:
        super().__init__(f"pruned after epoch {epoch} by the {by}")
        self.epoch = epoch
        self.by = by


@dataclass
class TrialResult:
    """The outcome of fitting one configuration and scoring it on the validation split.

    ``curves`` maps a series name (``train_loss``, ``val_loss``, ``val_<metric>``) to
    one value per entry of ``steps``; ``step_unit`` says what a step is (an epoch of
    a neural net, a boosting iteration, a number of trees). A trial whose loss
    turned NaN or infinite, or whose configuration could not be fitted, has
    status ``failed`` and says why in ``reason``.
    """

    config: Config
    status: Status
    metrics: dict[str, float] = field(default_factory=dict)
    curves: dict[str, list[float]] = field(default_factory=dict)
    steps: list[int] = field(default_factory=list)
    step_unit: str = "epoch"
    wall_time: float = 0.0
    reason: str = ""
    diagnostics: dict[str, Any] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    validation: np.ndarray | None = field(default=None, compare=False, repr=False)
    """The validation outputs the metrics were read from (class probabilities, or
    predictions on the target's scale), one row an example; kept beside the state
    (:mod:`lgt_graph.evaluation.val_outputs`), never in it."""
    test_output: np.ndarray | None = field(default=None, compare=False, repr=False)
    """A final refit's test outputs, as ``validation`` (an ensemble averages them); else None."""

    @property
    def ok(self) -> bool:
        """Say whether the trial finished and has validation metrics."""
        return self.status == "ok"

    def score(self, metric: str) -> float | None:
        """Return a validation metric, or None when the trial failed or lacks it."""
        value = self.metrics.get(metric)
        return value if value is not None and math.isfinite(value) else None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible copy (what checkpoints and artifacts store)."""
        data = asdict(replace(self, validation=None, test_output=None))
        del data["validation"], data["test_output"]
        return data

    @classmethod
    def of_fit(
        cls,
        config: Config,
        fitted: dict[str, Any],
        wall_time: float,
        diagnostics: dict[str, Any] | None = None,
    ) -> TrialResult:
        """Return the result of a fit: a trial's or a run's segment, and its time.

        ``fitted`` is what a fit returns (metrics, curves, steps, diagnostics; a
        ``step_unit`` other than epochs, ``test_metrics`` of a final refit).
        """
        return cls(
            config=config,
            status="ok",
            metrics=fitted["metrics"],
            curves=fitted["curves"],
            steps=fitted["steps"],
            step_unit=fitted.get("step_unit", "epoch"),
            wall_time=wall_time,
            diagnostics={**fitted["diagnostics"], **(diagnostics or {})},
            test_metrics=fitted.get("test_metrics", {}),
            validation=fitted.get("validation"),
            test_output=fitted.get("test_output"),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialResult:
        """Rebuild a result from :meth:`to_dict` output."""
        return cls(**data)
