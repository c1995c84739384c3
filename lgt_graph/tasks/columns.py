"""What a user's columns hold: IDs, numbers with gaps or decimal commas, and dates.

Each reader returns one note per column it changed or left out, which the session prints
at its start. Models take numbers: a date column becomes its numeric
parts (year, month, day, weekday, and the hour when the values have times), and one whose
values cannot be read as dates consistently is dropped, with a note either way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from lgt_graph.errors import UserError

DATE = re.compile(
    r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?"
)
"""A date as CSV files write them: 2024-03-01, 01/03/2024, 1.3.24, with an optional time."""

LOOKS = 0.9
"""The share of a column's values that must look like dates for it to be read as dates."""

READABLE = 0.9
"""The share that must then parse; a column below it is dropped rather than half read."""


def decimal_commas(frame: pd.DataFrame) -> list[str]:
    """Read text columns of numbers written with decimal commas (3,14) as numbers, in place."""
    notes = []
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series):
            continue
        text = series.dropna().astype(str).str.strip()
        if not len(text) or not text.str.contains(",").any():
            continue
        if text.str.fullmatch(r"-?\d+(,\d+)?").all():
            frame[column] = pd.to_numeric(series.astype(str).str.replace(",", "."), errors="coerce")
            notes.append(f"column {column!r} holds numbers with decimal commas: read as numbers")
    return notes


def comma_hint(series: pd.Series) -> str:
    """Say so when a text column holds numbers written with decimal commas."""
    sample = series.dropna().astype(str).head(200)
    if len(sample) and sample.str.fullmatch(r"\s*-?\d+,\d+\s*").mean() > 0.5:
        return (
            " (its values look like numbers with decimal commas, as in 3,14: save the CSV"
            " with decimal points, or with ; between columns so that , is read as the decimal"
            " mark)"
        )
    return ""


def date_hint(series: pd.Series) -> str:
    """Say so when many of a text column's values look like dates."""
    sample = series.dropna().astype(str).str.strip().head(200)
    if len(sample) and sample.str.fullmatch(DATE).mean() > 0.5:
        return (
            " (many of its values look like dates: write them all as YYYY-MM-DD to have them"
            " read as dates)"
        )
    return ""


def expand_dates(frame: pd.DataFrame, skip: str) -> tuple[pd.DataFrame, list[str]]:
    """Replace each date column but ``skip`` by its numeric parts; return the frame and notes.

    A column is a date column when at least :data:`LOOKS` of its values look like dates.
    The day comes first when a value's first field cannot be a month (25/12/2024) or,
    when no value settles it, when the fields are separated by dots (the European way).
    """
    notes: list[str] = []
    columns: dict[str, pd.Series] = {}
    for column in frame.columns:
        series = frame[column]
        text = series.dropna().astype(str).str.strip()
        if (
            column == skip
            or pd.api.types.is_numeric_dtype(series)
            or pd.api.types.is_bool_dtype(series)
            or not len(text)
            or text.str.fullmatch(DATE).mean() < LOOKS
        ):
            columns[str(column)] = series
            continue
        parsed = pd.to_datetime(
            series.astype("string").str.strip(),
            errors="coerce",
            format="mixed",
            dayfirst=_day_first(text),
            utc=True,
        )
        read = int(parsed.notna().sum())
        if read < READABLE * len(text):
            notes.append(
                f"column {column!r} looks like dates, but {len(text) - read} of {len(text)}"
                " values could not be read as dates: dropped (write them as YYYY-MM-DD to keep"
                " it)"
            )
            continue
        parts = {
            "year": parsed.dt.year,
            "month": parsed.dt.month,
            "day": parsed.dt.day,
            "weekday": parsed.dt.day_of_week,
        }
        known = parsed.dropna()
        if bool(((known.dt.hour != 0) | (known.dt.minute != 0)).any()):
            parts["hour"] = parsed.dt.hour + parsed.dt.minute / 60.0
        names = []
        for part, values in parts.items():
            name = f"{column}_{part}"
            while name in frame.columns or name in columns:
                name += "_"
            columns[name] = values.astype("float64")
            names.append(name)
        unread = f"; {len(text) - read} unreadable values are missing" if read < len(text) else ""
        notes.append(f"column {column!r} holds dates: expanded into {', '.join(names)}{unread}")
    if not notes:
        return frame, notes
    return pd.DataFrame(columns, index=frame.index), notes


def _day_first(text: pd.Series) -> bool:
    """Guess whether dates like 01/02/2024 put the day first."""
    fields = text.str.extract(r"^(\d{1,4})[-/.](\d{1,2})[-/.]")
    first = pd.to_numeric(fields[0], errors="coerce")
    second = pd.to_numeric(fields[1], errors="coerce")
    if (first > 31).any():  # the year comes first: ISO order
        return False
    if (first > 12).any():
        return True
    if (second > 12).any():
        return False
    return bool(text.str.contains(r"^\d{1,2}\.\d{1,2}\.", regex=True).mean() > 0.5)


SAVED_INDEX = re.compile(r"Unnamed: \d+")
"""The name pandas gives a column the header leaves unnamed; the first one is a saved row index."""

MAX_TOKENS = 5
"""A numeric column may hold at most this many distinct non-numbers (?, n/a, -) to be coerced."""


def check_header(path: Path, header: Sequence[str], read: Sequence[object]) -> None:
    """Refuse a header that names a column more than once, naming the repeats and their columns.

    pandas would rename the copies (``a``, ``a.1``) without a word, so ``--target a`` left
    the other copy in as a feature. ``header`` is the header as written, ``read`` the names
    pandas gave; names equal but for surrounding spaces count as the same name.
    """
    places: dict[str, list[int]] = {}
    for position, name in enumerate(header):
        if name.strip():  # pandas gives each unnamed column a name of its own
            places.setdefault(name.strip(), []).append(position)
    repeated = {name: where for name, where in places.items() if len(where) > 1}
    if not repeated:
        return
    parts = []
    for name, where in repeated.items():
        renamed = ""
        if len(read) == len(header):
            renamed = f", which pandas would read as {_listed(repr(str(read[i])) for i in where)}"
        parts.append(f"{name!r} (columns {_listed(str(i + 1) for i in where)}{renamed})")
    raise UserError(
        f"{path}: the header names {'a column' if len(parts) == 1 else 'columns'} more than"
        f" once: {'; '.join(parts)}; give each column a name of its own"
    )


def _listed(items: Iterable[str]) -> str:
    words = list(items)
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


def unnamed(frame: pd.DataFrame, skip: str) -> tuple[pd.DataFrame, list[str]]:
    """Drop the columns the header leaves unnamed that hold nothing; name the others in a note.

    A delimiter at the end of every line makes an unnamed, empty column; one with values
    is kept under the name pandas gives it, which the note tells (for ``--drop``).
    """
    notes = []
    empty = []
    for column in frame.columns:
        if column == skip or not SAVED_INDEX.fullmatch(str(column)):
            continue
        if frame[column].isna().all():
            empty.append(column)
            notes.append(f"column {column!r} has no name in the header and no values: dropped")
        else:
            notes.append(
                f"column {column!r} has no name in the header: kept under the name pandas"
                f" gives it (--drop '{column}' leaves it out)"
            )
    return (frame.drop(columns=empty) if empty else frame), notes


def drop_columns(frame: pd.DataFrame, drop: Sequence[str], target: str) -> pd.DataFrame:
    """Leave out the ``--drop`` columns; name the columns there are when one is not."""
    missing = [c for c in drop if c not in frame.columns]
    if missing:
        raise UserError(
            f"--drop {','.join(missing)}: no such column; columns:"
            f" {', '.join(map(str, frame.columns))}"
        )
    if target in drop:
        raise UserError(f"--drop {target}: that is the target column")
    return frame.drop(columns=list(drop))


def identifiers(frame: pd.DataFrame, skip: str) -> tuple[pd.DataFrame, list[str]]:
    """Drop the columns that only name rows: text unique per row, or a saved row index."""
    notes = []
    dropped = []
    rows = len(frame)
    for column in frame.columns:
        if column == skip:
            continue
        series = frame[column]
        values = series.dropna()
        if len(values) < rows or rows < 10 or values.nunique() < rows:
            continue
        numeric = pd.api.types.is_numeric_dtype(series)
        if not numeric:
            dropped.append(column)
            notes.append(f"column {column!r} holds a different text in every row (an ID): dropped")
        elif SAVED_INDEX.fullmatch(str(column)) and _running(values):
            dropped.append(column)
            notes.append(f"column {column!r} is a saved row index (0, 1, 2, …): dropped")
    return (frame.drop(columns=dropped) if dropped else frame), notes


def numbers_with_gaps(frame: pd.DataFrame, skip: str) -> list[str]:
    """Read text columns that are numbers but for blanks or a few tokens as numbers, in place.

    Blank cells and tokens such as ``?`` or ``n/a`` become missing values, which the
    configuration's imputation fills; the note says how many and which tokens.
    """
    notes = []
    for column in frame.columns:
        series = frame[column]
        if column == skip or pd.api.types.is_numeric_dtype(series):
            continue
        text = series.dropna().astype(str).str.strip()
        filled = text[text != ""]
        if not len(filled):
            continue
        numbers = pd.to_numeric(filled, errors="coerce")
        tokens = filled[numbers.isna()]
        if numbers.notna().mean() < 0.9 or tokens.nunique() > MAX_TOKENS:
            continue
        frame[column] = pd.to_numeric(series.astype(str).str.strip(), errors="coerce").astype(
            "float64"
        )
        blanks = int((text == "").sum())
        parts = [f"{blanks} blank cells"] if blanks else []
        if len(tokens):
            shown = ", ".join(repr(t) for t in sorted(tokens.unique())[:MAX_TOKENS])
            parts.append(f"{len(tokens)} cells of {shown}")
        notes.append(
            f"column {column!r} holds numbers but for {' and '.join(parts)}: read as numbers,"
            " those cells as missing"
        )
    return notes


def _running(values: pd.Series) -> bool:
    """Say whether integer values are consecutive: 0, 1, 2, … in some order."""
    ordered = values.sort_values().to_numpy()
    if not (ordered == ordered.astype("int64")).all():
        return False
    return bool((pd.Series(ordered).diff().dropna() == 1).all())
