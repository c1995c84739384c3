"""The space shaped by the data: settings the data cannot take are clamped for every method.

A polynomial expansion past the feature limit, a leaf larger than half the training
split, a batch larger than the split, a log transform of a target that reaches -1: no
trial of any method should fail, or waste its budget, on a setting that could be known to
be impossible before it starts, nor on one known to change nothing: an imputation
strategy where no value is missing, class weights where the classes are equally frequent.
The shaped space is the one the Advisor's prompt shows and the samplers draw from.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from math import comb
from typing import Any

import numpy as np

from lgt_graph.space.family_space import Space
from lgt_graph.space.knob import Knob
from lgt_graph.tasks.sentinels import notes as sentinel_notes
from lgt_graph.tasks.sentinels import sentinel_columns

MAX_FEATURES = 5000
"""The most features a polynomial expansion may make (the trainer refuses more)."""


def polynomial_features(numeric: int, degree: int) -> int:
    """Return how many features a degree-``degree`` expansion makes from ``numeric`` columns."""
    return comb(numeric + degree, degree) - 1


def shaped(
    space: Space, rows: int, numeric: int, target_low: float | None = None
) -> tuple[Space, list[str]]:
    """Clamp the knobs to what ``rows`` training examples and ``numeric`` columns can take.

    ``target_low`` is a regression target's smallest training value: ``log1p`` needs every
    target above -1. Return the shaped space and one note per knob whose range changed.
    """
    notes: list[str] = []
    knobs = []
    for knob in space.knobs.values():
        if knob.name == "target_transform" and target_low is not None and target_low <= -1:
            knob = _without_log(knob, target_low, notes)
        high = _highest(knob, rows, numeric)
        if high is not None and knob.high is not None and high < knob.high:
            why = {
                "polynomial_degree": f"degree {int(high) + 1} would make"
                f" {polynomial_features(numeric, int(high) + 1)} features from {numeric} numeric"
                f" columns (limit {MAX_FEATURES})",
                "min_samples_leaf": f"half of the {rows} training examples",
                "batch_size": f"the {rows} training examples",
            }[knob.name]
            notes.append(f"space: {knob.name} at most {high:g} ({why})")
            low = min(float(knob.low or 0), high)
            default = min(max(float(knob.default), low), high)  # type: ignore[arg-type]
            cast = int if knob.kind == "int" else float
            knob = replace(knob, low=cast(low), high=cast(high), default=cast(default))
        knobs.append(knob)
    return Space(space.family, knobs), notes


def shaped_by_data(space: Space, data: Any, keep: Collection[str] = ()) -> tuple[Space, list[str]]:
    """Shape ``space`` by a task's training and validation splits; images pass unshaped.

    Knobs whose every value fits the same model on these splits are left out, but for those
    in ``keep`` (the user set them: their value must hold); configurations, and the final
    refit, then take the knob's default.
    """
    if data.task.family == "image":
        return space, []
    import pandas as pd

    frame = pd.DataFrame(data.X_train)
    numeric = sum(pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns)
    low = float(np.min(data.y_train)) if data.task.family == "tabular_regression" else None
    space, notes = shaped(space, len(data.y_train), numeric, low)
    found = sentinel_columns(frame)  # zeros that may stand for missing measurements
    notes += sentinel_notes(found)
    inert = {k: why for k, why in _inert(space, data, bool(found)).items() if k not in keep}
    notes += [f"space: {name} left out ({why})" for name, why in inert.items()]
    return space.without(inert), notes


def _inert(space: Space, data: Any, sentinels: bool = False) -> dict[str, str]:
    """Name the knobs of ``space`` whose every value fits the same model on the data, and why.

    ``sentinels``: some column's zeros look like missing values (:mod:`lgt_graph.tasks.sentinels`),
    which ``zeros_as_missing`` can turn into gaps for the imputation to fill.
    """
    import pandas as pd

    out = {}
    train, val = pd.DataFrame(data.X_train), pd.DataFrame(data.X_val)
    # the knob fills the numeric columns (as the trainer tells them); text takes the most frequent
    numeric = [c for c in train.columns if pd.api.types.is_numeric_dtype(train[c])]
    gaps = train[numeric].isna().to_numpy().any() or val[numeric].isna().to_numpy().any()
    if "zeros_as_missing" in space and not sentinels:
        out["zeros_as_missing"] = "no column has zeros that look like missing measurements"
    if "imputation" in space and not gaps and not sentinels:
        out["imputation"] = (
            "no number is missing in the training and validation rows: every strategy fits"
            " the same model; a gap in the held-out test rows is filled with the"
            f" {space['imputation'].default}"
        )
    classification = data.task.problem == "classification"
    counts = np.bincount(data.y_train, minlength=data.n_classes) if classification else None
    if "class_weighting" in space and counts is not None and counts.min() == counts.max():
        out["class_weighting"] = (
            f"the {len(counts)} classes are equally frequent in the training split ({counts[0]}"
            " examples each), so balanced weights are all 1"
        )
    return out


def _without_log(knob: Knob, target_low: float, notes: list[str]) -> Knob:
    """Drop ``log`` from the target transforms: the training target reaches ``target_low``."""
    if "log" not in knob.choices:
        return knob
    choices = tuple(c for c in knob.choices if c != "log")
    default = knob.default if knob.default in choices else choices[0]
    notes.append(
        f"space: target_transform without log (the training target reaches {target_low:.4g};"
        " log1p needs every target above -1)"
    )
    return replace(knob, choices=choices, default=default)


def _highest(knob: Knob, rows: int, numeric: int) -> float | None:
    """Return the largest value of ``knob`` the data can take; None where it sets no bound."""
    if knob.name == "polynomial_degree":
        degree = 1
        while degree < (knob.high or 1) and polynomial_features(numeric, degree + 1) <= (
            MAX_FEATURES
        ):
            degree += 1
        return float(degree)
    if knob.name == "min_samples_leaf":
        return float(max(1, rows // 2))
    if knob.name == "batch_size":
        return float(max(int(knob.low or 1), rows))
    return None
