"""What a comparison runs: its seeds, and the settings of each (task, seed, method) session.

Nothing heavy is imported here, so the command line checks every session's settings
before torch, MLflow and LangGraph load and before any data is read: a wrong flag is
one line at once, not after the first sessions have run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lgt_graph.context import Settings
from lgt_graph.errors import UserError

CSV_ONLY = ("target", "problem", "drop")
"""Settings that describe a CSV file: the comparison's other tasks go without them."""


def parse_seeds(text: str) -> list[int]:
    """Read ``--seeds``: a count (3 means 0, 1, 2) or a comma list (0,5,9)."""
    try:
        if "," in text:
            return [int(s) for s in text.split(",") if s.strip()]
        count = int(text)
    except ValueError:
        raise UserError(f"--seeds {text!r}: give a count (3) or a list (0,1,2)") from None
    if count < 1:
        raise UserError("--seeds must be at least 1")
    return list(range(count))


def for_task(common: dict[str, Any], task: str) -> dict[str, Any]:
    """Return the comparison's settings for one of its tasks."""
    if task.startswith("csv:"):
        return common
    return {k: v for k, v in common.items() if k not in CSV_ONLY}


def plan_sessions(
    tasks: Sequence[str],
    methods: Sequence[str],
    budget: int | None,
    seeds: Sequence[int],
    common: dict[str, Any],
    nodes: Mapping[str, dict[str, str]] | None = None,
) -> list[tuple[str, int, str, Settings]]:
    """Return every (task, seed, method) session in running order, with its checked settings."""
    return [
        (
            task,
            seed,
            name,
            Settings.resolve(
                task=task,
                seed=seed,
                method=name,
                budget=budget,
                nodes=(nodes or {}).get(name),
                **for_task(common, task),
            ),
        )
        for task in tasks
        for seed in seeds
        for name in methods
    ]
