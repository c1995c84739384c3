"""Helpers shared by the benchmarks: where results go and what machine ran them."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from pathlib import Path

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
