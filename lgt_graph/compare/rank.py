"""Aggregate a comparison over seeds and rank the methods on the test primary metric."""

from __future__ import annotations

import math
import statistics
from typing import Any

from lgt_graph.compare.rows import Row
from lgt_graph.evaluation.metrics import better, oriented

TIE = 1e-12
"""Means closer than this share a rank: they are equal up to the sums' rounding."""


def _stats(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, sd


def _mean(values: list[float | None]) -> float | None:
    """Return the mean, or None when any value is missing (rows from before it was kept)."""
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known and len(known) == len(values) else None


def summary(rows: list[Row]) -> dict[str, dict[str, dict[str, Any]]]:
    """Aggregate over seeds: per task, per method, the means, spreads and rank."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for task in dict.fromkeys(r.task for r in rows):
        per: dict[str, dict[str, Any]] = {}
        for method in dict.fromkeys(r.method for r in rows if r.task == task):
            group = [r for r in rows if r.task == task and r.method == method]
            primary = group[0].primary
            tests = {
                m: _stats([r.test[m] for r in group if m in r.test])
                for m in sorted({k for r in group for k in r.test})
            }
            vals = [r.best_val for r in group if r.best_val is not None]
            per[method] = {
                "primary": primary,
                "maximize": group[0].maximize,
                "test": tests,
                "val": _stats(vals) if vals else None,
                "trials": statistics.fmean(r.trials for r in group),
                "failed": sum(r.failed for r in group),
                "epochs": statistics.fmean(r.epochs for r in group),
                "wall": statistics.fmean(r.wall_seconds for r in group),
                "train": _mean([r.train_seconds for r in group]),
                "tokens": statistics.fmean(r.input_tokens + r.output_tokens for r in group),
                "seeds": len(group),
            }
        ranked = sorted(
            (m for m in per if per[m]["primary"] in per[m]["test"]),
            key=lambda m: -oriented(per[m]["test"][per[m]["primary"]][0], per[m]["maximize"]),
        )
        for method in per:
            score = per[method]["test"].get(per[method]["primary"], (math.nan, 0))[0]
            ahead = [
                m
                for m in ranked
                if better(per[m]["test"][per[m]["primary"]][0], score, per[m]["maximize"], TIE)
            ]
            per[method]["rank"] = len(ahead) + 1 if method in ranked else None
        out[task] = per
    return out
