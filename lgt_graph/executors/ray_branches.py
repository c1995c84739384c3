"""The epoch-level loop's branches as Ray tasks: a paired segment's two branches side by side.

A branch continues the run from a checkpoint file on the driver's disk. Its bytes travel
to the worker with the task, the worker trains the segment from them, and the checkpoint
it ends on comes back as bytes, which the driver writes into the session's folder: the
driver alone keeps the run's files, as it alone writes MLflow. The candidate and the
control branch of a paired segment start from the same bytes and train at once.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from lgt_graph.state import CheckpointRef
from lgt_graph.training.result import TrialResult


def branch_task(
    start: bytes | None,
    config: dict[str, Any],
    data: Any,
    epochs: int,
    primary: str,
    seed: int,
    device: str,
    amp: bool,
    threads: int,
) -> dict[str, Any]:
    """Train one branch on a worker: from ``start`` (or afresh), ``epochs`` more epochs.

    Returns the fitted curves and metrics with the end checkpoint's bytes, or the failure.
    """
    from lgt_graph.training import limit_threads
    from lgt_graph.training.device import resolve_placement
    from lgt_graph.training.result import Diverged
    from lgt_graph.training.segments import NeuralRun

    limit_threads(threads)
    placement = resolve_placement(device, amp)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lgt-branch-") as folder:
        try:
            if start is None:
                run = NeuralRun.start(config, data, seed, placement=placement)
            else:
                path = Path(folder) / "start.pt"
                path.write_bytes(start)
                run = NeuralRun.load({"path": str(path)}, data, seed, placement=placement)
            run.reconfigure(config)
            fitted = run.train(epochs, primary)
        except Exception as exc:  # the branch's failure, told to the driver as the local one is
            kind = (
                f"diverged: {exc}" if isinstance(exc, Diverged) else f"{type(exc).__name__}: {exc}"
            )
            return {"status": "failed", "reason": kind, "wall_time": time.perf_counter() - began}
        saved = run.save(Path(folder) / "end.pt")
        return {
            "status": "ok",
            "fitted": fitted,
            "epoch": saved["epoch"],
            "checkpoint": Path(saved["path"]).read_bytes(),
            "wall_time": time.perf_counter() - began,
            "worker": f"{socket.gethostname()}, {placement.name}",
        }


def train_branches(
    executor: Any,
    start: CheckpointRef | None,
    jobs: list[tuple[dict[str, Any], str]],
    epochs: int,
    trial: int,
    primary: str,
    seed: int,
    workdir: Path,
) -> list[tuple[TrialResult, CheckpointRef | None]]:
    """Train the segment's branches (configuration, name) at once; write their checkpoints here.

    Returns, per branch in order, its result and the reference of the checkpoint it ended on.
    """
    from lgt_graph.training.segments import CheckpointError, read_checkpoint

    payload = None
    if start is not None:
        read_checkpoint(dict(start))  # missing or altered: stop, as the local path does
        payload = Path(start["path"]).read_bytes()
    remote = executor._ray.remote(branch_task).options(
        num_cpus=executor.cpus, num_gpus=executor.gpus, max_retries=0, name="lgt-branch"
    )
    data = executor._data

    def submit(position: int) -> Any:
        config = jobs[position][0]
        return remote.remote(
            payload,
            config,
            data,
            epochs,
            primary,
            seed,
            executor.device,
            executor.amp,
            executor.threads,
        )

    out: list[tuple[TrialResult, CheckpointRef | None] | None] = [None] * len(jobs)
    for position, value, died in executor.gather(len(jobs), submit):
        config, name = jobs[position]
        if value is None or value["status"] != "ok":
            reason = (
                f"the Ray worker died in this branch {len(died)} times: {died[-1]}"
                if value is None
                else value["reason"]
            )
            wall = 0.0 if value is None else float(value["wall_time"])
            out[position] = (
                TrialResult(config=config, status="failed", reason=reason, wall_time=wall),
                None,
            )
            continue
        where: dict[str, Any] = {"worker": value["worker"]}
        if died:
            where["worker_deaths"] = died
        result = TrialResult.of_fit(config, value["fitted"], float(value["wall_time"]), where)
        path = Path(workdir) / f"segment-{trial:04d}-{name}.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as handle:  # as the local run saves: whole, or not at all
            handle.write(value["checkpoint"])
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
        sha = hashlib.sha256(value["checkpoint"]).hexdigest()
        ref = CheckpointRef(
            path=str(path),
            sha256=sha,
            epoch=int(value["epoch"]),
            trial=trial,
            branch=name,
            score=result.score(primary),
        )
        out[position] = (result, ref)
    if any(o is None for o in out):
        raise CheckpointError("a branch of the segment did not come back")
    return [o for o in out if o is not None]
