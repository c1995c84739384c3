"""Grid search: a coarse grid over the most influential knobs, in a fixed order.

Each model family has its own small grid (below); the grids are interleaved point by
point, so a budget smaller than the whole grid still visits every family, and the
first point is the default configuration. The search stops at the budget.
"""

from __future__ import annotations

import itertools
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


def _default_first(values: list[Any], default: Any) -> list[Any]:
    """Put the default's value first, keeping the others' order."""
    return sorted(values, key=lambda value: value != default)


def grid_points(space: Space) -> list[Config]:
    """Return the grid's configurations in visiting order, each distinct and valid."""
    family = "image" if space.family == "image" else "tabular"
    default = space.default()
    per_model = []
    for grid in GRIDS[family]:
        names = [n for n in grid if n in space]
        values = [grid[n] for n in names]
        if grid["model"] == [default["model"]]:  # the default's block starts at the default
            values = [_default_first(v, default[n]) for n, v in zip(names, values, strict=True)]
        combos = itertools.product(*values)
        per_model.append([dict(zip(names, combo, strict=True)) for combo in combos])
    points, seen = [default], {config_key(default)}
    for group in itertools.zip_longest(*per_model):
        for changes in group:
            if changes is None:
                continue
            config = space.apply(default, _clip(space, changes))
            if config_key(config) not in seen:
                seen.add(config_key(config))
                points.append(config)
    return points


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

    def __init__(self, space: Space, **_: Any) -> None:
        self.points = grid_points(space)
        self.next = 0

    def ask(self) -> Config | None:
        """Return the next grid point, or None when the grid is exhausted."""
        if self.next >= len(self.points):
            return None
        self.next += 1
        return self.points[self.next - 1]

    def tell(self, config: Config, score: float | None) -> None:
        """Ignore the score: a grid does not learn."""
