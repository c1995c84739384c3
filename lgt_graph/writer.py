"""A child process that writes to MLflow while the parent trains.

MLflow's SQLAlchemy store spends tens of milliseconds of Python per run; in a thread
that time holds the GIL the training loop needs, so only another process keeps the
trainer at full speed. Jobs are ``(name, kwargs)`` pairs naming a function of
``lgt_graph.tracking.WRITES``; each job's result comes back as a future. If the
parent dies, the child drains what was already sent and exits.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import queue
import threading
from concurrent.futures import Future
from typing import Any

POLL_SECONDS = 0.5


class WriterError(RuntimeError):
    """A write failed in the writer process, or the process died."""


class BackgroundWriter:
    """Run tracking writes in a spawned process, in the order they are submitted."""

    def __init__(self, uri: str, experiment_id: str) -> None:
        context = mp.get_context("spawn")
        self._jobs: Any = context.Queue()
        self._acks: Any = context.Queue()
        self._process = context.Process(
            target=_serve,
            args=(uri, experiment_id, self._jobs, self._acks, os.getpid()),
            name="lgt-mlflow-writer",
            daemon=True,
        )
        self._process.start()
        self._ids = itertools.count()
        self._futures: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._reader = threading.Thread(target=self._read_acks, daemon=True)
        self._reader.start()

    def submit(self, name: str, kwargs: dict[str, Any]) -> Future[Any]:
        """Queue the write ``name(**kwargs)``; return the future of its result."""
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise WriterError("the MLflow writer is closed")
            job = next(self._ids)
            self._futures[job] = future
        self._jobs.put((job, name, kwargs))
        return future

    def pending(self) -> list[Future[Any]]:
        """Return the futures not yet resolved."""
        with self._lock:
            return list(self._futures.values())

    def close(self, timeout: float = 60.0) -> None:
        """Let the child finish every queued write, then stop it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._jobs.put(None)
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.terminate()
        self._reader.join(timeout=5)
        self._fail_all("the MLflow writer stopped before finishing this write")

    def _read_acks(self) -> None:
        while True:
            try:
                job, ok, value = self._acks.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not self._process.is_alive():
                    code = self._process.exitcode
                    self._fail_all(f"the MLflow writer process exited (status {code})")
                    return
                continue
            except (EOFError, OSError):
                self._fail_all("the MLflow writer's channel closed")
                return
            if job is None:
                return
            with self._lock:
                future = self._futures.pop(job, None)
            if future is not None:
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(WriterError(value))

    def _fail_all(self, reason: str) -> None:
        with self._lock:
            futures, self._futures = self._futures, {}
        for future in futures.values():
            if not future.done():
                future.set_exception(WriterError(reason))


def _serve(uri: str, experiment_id: str, jobs: Any, acks: Any, parent: int) -> None:
    """Child main loop: run each job, report its result; stop on None or an orphaned queue."""
    import traceback

    from lgt_graph.tracking import WRITES, open_client

    client = open_client(uri)
    orphaned = False
    while True:
        try:
            item = jobs.get(timeout=0 if orphaned else POLL_SECONDS)
        except queue.Empty:
            if orphaned:
                break  # parent gone and nothing left to write
            orphaned = os.getppid() != parent
            continue
        if item is None:
            break
        job, name, kwargs = item
        try:
            value = WRITES[name](client, experiment_id, **kwargs)
        except Exception:
            acks.put((job, False, traceback.format_exc(limit=8)))
        else:
            acks.put((job, True, value))
    acks.put((None, True, None))
