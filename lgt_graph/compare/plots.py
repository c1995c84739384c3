"""Draw a comparison's curves: best validation by trial, and anytime by seconds and epochs.

A panel per task, a line per method. The anytime curves put every method on the cost it
spent (seconds of training, epochs trained) instead of its trial count, so a method whose
trials are cheap or dear is seen at its price; the seeds are a band around their mean.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lgt_graph.compare.rows import Row
from lgt_graph.graph.methods import METHODS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ANYTIME = {"seconds": "seconds of training", "epochs": "epochs trained"}
"""The anytime curves' x axes: the :class:`Row` field ``<key>_at`` and its label."""
FILES = {axis: f"anytime_{axis}.png" for axis in ANYTIME}
"""The file each anytime figure is written to, beside curves.png."""
POINTS = 200
"""Grid points of a seconds axis (an epochs axis takes every whole epoch)."""


def plot_curves(rows: list[Row], path: Path) -> None:
    """Plot the best validation metric against the trial number, a panel per task."""
    tasks = list(dict.fromkeys(r.task for r in rows))
    fig, axes = _panels(len(tasks))
    for ax, task in zip(axes, tasks, strict=False):
        group = [r for r in rows if r.task == task]
        longest = max(len(r.curve) for r in group)
        for method in dict.fromkeys(r.method for r in group):
            curves = [r.curve for r in group if r.method == method]
            mean = []
            for i in range(longest):
                # a session that stopped early keeps its last best
                ends = [c[min(i, len(c) - 1)] for c in curves if c]
                points = [p for p in ends if p is not None]
                mean.append(statistics.fmean(points) if points else math.nan)
            markers: dict[str, Any] = {} if method == "none" else {"marker": "o", "markersize": 3}
            ax.plot(range(1, longest + 1), mean, **_style(method), **markers)
        _label(ax, task, "epochs trained" if any(r.epochs for r in group) else "trial", group)
    _save(fig, axes, len(tasks), path)


def plot_anytime(rows: list[Row], path: Path, axis: str) -> None:
    """Plot the best validation metric so far against ``axis`` (seconds or epochs).

    Each seed's best so far is a step function of its cost, read on a grid common to the
    task; the line is the mean over seeds and the band their range (min to max). A seed
    without a scored trial is left out; the line starts once every other seed has a score.
    """
    tasks = list(dict.fromkeys(r.task for r in rows))
    fig, axes = _panels(len(tasks))
    for ax, task in zip(axes, tasks, strict=False):
        group = [r for r in rows if r.task == task]
        costs = {id(r): getattr(r, f"{axis}_at") for r in group}
        scored = [r for r in group if costs[id(r)] and any(b is not None for b in r.best_at)]
        if not scored:
            ax.text(0.5, 0.5, "no per-trial costs recorded", ha="center", transform=ax.transAxes)
        else:
            end = max(costs[id(r)][-1] for r in scored)
            grid = np.arange(end + 1) if axis == "epochs" else np.linspace(0, end, POINTS)
            for method in dict.fromkeys(r.method for r in scored):
                seeds = [
                    step_on_grid(costs[id(r)], r.best_at, grid)
                    for r in scored
                    if r.method == method
                ]
                (line,) = ax.plot(
                    grid, np.mean(seeds, axis=0), drawstyle="steps-post", **_style(method)
                )
                low, high = np.min(seeds, axis=0), np.max(seeds, axis=0)
                ax.fill_between(grid, low, high, step="post", alpha=0.15, color=line.get_color())
        _label(ax, task, ANYTIME[axis], group)
    _save(fig, axes, len(tasks), path)


def step_on_grid(
    costs: Sequence[float], values: Sequence[float | None], grid: np.ndarray
) -> np.ndarray:
    """Read a step function on ``grid``: at x, the value of the last cost at most x.

    NaN before the first cost and where the value is None (nothing scored yet); after
    the last cost the last value holds (a finished session keeps its best).
    """
    at = np.searchsorted(np.asarray(costs, dtype=float), grid, side="right") - 1
    known = np.array([math.nan if v is None else v for v in values], dtype=float)
    return np.where(at >= 0, known[np.maximum(at, 0)], math.nan)


def _style(method: str) -> dict[str, Any]:
    """Return a method's line style: NoTuning dashed, LGT bold."""
    return {
        "label": METHODS[method].title,
        "linewidth": 2.5 if method == "lgt" else 1.2,
        "linestyle": "--" if method == "none" else "-",
    }


def _panels(count: int) -> tuple[Figure, list[Axes]]:
    """Return a figure with ``count`` panels, three a row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = max(1, min(3, count))
    nrows = max(1, math.ceil(count / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.6 * nrows), squeeze=False)
    return fig, list(axes.flat)


def _label(ax: Axes, task: str, xlabel: str, group: list[Row]) -> None:
    ax.set_title(task)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"best val {group[0].primary}")
    ax.grid(alpha=0.3)


def _save(fig: Figure, axes: list[Axes], used: int, path: Path) -> None:
    """Hide the panels no task took, add the legend, write the figure and close it."""
    import matplotlib.pyplot as plt

    for ax in axes[used:]:
        ax.axis("off")
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
