"""Zeros that stand for missing measurements: found in the training split, by shape alone.

Exports often write a missing blood pressure, an unrecorded area or a skipped reading as
0. Such a column has a cluster of exact zeros far below every other value: a continuous,
positive measurement whose smallest real value sits well above 0, with nothing in
between. A count (children 0-5) or a measurement that runs down to 0 has no such gap and
is left alone. The data note names each column; the ``zeros_as_missing`` knob treats its
zeros as missing, to be filled by the ``imputation`` knob — and it stays a knob, because
a 0 can also be true (no garage: a garage area of 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

MIN_SHARE, MAX_SHARE = 0.005, 0.5
"""Zeros must be at least this share of a column's values, and at most this."""
MIN_DISTINCT = 10
"""Distinct non-zero values a column needs to be read as a measurement, not a count."""
GAP_STEPS = 5
"""The smallest non-zero value must lie this many typical steps (between neighbouring
distinct values) above 0."""
GAP_OF_MEDIAN = 0.1
"""...and at least this share of the non-zero median."""


def sentinel_columns(frame: Any) -> dict[str, dict[str, float]]:
    """Return the numeric columns whose zeros look like missing values, with the evidence."""
    table = pd.DataFrame(frame)
    out: dict[str, dict[str, float]] = {}
    for name in table.columns:
        column = table[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            continue
        values = column.dropna().to_numpy(dtype=float)
        if not len(values):
            continue
        zeros = float(np.mean(values == 0))
        rest = values[values != 0]
        if not (MIN_SHARE <= zeros <= MAX_SHARE) or (rest < 0).any():
            continue
        distinct = np.unique(rest)
        if len(distinct) < MIN_DISTINCT:
            continue
        step = float(np.median(np.diff(distinct)))
        low, median = float(distinct[0]), float(np.median(rest))
        if low > GAP_STEPS * step and low >= GAP_OF_MEDIAN * median:
            out[str(name)] = {"zeros": int(np.sum(values == 0)), "share": zeros,
                              "smallest": low, "median": median}  # fmt: skip
    return out


def notes(found: dict[str, dict[str, float]]) -> list[str]:
    """Say, one line per column, which zeros may stand for missing values."""
    return [
        f"column {name!r}: {e['zeros']} zeros ({e['share']:.1%}) while every other value is at"
        f" least {e['smallest']:.4g} (median {e['median']:.4g}): zeros that may stand for missing"
        " measurements (the knob zeros_as_missing treats them as missing, for the imputation"
        " knob to fill)"
        for name, e in found.items()
    ]


def as_missing(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Return ``frame`` with the zeros of ``columns`` replaced by missing values."""
    out = frame.copy()
    for name in columns:
        if name in out.columns:
            out[name] = out[name].mask(out[name] == 0)
    return out
