"""The frozen evaluation: the metrics every method is scored with, and which way is better.

The direction of each metric and the rule that says whether one score beats another
live here and nowhere else: the best trial, the Evaluator's verdict, the stopping
target, the comparison's ranks, the report's "best so far" and a net's best epoch
all ask this module.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from lgt_graph.errors import UserError

Direction = Literal["maximize", "minimize"]
Outcome = Literal["improved", "regressed", "neutral", "failed"]

SETBACKS = ("regressed", "failed")
"""Outcomes that roll back: worse than the best beyond tolerance, or no score at all."""

CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "r2")
DIRECTIONS: dict[str, Direction] = {
    "accuracy": "maximize",
    "balanced_accuracy": "maximize",
    "macro_f1": "maximize",
    "roc_auc": "maximize",
    "log_loss": "minimize",
    "mae": "minimize",
    "rmse": "minimize",
    "r2": "maximize",
}
RARE = 0.5
"""A class is rare below this share of an even split (binary: under 25 % of the examples)."""


def check_metric(metric: str | None, problem: str) -> None:
    """Reject a ``--metric`` that does not score ``problem`` (classification or regression)."""
    ok = CLASSIFICATION_METRICS if problem == "classification" else REGRESSION_METRICS
    if metric is not None and metric not in ok:
        raise UserError(f"--metric {metric} does not score {problem}; use one of {', '.join(ok)}")


def default_metric(problem: str, class_shares: list[float] | None = None) -> tuple[str, str]:
    """Return the primary metric a practitioner would pick for this data, and why.

    Accuracy rewards a model that always predicts the majority class when one class is
    rare (at 1 % positives it scores 0.99); macro-F1 scores that model about 0.5, and
    unlike balanced accuracy (mean recall) it also charges the false alarms that buying
    recall of a rare class costs.
    """
    if problem == "regression":
        return "mae", "regression"
    shares = class_shares or []
    if shares and min(shares) < RARE / len(shares):
        return "macro_f1", (
            f"the smallest class is {min(shares):.1%} of the examples, so accuracy would"
            " reward predicting the majority class"
        )
    return "accuracy", "the classes are not far from balanced"


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


def outcome(
    score: float | None,
    best: float | None,
    maximize: bool,
    tolerance: float,
    floor: float | None = None,
) -> Outcome:
    """Classify a score against the best before it: improved, regressed, neutral or failed.

    A trial without a score (None) failed, whatever came before it. With a noise
    ``floor`` (see :func:`noise_floor`) a gain must clear it to count as improved, and a
    loss to count as regressed; otherwise any gain improved and a loss within
    ``tolerance`` (a fraction of the best) is neutral, so noise does not roll back.
    """
    if score is None:
        return "failed"
    if best is None:
        return "improved"
    change = gain(score, best, maximize)
    if floor is not None:
        return "improved" if change > floor else "regressed" if -change > floor else "neutral"
    if change > 0:
        return "improved"
    if -change > tolerance * max(abs(best), 1e-12):
        return "regressed"
    return "neutral"


SHARES = ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc")
"""Metrics read as a share of the validation examples for their sampling error."""


def standard_error(metric: str, metrics: dict[str, float], n: int) -> float | None:
    """Return the sampling error of a validation metric over ``n`` examples, or None.

    The spread of the metric had the validation examples been drawn again, worked out
    from the metrics themselves: a share p has sqrt(p(1-p)/n); MAE has the spread of
    the absolute errors, sqrt((RMSE² - MAE²)/n); RMSE and R² the delta method's
    approximation for errors of normal shape. None where no formula holds (log loss).
    """
    value = metrics.get(metric)
    if value is None or n < 2 or not np.isfinite(value):
        return None
    if metric in SHARES:
        p = min(max(value, 0.0), 1.0)
        return float(np.sqrt(p * (1 - p) / n))
    if metric == "mae" and "rmse" in metrics:
        return float(np.sqrt(max(metrics["rmse"] ** 2 - value**2, 0.0) / n))
    if metric == "rmse":
        return float(value / np.sqrt(2 * n))
    if metric == "r2":
        return float(np.sqrt(2.0) * max(1 - value, 0.0) / np.sqrt(n))
    return None


def noise_floor(
    metric: str, trial: dict[str, float], best: dict[str, float], n: int
) -> float | None:
    """Return the noise floor of a gain between two trials' validation metrics, or None.

    One standard error of their difference, taking the two scores as independent:
    sqrt(se_trial² + se_best²). Both are scored on the same examples, so the true
    spread of the difference is smaller and the floor errs on the side of "neutral".
    """
    errors = [standard_error(metric, m, n) for m in (trial, best)]
    if any(e is None for e in errors):
        return None
    return float(np.sqrt(sum(e * e for e in errors if e is not None)))


PAIRED_DRAWS = 200
"""Bootstrap draws of the validation rows, for metrics that are not a mean over examples."""


def paired_standard_error(
    metric: str, y_true: np.ndarray, a: np.ndarray, b: np.ndarray, n_classes: int = 0
) -> float | None:
    """Return the standard error of ``metric(a) - metric(b)`` on the same rows, or None.

    ``a`` and ``b`` are two models' outputs on the same validation examples (class
    probabilities, or predictions on the target's scale). Unlike :func:`noise_floor`,
    which takes the two scores as independent, this reads how the two differ example by
    example: two similar models that err on the same rows differ by little, however
    noisy each score is. Accuracy, log loss and MAE are means over examples, so the
    error is the spread of the per-example difference over sqrt(n); RMSE and R² take
    the same from the squared errors through the delta method; balanced accuracy,
    macro-F1 and ROC-AUC draw the rows again (:data:`PAIRED_DRAWS` times, a fixed seed).
    None for fewer than two rows, outputs of another shape, or an unknown metric.
    """
    y = np.asarray(y_true)
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    n = len(y)
    if n < 2 or a.shape != b.shape or len(a) != n:
        return None
    terms = _example_terms(metric, y, a, b)
    if terms is not None:
        diff, scale = terms
        return float(np.std(diff, ddof=1) / np.sqrt(n) * scale)
    if metric not in CLASSIFICATION_METRICS or a.ndim != 2:
        return None
    rng = np.random.default_rng(0)
    gaps = []
    for _ in range(PAIRED_DRAWS):
        rows = rng.integers(0, n, n)
        k = n_classes or a.shape[1]
        gaps.append(
            classification_metrics(y[rows], a[rows], k)[metric]
            - classification_metrics(y[rows], b[rows], k)[metric]
        )
    return float(np.std(gaps, ddof=1))


def _example_terms(
    metric: str, y: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, float] | None:
    """Return the per-example difference of a mean metric and the factor to the metric."""
    if metric in ("accuracy", "log_loss") and a.ndim == 2:
        labels = y.astype(np.int64)
        rows = np.arange(len(labels))
        if metric == "accuracy":
            return (np.argmax(a, 1) == labels) * 1.0 - (np.argmax(b, 1) == labels), 1.0
        pa, pb = (np.clip(p[rows, labels], 1e-15, 1.0) for p in (a, b))
        return np.log(pb) - np.log(pa), 1.0
    if metric not in REGRESSION_METRICS or a.ndim != 1:
        return None
    y = y.astype(np.float64)
    if metric == "mae":
        return np.abs(a - y) - np.abs(b - y), 1.0
    squared = (a - y) ** 2 - (b - y) ** 2
    if metric == "rmse":
        mse = (np.mean((a - y) ** 2) + np.mean((b - y) ** 2)) / 2
        return squared, 1.0 / (2.0 * np.sqrt(mse)) if mse > 0 else 0.0
    spread = float(np.mean((y - y.mean()) ** 2))
    return (squared, 1.0 / spread) if spread > 0 else None


def classification_metrics(
    y_true: np.ndarray, proba: np.ndarray, n_classes: int
) -> dict[str, float]:
    """Return accuracy, balanced accuracy, macro-F1, ROC-AUC and log loss.

    ``proba`` holds each example's class probabilities. Macro-F1 averages over the
    classes present in the labels or the predictions; balanced accuracy (mean recall)
    and ROC-AUC (one class against the rest, averaged) over the classes present in the
    labels, where they are defined.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64).reshape(len(y_true), -1)
    y_pred = np.argmax(proba, axis=1)
    confusion = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    confusion = confusion.reshape(n_classes, n_classes)
    tp = np.diag(confusion).astype(float)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    present = (support + predicted) > 0
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    labelled = support > 0
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=labelled)
    clipped = np.clip(proba[np.arange(len(y_true)), y_true], 1e-15, 1.0)
    return {
        "accuracy": float(tp.sum() / max(len(y_true), 1)),
        "balanced_accuracy": float(recall[labelled].mean()) if labelled.any() else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "roc_auc": _roc_auc(y_true, proba, labelled),
        "log_loss": float(-np.log(clipped).mean()) if len(y_true) else 0.0,
    }


def _roc_auc(y_true: np.ndarray, proba: np.ndarray, labelled: np.ndarray) -> float:
    """Average, over the labelled classes, the AUC of each class's probability against the rest."""
    aucs = []
    for k in np.flatnonzero(labelled):
        positive = y_true == k
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if n_pos == 0 or n_neg == 0:
            continue
        # Mann-Whitney U through ranks, ties sharing their mean rank
        ranks = _ranks(proba[:, k])
        aucs.append((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
        if proba.shape[1] == 2:
            break  # binary: the second class's AUC is the same number
    return float(np.mean(aucs)) if aucs else 0.5


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    sorted_x = x[order]
    # first index of each run of ties, and its length
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    lengths = np.diff(np.r_[starts, len(x)])
    mean_rank = starts + (lengths + 1) / 2.0
    ranks[order] = np.repeat(mean_rank, lengths)
    return ranks


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
