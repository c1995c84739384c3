"""The frozen evaluation: the metrics every method is scored with, and which way is better.

The direction of each metric and the rule that says whether one score beats another
live here and nowhere else: the best trial, the Evaluator's verdict, the stopping
target, the comparison's ranks, the report's "best so far" and a net's best epoch
all ask this module.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Direction = Literal["maximize", "minimize"]
Outcome = Literal["improved", "regressed", "neutral"]

CLASSIFICATION_METRICS = ("accuracy", "macro_f1")
REGRESSION_METRICS = ("mae", "rmse", "r2")
DIRECTIONS: dict[str, Direction] = {
    "accuracy": "maximize",
    "macro_f1": "maximize",
    "mae": "minimize",
    "rmse": "minimize",
    "r2": "maximize",
}


def maximized(metric: str) -> bool:
    """Say whether a higher value of ``metric`` is better (a loss is minimised)."""
    return DIRECTIONS.get(metric, "minimize" if metric.endswith("loss") else "maximize") == (
        "maximize"
    )


def oriented(score: float, maximize: bool) -> float:
    """Return ``score`` turned so that higher is better."""
    return score if maximize else -score


def gain(score: float, reference: float, maximize: bool) -> float:
    """Return how much ``score`` improves on ``reference`` (negative: it is worse)."""
    return oriented(score, maximize) - oriented(reference, maximize)


def better(score: float, reference: float | None, maximize: bool, margin: float = 0.0) -> bool:
    """Say whether ``score`` beats ``reference`` by more than ``margin`` (any score beats None)."""
    return reference is None or gain(score, reference, maximize) > margin


def reached(score: float, target: float, maximize: bool) -> bool:
    """Say whether ``score`` is at least as good as ``target``."""
    return not better(target, score, maximize)


def outcome(score: float | None, best: float | None, maximize: bool, tolerance: float) -> Outcome:
    """Classify a score against the best before it: improved, regressed or neutral.

    A failed trial (None) regressed; a loss within ``tolerance`` (a fraction of the
    best) is neutral, so noise does not roll the session back.
    """
    if score is None:
        return "regressed"
    if best is None:
        return "improved"
    change = gain(score, best, maximize)
    if change > 0:
        return "improved"
    if -change > tolerance * max(abs(best), 1e-12):
        return "regressed"
    return "neutral"


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, n_classes: int
) -> dict[str, float]:
    """Return accuracy and macro-averaged F1 (over the classes present in either array)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    confusion = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    confusion = confusion.reshape(n_classes, n_classes)
    tp = np.diag(confusion).astype(float)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    present = (support + predicted) > 0
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return {
        "accuracy": float(tp.sum() / max(len(y_true), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Return MAE, RMSE and R² on the target's original scale."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    err = y_pred - y_true
    ss_tot = float(((y_true - y_true.mean()) ** 2).sum())
    ss_res = float((err**2).sum())
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0,
    }
