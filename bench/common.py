"""Helpers shared by the benchmarks: where results go and what machine ran them."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"


def machine() -> str:
    """Describe the machine in one line: CPU model, usable cores, memory, torch threads."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {cores} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def save(name: str, result: dict) -> Path:
    """Write a benchmark's result as JSON under bench/out/ and return the path."""
    OUT.mkdir(exist_ok=True)
    result = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        **result,
    }
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(result, indent=2))
    return path


def store_sessions(
    uri: str, experiments: list[str] | None = None
) -> Iterator[tuple[str, Any, list[Any]]]:
    """Yield each session run of an MLflow store: (experiment, session, its trial runs).

    ``experiments`` names the experiments to read (all when None); trials come in order.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    for experiment in client.search_experiments():
        if experiments and experiment.name not in experiments:
            continue
        runs = client.search_runs([experiment.experiment_id], max_results=50000)
        trials: dict[str, list[Any]] = {}
        for run in runs:
            if run.data.tags.get("kind") == "trial":
                trials.setdefault(run.data.tags.get("mlflow.parentRunId", ""), []).append(run)
        for run in runs:
            if run.data.tags.get("kind") == "session":
                mine = trials.get(run.info.run_id, [])
                mine.sort(key=lambda t: int(t.data.tags.get("lgt.trial", 0)))
                yield experiment.name, run, mine


def mean_sd(values: list[float], digits: int = 4) -> str:
    """Format scores as ``mean ± sd`` (the mean alone for one score, "-" for none)."""
    if not values:
        return "-"
    mean = f"{statistics.mean(values):.{digits}f}"
    return mean + (f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else "")
