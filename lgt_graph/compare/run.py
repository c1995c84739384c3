"""Run every (task, seed, method) session of a comparison through the one runner.

Each session is a full session of the LGT graph with the method's nodes, logged to
MLflow like any other: same tasks, space, budget, splits, seeds and final refit for
every method, by construction.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lgt_graph.compare.plan import for_task, plan_sessions
from lgt_graph.compare.render import TITLES, write_csv, write_outputs
from lgt_graph.compare.rows import Row, row_of
from lgt_graph.context import Settings
from lgt_graph.errors import UserError
from lgt_graph.executors.ray_tasks import shared_instance
from lgt_graph.graph import budgets
from lgt_graph.graph.methods import METHODS, method
from lgt_graph.session import run_session
from lgt_graph.session.mirror import Echo


def run_comparison(
    tasks: Sequence[str],
    methods: Sequence[str],
    budget: int | None,
    seeds: Sequence[int],
    out: Path,
    common: dict[str, Any],
    nodes: dict[str, dict[str, str]] | None = None,
    echo: Echo = print,
    title: str = TITLES["compare"],
    resume: bool = False,
) -> list[Row]:
    """Run every (task, seed, method) session and write the comparison into ``out``.

    ``nodes`` swaps nodes of some methods (``{"bayes": {"advisor": "bayes-gp"}}``).
    results.csv and ``sessions.jsonl`` grow as each session ends; ``resume`` skips the
    sessions ``out`` already holds and resumes the one a kill stopped.
    """
    for name in methods:
        method(name).node_set(common.get("loop") or "trial")
    sessions = plan_sessions(tasks, methods, budget, seeds, common, nodes)
    plan = {"tasks": list(tasks), "methods": list(methods), "budget": budget,
            "seeds": list(seeds), "nodes": nodes or {},
            "common": {k: v for k, v in common.items() if v is not None}}  # fmt: skip
    rows = open_out(out, json.loads(json.dumps(plan, default=str)), resume)
    done = {(r.task, r.seed, r.method) for r in rows}
    checkpoints = out / "lgt_checkpoints.db"
    total = len(sessions)
    # one Ray instance for every session (each would start and stop its own)
    with shared_instance(common.get("executor"), common.get("ray_address")):
        for number, (task, seed, name, settings) in enumerate(sessions, 1):
            if (task, seed, name) in done:
                continue
            peer = METHODS[name].peer is not None  # a whole tool: never resumed, run again
            unfinished = unfinished_session(checkpoints, settings) if resume else None
            again = f" (resuming session {unfinished})" if unfinished and not peer else ""
            if unfinished and peer:
                again = f" (session {unfinished} stopped: its search starts again)"
            echo(f"[{number}/{total}] {task} seed {seed}: {METHODS[name].title}{again}")
            started = time.perf_counter()
            quiet: Echo = lambda line: None  # noqa: E731 - one line per session is enough
            if peer:
                from lgt_graph.peers.session import run_peer

                outcome = run_peer(settings, str(checkpoints), echo=quiet)
            else:
                outcome = run_session(
                    settings, resume=unfinished, checkpoints=str(checkpoints), echo=quiet
                )
            row = row_of(task, name, seed, outcome, time.perf_counter() - started)
            rows.append(row)
            with (out / ROWS).open("a") as f:  # kept as each session ends: --resume reads them
                f.write(json.dumps(dataclasses.asdict(row)) + "\n")
            write_csv(rows, out / "results.csv")
            test = row.test.get(row.primary)
            echo(
                f"    best val_{row.primary} {_num(row.best_val)}, test {_num(test)},"
                f" {row.trials} trials, {row.wall_seconds:.0f}s"
            )
    write_outputs(rows, out, budget, seeds, title, budget_note(tasks, budget, common))
    return rows


def budget_note(tasks: Sequence[str], budget: int | None, common: dict[str, Any]) -> str | None:
    """Say what a comparison budgeted in epochs or seconds held equal; None for trials alone."""
    if common.get("budget_epochs") is None and common.get("budget_seconds") is None:
        return None
    settings = Settings.resolve(task=tasks[0], budget=budget, **for_task(common, tasks[0]))
    kind = "Equal compute" if settings.budget_seconds is not None else "Equal epochs"
    return f"{kind}: a budget of {budgets.describe(settings)} per method"


ROWS = "sessions.jsonl"
PLAN = "comparison.json"


def open_out(out: Path, plan: dict[str, Any], resume: bool) -> list[Row]:
    """Prepare the output folder; with ``resume``, return the sessions it already holds.

    A folder with an earlier comparison's sessions is refused unless resumed (and then
    only for the same plan), so that no result is overwritten or mixed with another's.
    """
    out.mkdir(parents=True, exist_ok=True)
    saved = out / PLAN
    if saved.exists() and (out / ROWS).exists() and not resume:
        raise UserError(
            f"--out {out} holds an earlier comparison; add --resume to continue it, or"
            " choose another --out"
        )
    if resume and saved.exists():
        before = json.loads(saved.read_text())
        if before != plan:
            changed = sorted(k for k in plan if plan[k] != before.get(k))
            raise UserError(
                f"--resume: {out} holds a comparison with other {', '.join(changed)};"
                " resume it with the same options"
            )
    saved.write_text(json.dumps(plan, indent=1))
    if not resume or not (out / ROWS).exists():
        (out / ROWS).unlink(missing_ok=True)
        return []
    lines = (out / ROWS).read_text().splitlines()
    return [Row(**json.loads(line)) for line in lines if line.strip()]


def unfinished_session(checkpoints: Path, settings: Settings) -> str | None:
    """Return the id of a session of these settings that was stopped before its end."""
    if not checkpoints.exists():
        return None
    from lgt_graph.session.store import SessionStore

    store = SessionStore(checkpoints)
    try:
        return store.unfinished(settings.to_dict())
    finally:
        store.close()


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"
