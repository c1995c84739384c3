"""AutoGluon-Tabular's ``TabularPredictor`` (Erickson et al., 2020) on a session's splits.

Preset ``medium_quality``, AutoGluon's default: it trains its model zoo (LightGBM,
CatBoost, XGBoost, random forests, extra trees, k-nearest neighbours, its neural net;
what the installed extras provide) on the training split and fits a weighted ensemble
of them on our validation split (``tuning_data``), within ``time_limit`` seconds. The
``best_quality`` presets bag and stack over k folds of training and tuning data pooled
together, which would fit on the validation rows every other method only scores on, and
they need far more than a comparison's seconds to pay off.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lgt_graph.peers import PeerFit, Tried

PRESET = "medium_quality"
METRICS = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced_accuracy",
    "macro_f1": "f1_macro",
    "roc_auc": "roc_auc",
    "log_loss": "log_loss",
    "mae": "mean_absolute_error",
    "rmse": "root_mean_squared_error",
    "r2": "r2",
}
"""Our metric -> AutoGluon's eval_metric."""
TARGET = "__target__"


def fit(data: Any, metric: str, seconds: float, seed: int, threads: int, folder: Path) -> PeerFit:
    """Fit AutoGluon's predictor on the training split, tuning on the validation split."""
    import autogluon.tabular
    from autogluon.tabular import TabularPredictor

    logging.getLogger("autogluon").setLevel(logging.ERROR)
    classes = data.n_classes
    name = METRICS[metric]
    if metric == "roc_auc" and classes > 2:
        name = "roc_auc_ovo_macro"
    problem = "regression" if not classes else "binary" if classes == 2 else "multiclass"
    predictor = TabularPredictor(
        label=TARGET,
        problem_type=problem,
        eval_metric=name,
        path=str(folder / "autogluon"),
        verbosity=0,
    )
    started = time.perf_counter()
    predictor.fit(
        _table(data.X_train, data.y_train),
        tuning_data=_table(data.X_val, data.y_val),
        time_limit=seconds,
        presets=PRESET,
        num_cpus=threads,
        num_gpus=0,
        ag_args_fit={"random_seed": seed},
    )
    took = time.perf_counter() - started
    board = predictor.leaderboard(silent=True)
    best = predictor.model_best

    def predict(X: Any) -> np.ndarray:
        frame = _table(X, None)
        if not classes:
            return np.asarray(predictor.predict(frame), dtype=float)
        proba = predictor.predict_proba(frame, as_multiclass=True)
        out = np.zeros((len(frame), classes))
        for label in proba.columns:
            out[:, int(label)] = proba[label].to_numpy(dtype=float)
        return out

    return PeerFit(
        predict=predict,
        chosen={"model": best, "models": list(board["model"])},
        tried=_tried(board, metric),
        tool=f"autogluon {autogluon.tabular.__version__}",
        options={"preset": PRESET, "eval_metric": name, "time_limit": seconds, "cpus": threads},
        seconds=took,
    )


def _table(X: Any, y: Any) -> pd.DataFrame:
    frame = X.copy() if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    frame.columns = [str(c) for c in frame.columns]
    if y is not None:
        frame[TARGET] = np.asarray(y)
    return frame


def _tried(board: pd.DataFrame, metric: str) -> list[Tried]:
    """Every model of the leaderboard in the order it was fitted, scored in our metric.

    AutoGluon's scores are "higher is better": an error metric's is its negative.
    """
    from lgt_graph.evaluation.metrics import maximized

    sign = 1.0 if maximized(metric) else -1.0
    order = board.sort_values("fit_order") if "fit_order" in board else board
    elapsed = 0.0
    tried = []
    for _, row in order.iterrows():
        elapsed += float(row.get("fit_time_marginal", row.get("fit_time", 0.0)) or 0.0)
        score = row.get("score_val")
        value = None if score is None or not np.isfinite(score) else sign * float(score)
        tried.append(Tried(model=str(row["model"]), val=value, seconds=elapsed))
    return tried
