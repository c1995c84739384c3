"""Say whether LGT's lead is more than seed noise: paired bootstrap intervals, average ranks.

The same seed is the same data split for every method, so LGT's test score and a
baseline's are paired by seed, and the question is whether the mean of the seeds'
differences is away from 0. The interval is a percentile bootstrap over seeds: with few
seeds it is narrow (it never leaves the range of the seeds' differences), so a ``win``
says that every resample of these seeds favours LGT, not that a new seed would.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lgt_graph.compare.rows import Row
from lgt_graph.evaluation.metrics import gain, oriented
from lgt_graph.graph.methods import METHODS

LEVEL = 0.95
"""The confidence level of every interval."""
EXACT = 100_000
"""Take every one of the n**n ordered resamples when there are at most this many (n ≤ 6)."""
RESAMPLES = 10_000
"""Resamples drawn (from ``default_rng(SEED)``) when there are more seeds than that."""
SEED = 0
"""The bootstrap's RNG seed: the same rows give the same interval."""
VERDICTS = ("win", "tie", "loss", "-")
"""Interval above 0, holding 0, below 0; ``-``: one seed, no interval."""


def bootstrap_interval(
    differences: Sequence[float], level: float = LEVEL
) -> tuple[float, float] | None:
    """Return the percentile bootstrap interval of the mean of ``differences``.

    A resample draws ``len(differences)`` values with replacement and takes their mean;
    the interval is the (1 − level)/2 and (1 + level)/2 quantiles of the resamples' means,
    interpolated linearly between order statistics (numpy's default rule, Hyndman and
    Fan's type 7). Up to :data:`EXACT` ordered resamples are all taken once, so the
    interval is exact; beyond, :data:`RESAMPLES` are drawn with a fixed seed. None for
    fewer than two differences: one seed has nothing to resample.
    """
    values = np.asarray(differences, dtype=float)
    n = len(values)
    if n < 2:
        return None
    if n**n <= EXACT:
        picks = np.indices((n,) * n).reshape(n, -1).T  # every ordered resample, once
    else:
        picks = np.random.default_rng(SEED).integers(0, n, size=(RESAMPLES, n))
    means = values[picks].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def verdict(interval: tuple[float, float] | None) -> str:
    """Read an interval of gains: win above 0, loss below 0, tie holding 0, ``-`` for none."""
    if interval is None:
        return "-"
    low, high = interval
    return "win" if low > 0 else "loss" if high < 0 else "tie"


@dataclass(frozen=True)
class Paired:
    """One method against one baseline on one task, their test scores paired by seed."""

    method: str
    baseline: str
    metric: str
    gains: list[float]
    """Per common seed, the method's test primary metric minus the baseline's, turned so
    that positive means the method is better."""
    interval: tuple[float, float] | None

    @property
    def mean(self) -> float:
        """Return the mean gain over the seeds."""
        return statistics.fmean(self.gains)

    @property
    def verdict(self) -> str:
        """Return win, tie, loss or ``-`` (see :func:`verdict`)."""
        return verdict(self.interval)


def paired(rows: list[Row], task: str, method: str, baseline: str) -> Paired | None:
    """Pair ``method`` with ``baseline`` on ``task`` by seed; None when no seed has both."""

    def scores(name: str) -> dict[int, float]:
        group = [r for r in rows if r.task == task and r.method == name]
        return {r.seed: r.test[r.primary] for r in group if r.primary in r.test}

    ours, theirs = scores(method), scores(baseline)
    seeds = [s for s in ours if s in theirs]
    if not seeds:
        return None
    first = next(r for r in rows if r.task == task)
    gains = [gain(ours[s], theirs[s], first.maximize) for s in seeds]
    return Paired(method, baseline, first.primary, gains, bootstrap_interval(gains))


def ours(rows: list[Row]) -> list[str]:
    """Return LGT's methods in the comparison, LGT first, then the plan's order.

    None when no baseline or peer ran beside them: nothing to measure them against.
    """
    names = list(dict.fromkeys(r.method for r in rows))
    tuned = [n for n in names if METHODS[n].ours]
    if len(tuned) == len(names):
        return []
    return sorted(tuned, key=lambda n: n != "lgt")


def focus(rows: list[Row]) -> str | None:
    """Return the method measured first against the rivals, or None without rivals.

    ``lgt`` when it ran, else the first other of LGT's methods in the plan's order.
    """
    return next(iter(ours(rows)), None)


def rivals_word(per: dict[str, dict[str, Any]]) -> str:
    """Say what LGT is measured against on a task: baselines, peers, or both."""
    kinds = {METHODS[m].kind for m in per} - {"lgt"}
    return " and ".join(f"{k}s" for k in ("baseline", "peer") if k in kinds) or "baselines"


def best_baseline(per: dict[str, dict[str, Any]]) -> str | None:
    """Return the rival with the best mean test primary metric in one task's summary.

    A rival is a baseline or a peer, never one of LGT's methods (the hybrid included).
    """
    scored = [m for m, v in per.items() if not METHODS[m].ours and v["primary"] in v["test"]]
    return max(  # the first of equals, in the plan's order
        scored,
        key=lambda m: oriented(per[m]["test"][per[m]["primary"]][0], per[m]["maximize"]),
        default=None,
    )


def average_ranks(table: dict[str, dict[str, dict[str, Any]]]) -> dict[str, tuple[float, int]]:
    """Return each method's mean rank over the tasks it has a rank in, and how many tasks.

    The ranks are :func:`~lgt_graph.compare.rank.summary`'s, the tables' own: tied
    methods share the better place (1, 1, 3).
    """
    ranks: dict[str, list[int]] = {}
    for per in table.values():
        for method, v in per.items():
            if v["rank"] is not None:
                ranks.setdefault(method, []).append(v["rank"])
    return {m: (statistics.fmean(r), len(r)) for m, r in ranks.items()}


def record(
    rows: list[Row], table: dict[str, dict[str, dict[str, Any]]], method: str
) -> dict[str, Counter[str]]:
    """Count, per rival, the tasks on which ``method`` wins, ties, loses or has no interval."""
    out: dict[str, Counter[str]] = {}
    for task, per in table.items():
        for baseline in per:
            pair = None if METHODS[baseline].ours else paired(rows, task, method, baseline)
            if pair is not None:
                out.setdefault(baseline, Counter())[pair.verdict] += 1
    return out


def summary_lines(rows: list[Row], table: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Render the part of results.md over every task: average ranks, then wins and losses."""
    averages = sorted(average_ranks(table).items(), key=lambda kv: kv[1][0])
    lines = [
        "",
        "## Over all tasks",
        "",
        f"Average rank on the test primary metric over {len(table)} task"
        f"{'s' if len(table) != 1 else ''} (1 is best; tied methods share the better place,"
        " as in the tables).",
        "",
        "| method | average rank | tasks |",
        "|---|---|---|",
        *(f"| {METHODS[m].title} | {mean:.2f} | {n} |" for m, (mean, n) in averages),
    ]
    for name in ours(rows):
        title = METHODS[name].title
        lines += [
            "",
            f"{title} against each baseline and peer, task by task: the gain is {title}'s"
            " test primary metric minus the rival's on the same seed (the same data split),"
            f" turned so that positive means {title} is better, averaged over seeds, with a"
            f" {LEVEL:.0%} percentile bootstrap interval over seeds (all ordered resamples up"
            f" to {EXACT} of them, else {RESAMPLES} drawn). win: the interval lies above 0;"
            " loss: below 0; tie: it holds 0; -: one seed, no interval.",
            "",
            f"| {title} against | wins | ties | losses | no interval (1 seed) |",
            "|---|---|---|---|---|",
        ]
        for baseline, counts in record(rows, table, name).items():
            cells = " | ".join(str(counts[v]) for v in VERDICTS)
            lines.append(f"| {METHODS[baseline].title} | {cells} |")
    return lines


def task_lines(
    rows: list[Row], table: dict[str, dict[str, dict[str, Any]]], task: str
) -> list[str]:
    """Render one task's verdicts: each of LGT's methods against the best rival, by seed."""
    baseline = best_baseline(table[task])
    lines: list[str] = []
    for name in ours(rows) if baseline else []:
        pair = paired(rows, task, name, baseline)  # type: ignore[arg-type]
        if pair is None:
            continue
        seeds = len(pair.gains)
        if pair.interval is None:
            spread = f"no interval ({seeds} seed) → -"
        else:
            low, high = pair.interval
            spread = f"{LEVEL:.0%} CI [{_signed(low)}, {_signed(high)}] → **{pair.verdict}**"
        best = "the best baseline" if METHODS[pair.baseline].kind == "baseline" else "the best peer"
        if rivals_word(table[task]) == "baselines and peers":
            best = "the best of the baselines and peers"
        lines += [
            "",
            f"{METHODS[pair.method].title} against {best},"
            f" {METHODS[pair.baseline].title}:"
            f" test {pair.metric} gain {_signed(pair.mean)} paired over {seeds}"
            f" seed{'s' if seeds != 1 else ''}, {spread}",
        ]
    return lines


def _signed(value: float) -> str:
    """Write a gain with its sign and 4 decimals; a rounding residue is +0.0000, not -0.0000."""
    return f"{round(value, 4) + 0.0:+.4f}"
