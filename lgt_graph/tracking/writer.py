"""A child process that writes to MLflow while the parent trains.

MLflow's SQLAlchemy store spends tens of milliseconds of Python per run; in a thread
that time holds the GIL the training loop needs, so only another process keeps the
trainer at full speed. The child is ``python -m lgt_graph.tracking.writer`` (it never
re-imports the parent's main module), fed length-prefixed pickles on stdin. Jobs are
``(name, kwargs)`` pairs naming a write of ``lgt_graph.tracking.writes.WRITES``, run in
submission order; each result comes back as a future. When the parent dies, the child
reads what was already sent, writes it, and exits at end of input; it ignores
SIGINT and SIGTERM and runs in a session of its own, so an interrupt of the parent's
process group never cuts a write short.
"""

from __future__ import annotations

import contextlib
import itertools
import pickle
import struct
import subprocess
import sys
import threading
from concurrent.futures import Future
from typing import IO, Any

_HEADER = struct.Struct("!I")


class WriterError(RuntimeError):
    """A write failed in the writer process, or the process died."""


def _send(stream: IO[bytes], item: Any) -> None:
    blob = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(blob)) + blob)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    blob = stream.read(size)
    if len(blob) < size:
        raise EOFError
    return pickle.loads(blob)


class BackgroundWriter:
    """Run tracking writes in a child process, in the order they are submitted."""

    def __init__(self, uri: str, experiment_id: str) -> None:
        # A session of its own: a Ctrl-C at the terminal (SIGINT to the foreground
        # process group) must reach the trainer only, so that the writer drains what
        # the trainer sent while the trainer closes the session.
        self._process = subprocess.Popen(
            [sys.executable, "-m", "lgt_graph.tracking.writer", uri, experiment_id],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        self._ids = itertools.count()
        self._futures: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()
        self._dead = ""
        self.failure = ""
        """The first write that failed (its traceback's last line), empty while none has."""
        self._reader = threading.Thread(target=self._read_results, daemon=True)
        self._reader.start()

    def submit(self, name: str, kwargs: dict[str, Any]) -> Future[Any]:
        """Queue the write ``name(**kwargs)``; return the future of its result."""
        future: Future[Any] = Future()
        with self._lock:
            if self._dead:
                raise WriterError(self._dead)
            job = next(self._ids)
            self._futures[job] = future
            try:
                assert self._process.stdin is not None
                _send(self._process.stdin, (job, name, kwargs))
            except (BrokenPipeError, OSError):
                self._futures.pop(job)
                raise WriterError("the MLflow writer process is gone") from None
        return future

    @property
    def dead(self) -> str:
        """Why the writer process is gone; empty while it runs."""
        return self._dead

    def pending(self) -> list[Future[Any]]:
        """Return the futures not yet resolved."""
        with self._lock:
            return list(self._futures.values())

    def close(self, wait: bool = False, timeout: float = 120.0) -> None:
        """Close the child's input: it finishes every queued write, then exits.

        Callers flush first, so every write has been acknowledged; the child's own
        shutdown (a second of interpreter teardown) is only waited for on request.
        """
        with self._lock:
            if self._process.stdin is not None and not self._process.stdin.closed:
                self._process.stdin.close()
        if not wait:
            return
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._reader.join(timeout=10)
        self._fail_all("the MLflow writer stopped before finishing this write")

    def _read_results(self) -> None:
        assert self._process.stdout is not None
        while True:
            try:
                job, ok, value = _receive(self._process.stdout)
            except (EOFError, OSError, pickle.UnpicklingError):
                code = self._process.wait()
                self._fail_all(f"the MLflow writer process exited (status {code})")
                return
            with self._lock:
                future = self._futures.pop(job, None)
            if future is not None:
                if ok:
                    future.set_result(value)
                else:
                    self.failure = self.failure or str(value).strip().splitlines()[-1]
                    future.set_exception(WriterError(value))

    def _fail_all(self, reason: str) -> None:
        with self._lock:
            self._dead = self._dead or reason
            futures, self._futures = self._futures, {}
        for future in futures.values():
            if not future.done():
                future.set_exception(WriterError(reason))


def serve(uri: str, experiment_id: str, jobs: IO[bytes], results: IO[bytes]) -> None:
    """Run each job read from ``jobs`` and send back (job, ok, value) until end of input."""
    import os
    import time
    import traceback
    from collections import defaultdict

    from lgt_graph.tracking.store import open_client
    from lgt_graph.tracking.writes import WRITES

    client = open_client(uri)
    table = WRITES
    spent: dict[str, list[float]] = defaultdict(list)
    while True:
        try:
            job, name, kwargs = _receive(jobs)
        except EOFError:
            if os.environ.get("LGT_WRITER_TIMES"):
                for key, times in spent.items():
                    print(
                        f"writer {key}: {len(times)} x {sum(times) / len(times) * 1000:.1f} ms",
                        file=sys.stderr,
                    )
            return
        started = time.perf_counter()
        try:
            value = table[name](client, experiment_id, **kwargs)
        except Exception:
            reply = (job, False, traceback.format_exc(limit=8))
        else:
            reply = (job, True, value)
        spent[name].append(time.perf_counter() - started)
        with contextlib.suppress(BrokenPipeError, OSError):
            _send(results, reply)  # a gone parent: keep writing what it sent


if __name__ == "__main__":
    import signal

    # Interrupts are the parent's to handle; the writer stops at the end of its input.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _results = sys.stdout.buffer
    sys.stdout = sys.stderr  # whatever a library prints must not corrupt the result stream
    serve(sys.argv[1], sys.argv[2], sys.stdin.buffer, _results)
