"""scikit-learn models of the tabular spaces: gradient boosting, random forest, linear.

Their curves are the validation score as the ensemble grows: boosting
iterations for ``gbm``, trees for ``random_forest``; a linear model is a
single point. They fit on the CPU whatever ``--device`` says: scikit-learn has no GPU path.

A forest grows in stages (``warm_start``: the same trees as one fit), and the progress
callback hears of each stage as a net's of each epoch, so the seconds budget stops it after
the stage in which the seconds run out, and the final refit after the same stage. Boosting
and a linear model fit once and cannot be stopped midway (boosting's ``warm_start`` re-bins
the data and re-predicts every tree at each stage: three to six times the fit on 40,000
rows), which the space's 1000 iterations at most keep within a trial's usual time.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from lgt_graph.space import Config
from lgt_graph.training.arrays import Arrays
from lgt_graph.training.result import Progress, Pruned

CHECKPOINTS = 20
"""How many points of a boosting curve are recorded."""
FOREST_STAGES = 10
"""How many stages a forest grows in (a curve point each)."""
SMALL_DATA = 200_000
"""Below this many training cells, OpenMP workers cost more (spinning) than they save."""


def _loss(data: Arrays, y: np.ndarray, out: np.ndarray) -> float:
    """Cross-entropy of class probabilities, or squared error on the fitting scale."""
    if data.classification:
        picked = out[np.arange(len(y)), y]
        return float(-np.log(np.clip(picked, 1e-12, 1.0)).mean())
    return float(((np.ravel(out) - data.target.forward(y)) ** 2).mean())


def _widen(model: Any, proba: np.ndarray, n_classes: int) -> np.ndarray:
    """Give class probabilities a column for every class, seen in training or not."""
    full = np.zeros((len(proba), n_classes))
    full[:, model.classes_] = proba
    return full


def model_outputs(model: Any, data: Arrays, X: np.ndarray) -> np.ndarray:
    """Return class probabilities (classification) or predictions on the fitting scale."""
    if data.classification:
        return _widen(model, model.predict_proba(X), data.n_classes)
    return model.predict(X)


def build_classic(config: Config, data: Arrays, seed: int, threads: int) -> Any:
    """Return the unfitted scikit-learn estimator the configuration names."""
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LogisticRegression, Ridge

    from lgt_graph.training.boosting import BoostingClassifier

    model = config["model"]
    depth = int(config["tree_max_depth"]) or None
    weight = "balanced" if config.get("class_weighting") == "balanced" else None
    if model == "gbm":
        common = dict(
            max_iter=int(config["n_estimators"]),
            learning_rate=float(config["learning_rate"]),
            max_depth=depth,
            min_samples_leaf=int(config["min_samples_leaf"]),
            early_stopping=False,
            random_state=seed,
        )
        if data.classification:
            return BoostingClassifier(class_weight=weight, **common)
        loss = str(config.get("regression_loss", "squared_error"))
        return HistGradientBoostingRegressor(loss=loss, **common)
    if model == "random_forest":
        common = dict(
            n_estimators=int(config["n_estimators"]),
            max_depth=depth,
            min_samples_leaf=int(config["min_samples_leaf"]),
            random_state=seed,
            n_jobs=threads,
        )
        extra = bool(config.get("randomized_splits", False))
        if data.classification:
            forest = ExtraTreesClassifier if extra else RandomForestClassifier
            return forest(class_weight=weight, **common)
        return (ExtraTreesRegressor if extra else RandomForestRegressor)(**common)
    penalty = float(config["l2_penalty"])
    if data.classification:
        return LogisticRegression(C=1.0 / penalty, class_weight=weight, max_iter=2000)
    return Ridge(alpha=penalty)


def fit_classic(
    config: Config, data: Arrays, seed: int, threads: int, progress: Progress | None = None
) -> dict[str, Any]:
    """Fit the estimator; return curves, final validation metrics and the model.

    ``progress`` hears of each stage of a forest (``epoch``: its trees so far, ``epochs``:
    all of them, ``unit``); a :class:`Pruned` it raises stops the forest there, recorded as
    ``pruned_at`` (the trees grown).

    Small data is fitted on one thread: idle OpenMP workers busy-wait, and on a
    loaded machine (the MLflow writer, other trials) that slowed boosting on iris
    from 0.5 s to 4 s a fit.
    """
    from threadpoolctl import threadpool_limits

    if data.X_train.size < SMALL_DATA:
        threads = 1
    with threadpool_limits(limits=threads), warnings.catch_warnings():
        # Growing a forest with warm_start refits on the same training split each time, so
        # the balanced class weights sklearn warns about stay exactly the same.
        warnings.filterwarnings("ignore", message="class_weight presets", category=UserWarning)
        # An ill-conditioned ridge system (polynomial features, say) still solves; the
        # validation score, not a console warning, says whether it helped.
        warnings.filterwarnings("ignore", message=".*ill-conditioned matrix")
        fitted = _fit_classic(config, data, seed, threads, progress)
    fitted["diagnostics"]["threads"] = threads
    return fitted


def _stages(total: int) -> list[int]:
    """Return the sizes a forest of ``total`` trees grows through."""
    return sorted(
        set(np.linspace(1, total, min(FOREST_STAGES, total)).round().astype(int).tolist())
    )


def _fit_classic(
    config: Config, data: Arrays, seed: int, threads: int, progress: Progress | None
) -> dict[str, Any]:
    model = build_classic(config, data, seed, threads)
    y_fit = data.y_train_fit
    score = data.scorer()
    curves: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
    steps: list[int] = []
    kept: dict[str, np.ndarray] = {}  # the validation output the metrics were read from

    def record(step: int, out_train: np.ndarray, out_val: np.ndarray) -> dict[str, float]:
        steps.append(step)
        kept["val"] = out_val
        curves["train_loss"].append(_loss(data, data.y_train, out_train))
        curves["val_loss"].append(_loss(data, data.y_val, out_val))
        metrics = score(data.y_val, out_val)
        for name, value in metrics.items():
            curves.setdefault(f"val_{name}", []).append(value)
        return metrics

    kind = config["model"]
    cut: int | None = None
    by = ""
    if kind == "gbm":
        model.fit(data.X_train, y_fit)
        n = model.n_iter_
        marks = set(np.linspace(1, n, min(CHECKPOINTS, n)).round().astype(int).tolist())
        stage = "staged_predict_proba" if data.classification else "staged_predict"
        train_stages = getattr(model, stage)(data.X_train)
        val_stages = getattr(model, stage)(data.X_val)
        for i, (out_train, out_val) in enumerate(zip(train_stages, val_stages, strict=True), 1):
            if i in marks:
                if data.classification:
                    out_train = _widen(model, out_train, data.n_classes)
                    out_val = _widen(model, out_val, data.n_classes)
                metrics = record(i, out_train, out_val)
        unit = "iteration"
    elif kind == "random_forest":
        stages = _stages(int(config["n_estimators"]))
        model.set_params(warm_start=True)
        for count in stages:
            model.set_params(n_estimators=count)
            model.fit(data.X_train, y_fit)
            metrics = record(
                count,
                model_outputs(model, data, data.X_train),
                model_outputs(model, data, data.X_val),
            )
            if progress is None:
                continue
            latest = {name: values[-1] for name, values in curves.items()}  # losses, metrics
            try:
                progress({"epoch": count, "epochs": stages[-1], "unit": "trees", **latest})
            except Pruned as stop:  # the seconds budget ran out during this stage
                cut, by = count, stop.by
                break
        unit = "trees"
    else:
        model.fit(data.X_train, y_fit)
        metrics = record(
            1, model_outputs(model, data, data.X_train), model_outputs(model, data, data.X_val)
        )
        unit = "fit"
    return {
        "model": model,
        "curves": curves,
        "steps": steps,
        "step_unit": unit,
        "metrics": metrics,
        "val_output": kept.get("val"),
        "diagnostics": {
            "steps_run": steps[-1] if steps else 0,
            **({"pruned_at": cut, "pruned_by": by} if cut is not None else {}),
        },
    }
