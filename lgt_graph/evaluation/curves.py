"""Summaries of learning curves and data: the numbers the agents read instead of raw arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lgt_graph.tasks.base import TaskData
from lgt_graph.tasks.sentinels import sentinel_columns


def _r(value: float, digits: int = 4) -> float:
    return float(round(float(value), digits))


def summarize(result: dict[str, Any], primary: str, maximize: bool) -> dict[str, Any]:
    """Condense a trial's curves into what a diagnosis needs.

    For each series: first, last, best and where; the trend over the last third;
    how often it changes direction (oscillation). For the pair of losses, the
    generalisation gap at the end.
    """
    summary: dict[str, Any] = {
        "status": result["status"],
        "step_unit": result.get("step_unit", "epoch"),
        "steps_run": len(result.get("steps", [])),
    }
    if result["status"] != "ok":
        summary["failure"] = result.get("reason", "")
        return summary
    steps = result["steps"]
    for name, values in result["curves"].items():
        if not values:
            continue
        arr = np.asarray(values, dtype=float)
        higher_better = (
            maximize
            if name == f"val_{primary}"
            else ("accuracy" in name or "f1" in name or name.endswith("r2")) and "loss" not in name
        )
        best_at = int(np.argmax(arr) if higher_better else np.argmin(arr))
        tail = arr[-max(2, len(arr) // 3) :]
        diffs = np.diff(arr)
        turns = int(np.sum(np.sign(diffs[1:]) * np.sign(diffs[:-1]) < 0)) if len(diffs) > 1 else 0
        scale = float(np.mean(np.abs(arr))) or 1.0
        summary[name] = {
            "first": _r(arr[0]),
            "last": _r(arr[-1]),
            "best": _r(arr[best_at]),
            "best_at": int(steps[best_at]),
            "tail_change": _r((tail[-1] - tail[0]) / scale),
            "direction_changes": turns,
            "swing": _r(float(np.mean(np.abs(diffs))) / scale if len(diffs) else 0.0),
        }
    if "train_loss" in summary and "val_loss" in summary:
        train_last = summary["train_loss"]["last"]
        val_last = summary["val_loss"]["last"]
        summary["gap"] = _r((val_last - train_last) / (abs(val_last) or 1.0))
        val_best = summary["val_loss"]["best"]
        summary["val_loss_rise"] = _r((val_last - val_best) / (abs(val_best) or 1.0))
    summary["validation"] = {k: _r(v) for k, v in result["metrics"].items()}
    summary["primary"] = primary
    summary["maximize"] = maximize
    diagnostics = result.get("diagnostics", {})
    for key in (
        *("best_epoch", "kept_epoch", "stopped_early", "parameters"),
        *("predicted_classes", "prediction_spread"),  # lgt_graph.expert.degenerate
    ):
        if key in diagnostics:
            summary[key] = diagnostics[key]
    summary["seconds"] = _r(result.get("wall_time", 0.0), 2)
    return summary


def describe(summary: dict[str, Any]) -> str:
    """Write a curve summary as short lines of text, for the prompts."""
    if summary["status"] != "ok":
        return f"failed: {summary.get('failure', '')}"
    unit = summary["step_unit"]
    lines = [f"{summary['steps_run']} {unit}s, validation {summary['validation']}"]
    for name in ("train_loss", "val_loss", f"val_{summary['primary']}", "train_accuracy"):
        s = summary.get(name)
        if s:
            lines.append(
                f"{name}: {s['first']} -> {s['last']} (best {s['best']} at {unit} {s['best_at']},"
                f" last-third change {s['tail_change']:+.1%}, {s['direction_changes']} turns)"
            )
    if "gap" in summary:
        lines.append(
            f"val_loss above train_loss by {summary['gap']:.0%} at the end; val_loss"
            f" {summary['val_loss_rise']:.0%} above its best"
        )
    return "\n".join(lines)


def profile(data: TaskData) -> dict[str, Any]:
    """Describe the training split: size, balance, feature scales, missing values, target."""
    facts: dict[str, Any] = {
        "task": data.task.name,
        "family": data.task.family,
        "problem": data.task.problem,
        "primary_metric": data.task.primary,
        "direction": data.task.direction,
        "train_examples": len(data.y_train),
        "val_examples": len(data.y_val),
        "input_shape": list(data.X_train.shape[1:]),
    }
    if data.task.problem == "classification":
        counts = np.bincount(data.y_train, minlength=max(data.n_classes, 1))
        facts["classes"] = data.n_classes
        facts["smallest_class_share"] = _r(counts.min() / counts.sum())
        facts["largest_class_share"] = _r(counts.max() / counts.sum())
    else:
        y = np.asarray(data.y_train, dtype=float)
        facts["target_mean"] = _r(y.mean())
        facts["target_std"] = _r(y.std())
        facts["target_min"] = _r(y.min())
        facts["target_skew"] = _r(float(pd.Series(y).skew()))
    if isinstance(data.X_train, pd.DataFrame):
        numeric = data.X_train.select_dtypes("number")
        stds = numeric.std().replace(0, np.nan).dropna()
        facts["features"] = int(data.X_train.shape[1])
        facts["categorical_features"] = int(data.X_train.shape[1] - numeric.shape[1])
        facts["missing_share"] = _r(float(data.X_train.isna().mean().mean()))
        if len(stds):
            facts["feature_std_ratio"] = _r(float(stds.max() / stds.min()), 1)
            facts["feature_abs_mean_max"] = _r(float(numeric.mean().abs().max()), 2)
        skews = numeric.skew().abs()
        facts["skewed_features"] = int((skews > 2).sum())
        found = sentinel_columns(data.X_train)
        if found:  # zeros that may stand for missing measurements
            facts["zero_sentinels"] = sorted(found)
    else:
        facts["channels"] = int(data.X_train.shape[1])
    return facts
