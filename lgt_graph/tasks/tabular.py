"""Tabular datasets: iris, water potability, wine quality, house prices, California, any CSV.

Features stay a DataFrame with their missing values and categorical columns:
imputation, scaling and encoding are knobs of the configuration space, fitted on
the training split by the trainer, never here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lgt_graph.errors import UserError
from lgt_graph.tasks.base import Dataset, Problem
from lgt_graph.tasks.columns import (
    check_header,
    comma_hint,
    date_hint,
    decimal_commas,
    drop_columns,
    expand_dates,
    identifiers,
    numbers_with_gaps,
    unnamed,
)
from lgt_graph.tasks.files import first_match, missing

WATER_EXPECTED = "water/water_potability.csv (Kaggle's Water Potability file)"
WINE_EXPECTED = "wine/winequality-red.csv (UCI Wine Quality, ';'-separated)"
HOUSE_EXPECTED = (
    "house/housing_price_prediction/housing_price_dataset.csv"
    " (Kaggle's Housing Price Prediction Data, the paper's House Price set)"
)
CALIFORNIA_EXPECTED = "house/cal_housing.data (StatLib California housing, as scikit-learn uses)"
MAX_CATEGORIES = 50
"""A non-numeric feature with more distinct values than this is not one-hot encoded."""


def find_file(dirs: Sequence[Path], subdirs: Sequence[str], name: str) -> Path | None:
    """Return the first ``dir/subdir/name`` that exists."""
    found = first_match(dirs, subdirs, lambda p: (p / name).is_file())
    return found / name if found is not None else None


def load_iris(dirs: Sequence[Path]) -> Dataset:
    """Load Fisher's iris from scikit-learn's bundled copy."""
    from sklearn.datasets import load_iris as sk_load_iris

    bunch = sk_load_iris(as_frame=True)
    X = bunch.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    return Dataset(
        X=X,
        y=bunch.target.to_numpy(dtype=np.int64),
        classes=tuple(str(c) for c in bunch.target_names),
        source="sklearn.datasets.load_iris",
    )


def load_water(dirs: Sequence[Path]) -> Dataset:
    """Load water potability: 9 measurements, binary target, 1434 missing cells kept."""
    path = find_file(dirs, ("water", ""), "water_potability.csv")
    if path is None:
        raise missing(
            "water",
            dirs,
            WATER_EXPECTED,
            "It is published on Kaggle (adityakadiwal/water-potability), which needs a login.",
        )
    frame = _read_csv(path)
    return _split_target(frame, "Potability", "classification", source=str(path), name="water")


def load_wine(dirs: Sequence[Path]) -> Dataset:
    """Load red wine quality as a regression on the 0-10 quality score (the paper's framing)."""
    path = find_file(dirs, ("wine", ""), "winequality-red.csv")
    if path is None:
        raise missing(
            "wine",
            dirs,
            WINE_EXPECTED,
            "Or fetch it from UCI: python -m lgt_graph download wine",
        )
    frame = _read_csv(path, sep=";")
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    return _split_target(frame, "quality", "regression", source=str(path), name="wine")


CAL_COLUMNS = (
    "longitude",
    "latitude",
    "housing_median_age",
    "total_rooms",
    "total_bedrooms",
    "population",
    "households",
    "median_income",
    "median_house_value",
)


def load_house(dirs: Sequence[Path]) -> Dataset:
    """Load the paper's House Price set: 5 features, Neighborhood categorical, Price in $1000s."""
    path = find_file(
        dirs,
        ("house/housing_price_prediction", "housing_price_prediction", "house", ""),
        "housing_price_dataset.csv",
    )
    if path is None:
        raise missing(
            "house",
            dirs,
            HOUSE_EXPECTED,
            'It is Kaggle\'s "Housing Price Prediction Data", which needs a login.',
        )
    frame = _read_csv(path)
    frame["Price"] = frame["Price"] / 1000.0
    return _split_target(
        frame, "Price", "regression", source=f"{path} (target: Price in $1000s)", name="house"
    )


def load_california(dirs: Sequence[Path]) -> Dataset:
    """Load California housing with scikit-learn's eight features, the target in $1000s."""
    path = find_file(dirs, ("house", "california", ""), "cal_housing.data")
    if path is None:
        raise missing(
            "california",
            dirs,
            CALIFORNIA_EXPECTED,
            "Or fetch it (scikit-learn's source): python -m lgt_graph download california",
        )
    raw = pd.read_csv(path, header=None, names=list(CAL_COLUMNS))
    X = pd.DataFrame(
        {
            "MedInc": raw["median_income"],
            "HouseAge": raw["housing_median_age"],
            "AveRooms": raw["total_rooms"] / raw["households"],
            "AveBedrms": raw["total_bedrooms"] / raw["households"],
            "Population": raw["population"],
            "AveOccup": raw["population"] / raw["households"],
            "Latitude": raw["latitude"],
            "Longitude": raw["longitude"],
        }
    )
    y = (raw["median_house_value"] / 1000.0).to_numpy(dtype=np.float64)
    return Dataset(X=X, y=y, source=f"{path} (target: median house value in $1000s)")


def infer_problem(target: pd.Series) -> Problem:
    """Guess classification or regression from a target column.

    Non-numeric and boolean targets are classes; integer targets with at most 20
    distinct values are classes too; anything else is a regression target.
    """
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return "classification"
    values = target.dropna()
    integral = bool(np.all(np.mod(values, 1) == 0))
    return "classification" if integral and values.nunique() <= 20 else "regression"


def load_csv(path: Path, target: str, problem: Problem | None, drop: Sequence[str] = ()) -> Dataset:
    """Load a user's CSV: ``target`` is the label column, every other column a feature.

    The ``drop`` columns are left out; numbers written with decimal commas, or with
    blanks and a few tokens among them, are read as numbers; dates become their numeric
    parts; columns that only name rows (IDs), and unnamed ones without values, are dropped.
    Each change is a note; a header that names a column twice is refused.
    """
    frame = _read_csv(path)
    if target not in frame.columns:
        raise UserError(
            f"{path}: no column {target!r}; columns: {', '.join(map(str, frame.columns))}"
        )
    frame = drop_columns(frame, drop, target)
    notes = decimal_commas(frame) + numbers_with_gaps(frame, skip=target)
    frame, dates = expand_dates(frame, skip=target)
    frame, ids = identifiers(frame, skip=target)
    frame, nameless = unnamed(frame, skip=target)
    notes += dates + ids + nameless
    data = _split_target(frame, target, problem, source=str(path), name=f"csv:{path}")
    data.notes[:0] = notes
    return data


def _read_csv(path: Path, sep: str | None = None) -> pd.DataFrame:
    try:
        sep = sep or ","
        frame = pd.read_csv(path, sep=sep)
        if sep == "," and frame.shape[1] == 1:
            # A one-column read of a file whose header holds ; or tabs: European CSV or TSV.
            for other in (";", "\t"):
                if other in str(frame.columns[0]):
                    sep = other
                    frame = pd.read_csv(path, sep=sep)
                    break
        # The header as written: pandas renames a repeated name (a, a.1) in ``frame``.
        header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except PermissionError:
        raise UserError(f"{path}: not readable (permission denied)") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a readable CSV file ({exc})") from None
    if frame.empty:
        raise UserError(f"{path}: the file has no data rows")
    check_header(path, header.iloc[0].tolist(), list(frame.columns))
    return frame


def _split_target(
    frame: pd.DataFrame, target: str, problem: Problem | None, source: str, name: str
) -> Dataset:
    labels = frame[target]
    features = frame.drop(columns=[target])
    keep = labels.notna().to_numpy()
    if not keep.any():
        raise UserError(f"{name}: the target column {target!r} is empty")
    labels, features = labels[keep], features[keep].reset_index(drop=True)
    notes = []
    if not keep.all():
        dropped = int((~keep).sum())
        notes.append(
            f"{dropped} of {len(keep)} rows ({dropped / len(keep):.0%}) have no {target!r}"
            " value and were dropped"
        )
    if features.shape[1] == 0:
        raise UserError(f"{name}: no feature columns besides the target {target!r}")
    _check_features(features, name)
    kind = problem or infer_problem(labels)
    if kind == "regression":
        if not pd.api.types.is_numeric_dtype(labels):
            raise UserError(
                f"{name}: regression needs a numeric target; {target!r} is not" + comma_hint(labels)
            )
        return Dataset(X=features, y=labels.to_numpy(dtype=np.float64), source=source, notes=notes)
    classes = sorted(labels.astype(str).unique(), key=_natural)
    lookup = {c: i for i, c in enumerate(classes)}
    y = labels.astype(str).map(lookup).to_numpy(dtype=np.int64)
    return Dataset(X=features, y=y, classes=tuple(classes), source=source, notes=notes)


def _check_features(features: pd.DataFrame, name: str) -> None:
    for column in features.columns:
        series = features[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        levels = series.nunique(dropna=True)
        if levels > MAX_CATEGORIES:
            raise UserError(
                f"{name}: column {column!r} is not numeric and has {levels} distinct values"
                f" (at most {MAX_CATEGORIES} are one-hot encoded); leave it out with"
                f" --drop {column} or encode it first" + (comma_hint(series) or date_hint(series))
            )


def _natural(label: str) -> tuple[int, float | str]:
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)
