"""A trial's data as arrays after feature engineering, and the regression target transform."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lgt_graph.evaluation.metrics import classification_metrics, regression_metrics


@dataclass
class TargetTransform:
    """Map a regression target to the scale the model fits, and predictions back."""

    kind: str = "none"
    center: float = 0.0
    scale: float = 1.0

    @classmethod
    def fit(cls, kind: str, y: np.ndarray) -> TargetTransform:
        """Fit the transform on the training targets."""
        if kind == "log" and float(np.min(y)) <= -1.0:
            raise ValueError("target_transform=log needs every target above -1")
        if kind == "standardize":
            return cls(kind, float(np.mean(y)), float(np.std(y)) or 1.0)
        return cls(kind)

    def forward(self, y: np.ndarray) -> np.ndarray:
        """Transform targets to the fitting scale."""
        if self.kind == "log":
            return np.log1p(y)
        return (y - self.center) / self.scale

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """Map predictions back to the target's original scale."""
        if self.kind == "log":
            with np.errstate(over="ignore"):
                return np.expm1(y)
        return y * self.scale + self.center


@dataclass
class Arrays:
    """Train, validation and (for the final score only) test arrays of one trial."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    classification: bool
    n_classes: int
    target: TargetTransform = field(default_factory=TargetTransform)
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    @property
    def y_train_fit(self) -> np.ndarray:
        """Return the training targets on the scale the model is fitted to."""
        return self.y_train if self.classification else self.target.forward(self.y_train)

    def scorer(self, logits: bool = False) -> Callable[[np.ndarray, np.ndarray], dict[str, float]]:
        """Return ``(y_true, model_output) -> metrics`` for this problem.

        The model output is class probabilities (a net's logits with ``logits``) for
        classification, or predictions on the fitting scale for regression, which are
        mapped back before scoring.
        """
        if self.classification:
            n = self.n_classes
            return lambda y, out: classification_metrics(y, self.outputs(out, logits), n)
        return lambda y, out: regression_metrics(y, self.outputs(out))

    def outputs(self, out: np.ndarray, logits: bool = False) -> np.ndarray:
        """Return a model's output as it is scored.

        Class probabilities (``logits``: a net's raw output), or predictions mapped back
        from the fitting scale to the target's original scale.
        """
        if self.classification:
            return softmax(out) if logits else np.asarray(out)
        return self.target.inverse(np.ravel(out))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Turn each row of logits into probabilities."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
