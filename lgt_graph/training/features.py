"""Feature engineering from the configuration, always fitted on the training split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lgt_graph.space import Config
from lgt_graph.space.shape import MAX_FEATURES, polynomial_features
from lgt_graph.tasks.sentinels import as_missing, sentinel_columns

"""Polynomial expansion beyond this many columns is refused as a failed trial."""


class FeatureError(ValueError):
    """The configuration's feature engineering cannot be applied to this data."""


def image_arrays(
    config: Config, X_train: np.ndarray, others: list[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Scale uint8 images to float32 as ``input_normalization`` says, with train statistics."""
    mode = config["input_normalization"]
    train = X_train.astype(np.float32)
    rest = [x.astype(np.float32) for x in others]
    if mode == "none":
        return train, rest
    train /= 255.0
    for x in rest:
        x /= 255.0
    if mode == "standardize":
        mean = train.mean(axis=(0, 2, 3), keepdims=True)
        std = train.std(axis=(0, 2, 3), keepdims=True) + 1e-6
        train = (train - mean) / std
        rest = [(x - mean) / std for x in rest]
    return train, rest


def tabular_arrays(
    config: Config,
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    others: list[pd.DataFrame],
    classification: bool,
    seed: int,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Impute, expand, scale, encode and select tabular features; return train and the rest.

    Every statistic (means, scales, selected columns) comes from ``X_train`` alone.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_selection import (
        SelectPercentile,
        f_classif,
        f_regression,
        mutual_info_classif,
        mutual_info_regression,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures

    if config.get("zeros_as_missing"):  # the columns found in the training split alone
        found = list(sentinel_columns(X_train))
        X_train, others = as_missing(X_train, found), [as_missing(x, found) for x in others]
    numeric = [c for c in X_train.columns if pd.api.types.is_numeric_dtype(X_train[c])]
    categorical = [c for c in X_train.columns if c not in numeric]
    degree = int(config["polynomial_degree"])
    expanded = polynomial_features(len(numeric), degree)
    if degree > 1 and expanded > MAX_FEATURES:
        raise FeatureError(
            f"polynomial_degree={degree} would make {expanded} features from {len(numeric)}"
            f" (limit {MAX_FEATURES})"
        )
    steps: list[tuple[str, object]] = [
        ("impute", SimpleImputer(strategy=str(config["imputation"]), keep_empty_features=True))
    ]
    if degree > 1:
        steps.append(("poly", PolynomialFeatures(degree, include_bias=False)))
    scaler = _scaler(str(config["scaling"]), len(X_train), seed)
    if scaler is not None:
        steps.append(("scale", scaler))
    encode = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    transformers: list[tuple[str, object, list[str]]] = [("num", Pipeline(steps), numeric)]
    if categorical:
        transformers.append(("cat", encode, categorical))
    pipeline: list[tuple[str, object]] = [
        ("columns", ColumnTransformer(transformers, verbose_feature_names_out=False))
    ]
    selection = str(config["feature_selection"])
    if selection != "none":
        if selection == "f_test":
            score = f_classif if classification else f_regression
        else:
            base = mutual_info_classif if classification else mutual_info_regression

            def score(X: np.ndarray, y: np.ndarray) -> np.ndarray:
                return base(X, y, random_state=seed)

        percentile = 100.0 * float(config["selected_fraction"])
        pipeline.append(("select", SelectPercentile(score, percentile=percentile)))
    model = Pipeline(pipeline)
    with np.errstate(all="ignore"):
        train = model.fit_transform(X_train, y_train)
        rest = [model.transform(x) for x in others]
    return _f32(train), [_f32(x) for x in rest]


def _scaler(kind: str, n_train: int, seed: int) -> object | None:
    from sklearn.preprocessing import (
        MinMaxScaler,
        QuantileTransformer,
        RobustScaler,
        StandardScaler,
    )

    if kind == "none":
        return None
    if kind == "quantile":
        return QuantileTransformer(
            n_quantiles=min(1000, n_train), output_distribution="normal", random_state=seed
        )
    return {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}[kind]()


def _f32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)
