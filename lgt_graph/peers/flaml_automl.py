"""FLAML's AutoML (Wang et al., MLSys 2021) on a session's splits, within its seconds.

FLAML searches its own estimators (LightGBM, XGBoost, random forest, extra trees, …) and
their hyperparameters with its cost-frugal search, holding out our validation split
(``X_val``/``y_val``), for ``time_budget`` seconds. ``retrain_full=False``: the chosen
model stays the one fitted on the training split and scored on validation, as LGT's
final refit is fitted on the training split alone.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lgt_graph.peers import PeerFit, Tried

METRICS = {
    "accuracy": "accuracy",
    "macro_f1": "macro_f1",
    "log_loss": "log_loss",
    "mae": "mae",
    "rmse": "rmse",
    "r2": "r2",
}
"""Our metric -> FLAML's name; the others (balanced accuracy, ROC-AUC) as custom metrics."""
LOSS_IS_ONE_MINUS = ("accuracy", "macro_f1", "r2", "roc_auc", "balanced_accuracy")
"""FLAML minimises a loss: 1 - score for these, the metric itself for the others."""


def fit(data: Any, metric: str, seconds: float, seed: int, threads: int, folder: Path) -> PeerFit:
    """Run FLAML's AutoML on the training split, scored on the validation split."""
    import flaml
    from flaml import AutoML

    classes = data.n_classes
    automl = AutoML()
    log = folder / "flaml.log"
    started = time.perf_counter()
    automl.fit(
        X_train=_frame(data.X_train),
        y_train=np.asarray(data.y_train),
        X_val=_frame(data.X_val),
        y_val=np.asarray(data.y_val),
        task="classification" if classes else "regression",
        metric=METRICS.get(metric) or _custom(metric, classes),
        time_budget=seconds,
        seed=seed,
        n_jobs=threads,
        eval_method="holdout",
        retrain_full=False,
        log_file_name=str(log),
        verbose=0,
    )
    took = time.perf_counter() - started
    model = automl

    def predict(X: Any) -> np.ndarray:
        if not classes:
            return np.asarray(model.predict(_frame(X)), dtype=float)
        proba = np.asarray(model.predict_proba(_frame(X)), dtype=float)
        out = np.zeros((len(proba), classes))
        out[:, [int(c) for c in model.classes_]] = proba
        return out

    return PeerFit(
        predict=predict,
        chosen={
            "estimator": automl.best_estimator,
            "config": dict(automl.best_config or {}),
            "best_iteration": automl.best_iteration,
        },
        tried=_history(log, metric),
        tool=f"flaml {flaml.__version__}",
        options={"time_budget": seconds, "metric": METRICS.get(metric, metric), "n_jobs": threads},
        seconds=took,
    )


def _frame(X: Any) -> Any:
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X).reshape(len(X), -1))


def _custom(metric: str, classes: int) -> Any:
    """Return a FLAML custom metric for one of ours it has no name for."""
    from lgt_graph.evaluation.metrics import classification_metrics

    def score(X_val: Any, y_val: Any, estimator: Any, *args: Any, **kwargs: Any) -> Any:
        proba = np.zeros((len(y_val), classes))
        proba[:, [int(c) for c in estimator.classes_]] = estimator.predict_proba(X_val)
        value = classification_metrics(np.asarray(y_val), proba, classes)[metric]
        return 1.0 - value, {metric: value}

    return score


def _history(log: Path, metric: str) -> list[Tried]:
    """Read every configuration FLAML scored from its log, in our metric."""
    import json

    tried: list[Tried] = []
    if not log.exists():
        return tried
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if "validation_loss" not in record:
            continue
        loss = record["validation_loss"]
        value = None if loss is None or not np.isfinite(loss) else float(loss)
        if value is not None and metric in LOSS_IS_ONE_MINUS:
            value = 1.0 - value
        tried.append(
            Tried(
                model=str(record.get("learner", "?")),
                val=value,
                seconds=float(record.get("wall_clock_time", 0.0)),
            )
        )
    return tried
