"""Run every (task, seed, method) session of a comparison through the one runner.

Each session is a full session of the LGT graph with the method's nodes, logged to
MLflow like any other: same tasks, space, budget, splits, seeds and final refit for
every method, by construction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lgt_graph.compare.render import TITLES, write_outputs
from lgt_graph.compare.rows import Row, row_of
from lgt_graph.context import Settings
from lgt_graph.errors import UserError
from lgt_graph.methods import METHODS, method
from lgt_graph.session import run_session
from lgt_graph.session.mirror import Echo


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


def run_comparison(
    tasks: Sequence[str],
    methods: Sequence[str],
    budget: int,
    seeds: Sequence[int],
    out: Path,
    common: dict[str, Any],
    nodes: dict[str, dict[str, str]] | None = None,
    echo: Echo = print,
    title: str = TITLES["compare"],
) -> list[Row]:
    """Run every (task, seed, method) session and write the comparison into ``out``.

    ``nodes`` swaps nodes of some methods (``{"bayes": {"advisor": "bayes-gp"}}``).
    """
    for name in methods:
        method(name).node_set(common.get("loop") or "trial")
    out.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    total = len(tasks) * len(seeds) * len(methods)
    for task in tasks:
        for seed in seeds:
            for name in methods:
                settings = Settings.resolve(
                    task=task,
                    seed=seed,
                    method=name,
                    budget=budget,
                    nodes=(nodes or {}).get(name),
                    **common,
                )
                echo(f"[{len(rows) + 1}/{total}] {task} seed {seed}: {METHODS[name].title}")
                started = time.perf_counter()
                quiet: Echo = lambda line: None  # noqa: E731 - one line per session is enough
                outcome = run_session(
                    settings, checkpoints=str(out / "lgt_checkpoints.db"), echo=quiet
                )
                row = row_of(task, name, seed, outcome, time.perf_counter() - started)
                rows.append(row)
                test = row.test.get(row.primary)
                echo(
                    f"    best val_{row.primary} {_num(row.best_val)}, test {_num(test)},"
                    f" {row.trials} trials, {row.wall_seconds:.0f}s"
                )
    write_outputs(rows, out, budget, seeds, title)
    return rows


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
