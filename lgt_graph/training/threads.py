"""How many threads a trial's training gets: ``--threads``, else what the machine has free.

By default a trial may use the CPUs of this process's affinity and cgroup CPU quota. A
net whose work is worth several threads gets only the CPUs that no other job is keeping
busy, measured over a short window just before it starts: PyTorch's OpenMP workers
busy-wait for each other, so two threads on a core that another job holds run several
times slower than one thread alone (docs/BENCHMARKS.md, threads under load).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["available_threads", "free_threads", "limit_threads"]

_THREADS: list[int] = []
"""The session's ``--threads``, when given (set by :func:`limit_threads`)."""

WINDOW = 0.2
"""Seconds over which the other jobs' CPU use is measured before a trial starts."""


def limit_threads(threads: int | None) -> None:
    """Make every trial of this process use ``threads`` threads (None: what it may use)."""
    _THREADS[:] = [threads] if threads else []


def available_threads() -> int:
    """Return ``--threads``, else the CPUs this process may use: its affinity, its CPU quota."""
    if _THREADS:
        return _THREADS[0]
    cpus = len(_cpus())
    quota = _cgroup_quota()
    return min(cpus, quota) if quota else cpus


def free_threads(window: float = WINDOW) -> int:
    """Return ``--threads``, else the available CPUs that other jobs leave idle (at least 1).

    Measured from ``/proc/stat`` over ``window`` seconds on the CPUs of this process's
    affinity, while this process is between trainings; the time this process and its
    children use meanwhile is not another job's. Where that cannot be read, every
    available CPU.
    """
    available = available_threads()
    if _THREADS or available == 1:
        return available
    cpus = _cpus()
    before, own_before = _idle_and_total(cpus), _own_jiffies()
    time.sleep(window)
    after, own_after = _idle_and_total(cpus), _own_jiffies()
    if before is None or after is None or after[1] <= before[1]:
        return available
    # this process and its children (the MLflow writer finishing the last trial's records)
    # are not other jobs: their CPU time counts as idle
    idle = after[0] - before[0] + max(0, own_after - own_before)
    idle_cpus = min(1.0, idle / (after[1] - before[1])) * len(cpus)
    return max(1, min(available, int(idle_cpus + 0.25)))


def _cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0)) or [0]
    except AttributeError:  # not on Linux
        return list(range(max(1, os.cpu_count() or 1)))


def _idle_and_total(cpus: list[int]) -> tuple[int, int] | None:
    """Sum the idle and total jiffies of ``cpus`` from /proc/stat; None where unreadable."""
    wanted = {f"cpu{i}" for i in cpus}
    idle = total = 0
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if fields and fields[0] in wanted:
            values = [int(v) for v in fields[1:]]
            idle += values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
            total += sum(values[:8])  # guest time is already in user time
    return (idle, total) if total else None


def _own_jiffies() -> int:
    """Return the CPU time (in /proc/stat's ticks) of this process and its child processes."""
    me = os.getpid()
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        fields = text[
            text.rfind(")") + 2 :
        ].split()  # after the command name, which may hold spaces
        pid = int(stat.parent.name)
        if pid == me or int(fields[1]) == me:  # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


def _cgroup_quota() -> int | None:
    """Return the CPUs a cgroup (v2) quota allows this process, rounded up; None if unlimited."""
    try:
        limit, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if limit == "max":
        return None
    return max(1, -(-int(limit) // int(period)))
