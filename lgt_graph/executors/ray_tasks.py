"""Trials as Ray tasks: the same training, on a worker of a local Ray instance or a cluster.

The session's data go into Ray's object store once (without the test split: a worker has
no use for it), and each trial is a task that declares its resources. Only the result
comes back; the driver alone writes MLflow and the checkpoints. A worker that dies in a
trial (killed, out of memory, its node lost) costs the trial one retry on another
worker, said in the result's diagnostics; a second death fails the trial with the
reason, and the session goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from lgt_graph.errors import UserError
from lgt_graph.training.result import Progress, TrialResult

Done = Callable[[int, TrialResult], None]
"""Told each result of a round as it comes back: its position in the round, the result."""

RETRIES = 1
"""Times a trial is run again after the worker running it died."""
PROBE_SECONDS = 5.0
"""How long a cluster's address may take to accept a connection before it is unreachable."""
NICENESS = "RAY_worker_niceness"
"""Ray's setting of its workers' priority (read when an instance starts)."""


def train_task(
    config: dict[str, Any],
    data: Any,
    device: str,
    amp: bool,
    primary: str,
    seconds_left: float | None,
    threads: int,
) -> TrialResult:
    """Fit one configuration on a worker: what the local executor does, with no progress.

    ``--device`` resolves here, on the worker: a GPU node's trial trains on its GPU (the one
    Ray assigned it) even when the driver has none. The result says where it ran.
    """
    from lgt_graph.training import limit_threads, train
    from lgt_graph.training.device import resolve_placement
    from lgt_graph.training.stops import judged

    limit_threads(threads)
    placement = resolve_placement(device, amp)
    result = train(
        config, data, progress=judged(None, None, primary, seconds_left), placement=placement
    )
    result.diagnostics["worker"] = f"{socket.gethostname()}, {placement.name}"
    return result


def without_test(data: Any) -> Any:
    """Return the task data with an empty test split: what workers are sent."""
    split = data.test_split
    return replace(data, test_split=replace(split, X=split.X[:0], y=split.y[:0]))


def reachable(address: str) -> None:
    """Raise a UserError unless ``address`` (``host:port`` or ``ray://host:port``) answers."""
    match = re.fullmatch(r"(?:ray://)?\[?([^\]\s]+?)\]?:(\d+)", address.strip())
    if match is None:
        return  # "auto" or a form Ray resolves itself: Ray says what is wrong
    host, port = match.group(1), int(match.group(2))
    try:
        with socket.create_connection((host, port), timeout=PROBE_SECONDS):
            pass
    except OSError as exc:
        raise UserError(
            f"--ray-address {address}: no Ray cluster answers there ({exc.strerror or exc});"
            " start one (ray start --head) or leave --ray-address out for a local instance"
        ) from None


def start_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Start a local Ray instance (or connect to ``address``), quiet, without the dashboard.

    A local instance's workers run at the driver's priority: Ray's default (nice 15) would
    starve the trials, which are all the work here, whenever anything else runs.
    """
    import ray

    local = not address and not os.environ.get("RAY_ADDRESS")
    saved = os.environ.get(NICENESS)
    if local and saved is None:
        os.environ[NICENESS] = "0"
    try:
        ray.init(
            address=address or None,
            num_cpus=num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    finally:
        if local and saved is None:
            os.environ.pop(NICENESS, None)


def connect(address: str | None) -> bool:
    """Make sure this process is connected to Ray; return whether this call connected it."""
    try:
        import ray
    except ImportError:
        raise UserError(
            "--executor ray needs Ray: pip install 'lgt_graph[ray]' (or pip install ray)"
        ) from None
    if ray.is_initialized():
        return False
    if address:
        reachable(address)
    try:
        start_ray(address)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"--ray-address {address}" if address else "a local Ray instance"
        raise UserError(f"{where}: Ray could not start or connect ({exc})") from None
    return True


@contextlib.contextmanager
def shared_instance(executor: str | None, address: str | None) -> Iterator[None]:
    """Keep one Ray connection across many sessions (a comparison's), not one each."""
    if executor != "ray":
        yield
        return
    connected = connect(address)
    try:
        yield
    finally:
        if connected:
            import ray

            ray.shutdown()


class RayExecutor:
    """Runs each trial as a Ray task; starts (and stops) a local instance when none is given."""

    def __init__(
        self,
        data: Any,
        address: str | None,
        cpus: float,
        gpus: float,
        device: str = "auto",
        amp: bool = False,
    ) -> None:
        import ray

        self._ray = ray
        self._owned = connect(address)
        self.device, self.amp = device, amp
        self.cpus, self.gpus = cpus, gpus
        self.threads = max(1, int(cpus))
        self._data = ray.put(without_test(data))
        self._task = ray.remote(train_task).options(
            num_cpus=cpus, num_gpus=gpus, max_retries=0, name="lgt-trial"
        )

    def train(
        self,
        config: dict[str, Any],
        *,
        monitor: Any,
        primary: str,
        seconds_left: float | None,
        progress: Progress | None,
    ) -> TrialResult:
        """Run ``config`` as a task and wait for it; a worker's death costs one retry."""
        if monitor is not None:
            raise UserError(
                "a pruner judges each epoch of a trial in the driver; --executor ray runs whole"
                " trials on workers: run this method with --executor local"
            )
        return self.train_round([config], primary=primary, seconds_left=seconds_left)[0]

    def train_round(
        self,
        configs: list[dict[str, Any]],
        *,
        primary: str,
        seconds_left: float | None,
        done: Done | None = None,
    ) -> list[TrialResult]:
        """Run every configuration as a task at once; return their results in order.

        ``done(position, result)`` hears of each result as it comes back, before the round
        ends (the train node journals it). A worker's death costs its trial one retry.
        """
        results: list[TrialResult | None] = [None] * len(configs)
        submit = lambda i: self._submit(configs[i], primary, seconds_left)  # noqa: E731
        for position, result, died in self.gather(len(configs), submit):
            if result is None:
                result = TrialResult(
                    config=configs[position],
                    status="failed",
                    reason=f"the Ray worker died in this trial {len(died)} times: {died[-1]}",
                    diagnostics={"worker_deaths": died},
                )
            elif died:
                result.diagnostics["worker_deaths"] = died
                result.diagnostics["retried"] = f"after the worker died: {died[0]}"
            results[position] = result
            if done is not None:
                done(position, result)
        return [r for r in results if r is not None]

    def gather(
        self, count: int, submit: Callable[[int], Any]
    ) -> Iterator[tuple[int, Any, list[str]]]:
        """Run ``submit(position)``'s tasks all at once; yield each as it ends, in any order.

        Yields the position, the task's value (None when its worker died a second time)
        and the deaths it met; a worker's first death runs the task again.
        """
        died: list[list[str]] = [[] for _ in range(count)]
        running = {submit(i): i for i in range(count)}
        while running:
            ready, _ = self._ray.wait(list(running), num_returns=1)
            position = running.pop(ready[0])
            try:
                value = self._ray.get(ready[0])
            except self._crashes() as exc:
                died[position].append(_first_line(exc))
                if len(died[position]) <= RETRIES:
                    running[submit(position)] = position
                    continue
                value = None
            yield position, value, died[position]

    def train_branches(
        self,
        start: Any,
        jobs: list[tuple[dict[str, Any], str]],
        epochs: int,
        trial: int,
        primary: str,
        seed: int,
        workdir: Any,
    ) -> list[tuple[TrialResult, Any]]:
        """Train an epoch-level segment's branches as tasks at once (see ``ray_branches``)."""
        from lgt_graph.executors.ray_branches import train_branches

        return train_branches(self, start, jobs, epochs, trial, primary, seed, workdir)

    def _submit(self, config: dict[str, Any], primary: str, seconds_left: float | None) -> Any:
        return self._task.remote(
            config, self._data, self.device, self.amp, primary, seconds_left, self.threads
        )

    def _crashes(self) -> tuple[type[BaseException], ...]:
        errors = self._ray.exceptions
        names = ("WorkerCrashedError", "NodeDiedError", "LocalRayletDiedError", "OutOfMemoryError")
        return tuple(getattr(errors, n) for n in names if hasattr(errors, n))

    def close(self) -> None:
        """Stop the local Ray instance this session started (a cluster stays up)."""
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()
            self._owned = False


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:300]
