"""Grid search: a coarse grid over the most influential knobs, in a space-filling order.

Each model family has its own small grid (below). The first point is the default
configuration; each next one is the grid point farthest from every point visited so far
(farthest-point traversal), ties broken in an order fixed by the seed. Families lie
farther apart than any two points of one family, so the search visits one point of
every family first, then spreads inside them: a budget smaller than the grid sees a
spread-out sample of it, never one family's corner. The search stops at the budget.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

from lgt_graph.space import Config, Space, config_key

GRIDS: dict[str, list[dict[str, list[Any]]]] = {
    "image": [
        {"model": ["mlp"], "optimizer": ["sgd", "adam"], "learning_rate": [0.01, 0.001]},
        {
            "model": ["cnn"],
            "optimizer": ["sgd", "adam"],
            "learning_rate": [0.01, 0.001],
            "batch_norm": [False, True],
        },
        {"model": ["resnet"], "optimizer": ["sgd", "adam"], "learning_rate": [0.01, 0.001]},
    ],
    "tabular": [
        {
            "model": ["mlp"],
            "scaling": ["none", "standard"],
            "learning_rate": [0.001, 0.01],
            "width": [64, 256],
        },
        {
            "model": ["gbm"],
            "learning_rate": [0.1, 0.03],
            "n_estimators": [100, 300],
            "min_samples_leaf": [20, 5],
        },
        {"model": ["random_forest"], "n_estimators": [100, 300], "min_samples_leaf": [1, 5]},
        {"model": ["linear"], "scaling": ["standard", "none"], "l2_penalty": [1.0, 0.1, 10.0]},
    ],
}


def grid_points(space: Space, seed: int = 0) -> list[Config]:
    """Return the grid's configurations in visiting order, each distinct and valid."""
    family = "image" if space.family == "image" else "tabular"
    default = space.default()
    points, seen = [], {config_key(default)}
    for grid in GRIDS[family]:
        names = [n for n in grid if n in space]
        for combo in itertools.product(*(grid[n] for n in names)):
            config = space.apply(default, _clip(space, dict(zip(names, combo, strict=True))))
            if config_key(config) not in seen:
                seen.add(config_key(config))
                points.append(config)
    random.Random(f"grid:{seed}").shuffle(points)  # the seed's order of equally far points
    knobs = sorted({n for grid in GRIDS[family] for n in grid if n in space and n != "model"})
    order = [default]
    nearest = [distance(space, knobs, default, p) for p in points]
    while points:
        far = max(range(len(points)), key=lambda i: nearest[i])  # the first of the farthest
        chosen = points.pop(far)
        nearest.pop(far)
        order.append(chosen)
        nearest = [
            min(d, distance(space, knobs, chosen, p)) for d, p in zip(nearest, points, strict=True)
        ]
    return order


def distance(space: Space, knobs: list[str], a: Config, b: Config) -> float:
    """Return how far apart two configurations are over the grid's knobs.

    A numeric knob adds its difference as a fraction of its range (on the log scale for a
    log knob); a choice or switch adds 1 when it differs. Configurations of two model
    families are farther apart than any two of one family.
    """
    if a["model"] != b["model"]:
        return len(knobs) + 1.0
    total = 0.0
    for name in knobs:
        knob = space[name]
        if knob.kind in ("int", "float") and knob.low is not None and knob.high is not None:
            scale = math.log if knob.log else float
            low, high = scale(knob.low), scale(knob.high)
            span = (high - low) or 1.0
            total += abs(scale(float(a[name])) - scale(float(b[name]))) / span
        else:
            total += float(a[name] != b[name])
    return total


def _clip(space: Space, changes: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in changes.items():
        knob = space[name]
        if knob.kind in ("int", "float") and knob.high is not None and value > knob.high:
            value = knob.high  # a --limit lowered the range below the grid point
        out[name] = value
    return out


class GridSearch:
    """Visit the grid in order until the budget is spent."""

    def __init__(self, space: Space, seed: int = 0, **_: Any) -> None:
        self.points = grid_points(space, seed)
        self.next = 0

    def ask(self) -> Config | None:
        """Return the next grid point, or None when the grid is exhausted."""
        if self.next >= len(self.points):
            return None
        self.next += 1
        return self.points[self.next - 1]

    def tell(self, config: Config, score: float | None) -> None:
        """Ignore the score: a grid does not learn."""
