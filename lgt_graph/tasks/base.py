"""What a task is, and how its data is split into train, validation and test.

The splits are a function of the seed alone. The test split is carried in
``TaskData`` for the final score and nothing else: tuners read ``train`` and
``val`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np
import pandas as pd

from lgt_graph.errors import UserError
from lgt_graph.evaluation.metrics import DIRECTIONS, Direction
from lgt_graph.space import Family

Problem = Literal["classification", "regression"]
Features: TypeAlias = np.ndarray | pd.DataFrame


@dataclass
class Dataset:
    """Loaded examples of a task; ``X_test`` is set when the dataset ships a test split.

    Images are ``uint8`` arrays shaped (N, C, H, W); tabular features are a
    DataFrame, which keeps categorical columns and missing values as they are.
    """

    X: Features
    y: np.ndarray
    X_test: Features | None = None
    y_test: np.ndarray | None = None
    classes: tuple[str, ...] = ()
    source: str = ""
    notes: list[str] = field(default_factory=list)
    """What loading changed that the user should hear of (rows dropped, say)."""


@dataclass(frozen=True)
class Task:
    """A named learning problem: its data, its family, and how it is scored."""

    name: str
    family: Family
    description: str
    loader: Callable[[Sequence[Path]], Dataset]
    expected: str
    """The files the loader looks for, as told to a user whose data is missing."""
    available: Callable[[Sequence[Path]], bool]
    metrics: tuple[str, ...]
    primary: str
    val_fraction: float = 0.2
    test_fraction: float = 0.2

    @property
    def problem(self) -> Problem:
        """Say whether the task is classification or regression."""
        return "regression" if self.family == "tabular_regression" else "classification"

    @property
    def direction(self) -> Direction:
        """Say whether the primary metric is maximised or minimised."""
        return DIRECTIONS[self.primary]


class SealedSplitError(RuntimeError):
    """Code read the test split while tuning: our bug, never the user's."""


@dataclass
class HeldOutSplit:
    """The held-out examples: readable only inside :meth:`TaskData.open_test`."""

    X: Features
    y: np.ndarray
    is_open: bool = False


@dataclass
class TaskData:
    """A task's examples split by a seed; what every trial of a session trains on.

    The test split is sealed: reading ``X_test`` or ``y_test`` raises
    :class:`SealedSplitError` except inside ``with data.open_test():``, which only the
    final refit of a session's best configuration enters. So no tuner, node or
    baseline can look at it, by construction.
    """

    task: Task
    seed: int
    X_train: Features
    y_train: np.ndarray
    X_val: Features
    y_val: np.ndarray
    test_split: HeldOutSplit
    classes: tuple[str, ...] = ()
    source: str = ""
    notes: list[str] = field(default_factory=list)
    index: dict[str, np.ndarray] = field(default_factory=dict)
    """Row numbers of each split in the loaded dataset (test: in its own test set, if any)."""

    @property
    def n_classes(self) -> int:
        """Return the number of classes (0 for regression)."""
        return len(self.classes)

    @property
    def n_test(self) -> int:
        """Return the size of the test split (its size is no secret; its examples are)."""
        return len(self.test_split.y)

    @property
    def X_test(self) -> Features:
        """Return the test features; only inside :meth:`open_test`."""
        return self._opened().X

    @property
    def y_test(self) -> np.ndarray:
        """Return the test targets; only inside :meth:`open_test`."""
        return self._opened().y

    def _opened(self) -> HeldOutSplit:
        if not self.test_split.is_open:
            raise SealedSplitError(
                f"{self.task.name}: the test split was read during tuning; only the final"
                " refit (the finalize node) may score it"
            )
        return self.test_split

    @contextmanager
    def open_test(self) -> Iterator[None]:
        """Let the code inside read the test split: the final score, and nothing else."""
        was = self.test_split.is_open
        self.test_split.is_open = True
        try:
            yield
        finally:
            self.test_split.is_open = was

    def summary(self) -> dict[str, object]:
        """Return the sizes and shapes a user checks before trusting a run."""
        shape = tuple(self.X_train.shape[1:])
        return {
            "task": self.task.name,
            "family": self.task.family,
            "train": len(self.y_train),
            "val": len(self.y_val),
            "test": self.n_test,
            "input_shape": shape,
            "classes": len(self.classes),
            "source": self.source,
        }


MIN_ROWS = 10
"""Fewer rows leave a split with one example or none: nothing to train or score on."""


def split(
    task: Task, dataset: Dataset, seed: int, max_train_samples: int | None = None
) -> TaskData:
    """Split a dataset into train, validation and test, deterministically from ``seed``.

    Classification splits are stratified. A dataset with its own test split keeps
    it; otherwise ``task.test_fraction`` of the examples are held out first. The
    validation split is then cut from what remains, and ``max_train_samples``
    subsamples (stratified) only the training split.
    """
    if len(dataset.y) == 0:
        raise UserError(f"{task.name}: the dataset has no rows")
    stratify = task.problem == "classification"
    if stratify:
        _check_classes(task.name, dataset.y, dataset.classes)
    if dataset.y_test is None and len(dataset.y) < MIN_ROWS:
        raise UserError(
            f"{task.name}: {len(dataset.y)} rows; at least {MIN_ROWS} are needed to hold out"
            " a test split and a validation split and still train on something"
        )
    rng = np.random.default_rng(seed)
    index = np.arange(len(dataset.y))
    if dataset.X_test is not None and dataset.y_test is not None:
        X_test, y_test = dataset.X_test, dataset.y_test
        rest, test = index, np.arange(len(y_test))
    else:
        rest, test = _cut(index, dataset.y, task.test_fraction, stratify, rng)
        test = np.sort(test)
        X_test, y_test = _take(dataset.X, test), dataset.y[test]
    train, val = _cut(rest, dataset.y, task.val_fraction, stratify, rng)
    notes = list(dataset.notes)
    if max_train_samples is not None:
        if max_train_samples < 1:
            raise UserError("--max-train-samples must be at least 1")
        if max_train_samples < len(train):
            keep = max_train_samples / len(train)
            _, train = _cut(train, dataset.y, keep, stratify, rng, at_least_one=False)
            notes.append(f"training split subsampled to {len(train)} examples")
    train = np.sort(train)
    val = np.sort(val)
    return TaskData(
        task=task,
        seed=seed,
        X_train=_take(dataset.X, train),
        y_train=dataset.y[train],
        X_val=_take(dataset.X, val),
        y_val=dataset.y[val],
        test_split=HeldOutSplit(X_test, y_test),
        classes=dataset.classes,
        source=dataset.source,
        notes=notes,
        index={"train": train, "val": val, "test": test},
    )


def _cut(
    index: np.ndarray,
    y: np.ndarray,
    fraction: float,
    stratify: bool,
    rng: np.random.Generator,
    at_least_one: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``index`` into (rest, part) with ``fraction`` of each class in ``part``.

    The part's size is ``round(len(index) * fraction)``; classes get their share by
    largest remainder, so stratification does not change the total.
    """
    groups = [index[y[index] == c] for c in np.unique(y[index])] if stratify else [index]
    sizes = np.array([len(g) for g in groups])
    ideal = sizes * fraction
    take = np.floor(ideal).astype(int)
    short = round(len(index) * fraction) - int(take.sum())
    for i in np.argsort(-(ideal - take), kind="stable")[: max(short, 0)]:
        take[i] += 1
    if at_least_one:
        take = np.where(sizes > 1, np.clip(take, 1, sizes - 1), take)
    rest, part = [], []
    for group, n in zip(groups, take, strict=True):
        shuffled = rng.permutation(group)
        part.append(shuffled[:n])
        rest.append(shuffled[n:])
    return np.concatenate(rest), np.concatenate(part)


def _take(X: Features, rows: np.ndarray) -> Features:
    if isinstance(X, pd.DataFrame):
        return X.iloc[rows].reset_index(drop=True)
    return X[rows]


def _check_classes(name: str, y: np.ndarray, classes: Sequence[str] | None = None) -> None:
    values, counts = np.unique(y, return_counts=True)
    labels = [str(classes[int(v)]) if classes else str(v) for v in values]
    if len(values) < 2:
        raise UserError(f"{name}: the target has a single class ({labels[0]}); nothing to learn")
    if counts.min() < 3:
        rare = ", ".join(v for v, c in zip(labels, counts, strict=True) if c < 3)
        raise UserError(
            f"{name}: classes {rare} have fewer than 3 examples; a stratified"
            " train/validation/test split needs at least 3 of each"
        )
