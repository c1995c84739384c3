"""A child process that writes to MLflow while the parent trains.

MLflow's SQLAlchemy store spends tens of milliseconds of Python per run; in a thread
that time holds the GIL the training loop needs, so only another process keeps the
trainer at full speed. The child is ``python -m lgt_graph.tracking.writer`` (it never
re-imports the parent's main module), fed length-prefixed pickles on stdin. A job names
its store, its experiment and a write of ``lgt_graph.tracking.writes.WRITES``; jobs run
in submission order and each result comes back as a future. One child serves every
tracker of its parent (:func:`shared_writer`): the sessions of a comparison, one after
another, pay for its start (MLflow's imports, seconds of CPU) once, not once each. When
the parent dies, the child reads what was already sent, writes it, and exits at end of
input; it ignores SIGINT and SIGTERM and runs in a session of its own, so an interrupt
of the parent's process group never cuts a write short.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
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


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while a job is queued; they arrive as soon as it is.

    A Ctrl-C that cut a job's bytes short would garble every later job on the pipe (the
    session's closing records among them), and one between queueing a job's future and
    sending it would leave the future waiting for ever.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # Python runs signal handlers in the main thread only
        return
    held = {signal.SIGINT, signal.SIGTERM}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


class BackgroundWriter:
    """Run tracking writes in a child process, in the order they are submitted."""

    def __init__(self) -> None:
        # A session of its own: a Ctrl-C at the terminal (SIGINT to the foreground
        # process group) must reach the trainer only, so that the writer drains what
        # the trainer sent while the trainer closes the session.
        self._process = subprocess.Popen(
            [sys.executable, "-m", "lgt_graph.tracking.writer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        self._ids = itertools.count()
        self._futures: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()
        self._dead = ""
        self._reader = threading.Thread(target=self._read_results, daemon=True)
        self._reader.start()

    def submit(
        self, uri: str, experiment_id: str, name: str, kwargs: dict[str, Any]
    ) -> Future[Any]:
        """Queue the write ``name(**kwargs)`` to a store's experiment; return its future."""
        future: Future[Any] = Future()
        with _signals_held(), self._lock:
            if self._dead:
                raise WriterError(self._dead)
            job = next(self._ids)
            self._futures[job] = future
            try:
                assert self._process.stdin is not None
                _send(self._process.stdin, (job, uri, experiment_id, name, kwargs))
            except (BrokenPipeError, OSError, ValueError):  # ValueError: its input was closed
                self._futures.pop(job)
                raise WriterError("the MLflow writer process is gone") from None
        return future

    @property
    def dead(self) -> str:
        """Why the writer process is gone (or going: its input is closed); empty while it runs."""
        stdin = self._process.stdin
        closed = stdin is None or stdin.closed
        return self._dead or ("the MLflow writer's input is closed" if closed else "")

    def close(self) -> None:
        """Close the child's input: it finishes every queued write, then exits."""
        with self._lock:
            if self._process.stdin is not None and not self._process.stdin.closed:
                self._process.stdin.close()

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
                    future.set_exception(WriterError(value))

    def _fail_all(self, reason: str) -> None:
        with self._lock:
            self._dead = self._dead or reason
            futures, self._futures = self._futures, {}
        for future in futures.values():
            if not future.done():
                future.set_exception(WriterError(reason))


_SHARED: list[BackgroundWriter] = []
_SHARED_LOCK = threading.Lock()


def shared_writer() -> BackgroundWriter:
    """Return this process's writer, started on first use and again if it died."""
    with _SHARED_LOCK:
        if not _SHARED or _SHARED[0].dead:
            _SHARED[:] = [BackgroundWriter()]
        return _SHARED[0]


def _close_shared() -> None:
    """Close the writer's input at exit: it writes what it was sent, then ends."""
    for writer in _SHARED:
        with contextlib.suppress(OSError):
            writer.close()


atexit.register(_close_shared)
# A forked child must not write into its parent's pipe: it starts a writer of its own.
os.register_at_fork(after_in_child=_SHARED.clear)

CLIENTS = 8
"""Stores the child keeps a client open on (a comparison writes one; a test suite, many)."""


def serve(jobs: IO[bytes], results: IO[bytes]) -> None:
    """Run each job read from ``jobs`` and send back (job, ok, value) until end of input."""
    import time
    import traceback
    from collections import defaultdict

    from lgt_graph.tracking.store import open_client, use_globally
    from lgt_graph.tracking.writes import WRITES

    clients: dict[str, Any] = {}
    current = ""
    table = WRITES
    spent: dict[str, list[float]] = defaultdict(list)
    while True:
        try:
            job, uri, experiment_id, name, kwargs = _receive(jobs)
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
            if uri not in clients:
                clients[uri] = open_client(uri)  # MLflow's global store is set to it too
                while len(clients) > CLIENTS:
                    clients.pop(next(iter(clients)))
            elif uri != current:
                use_globally(uri)  # the prompt registry writes through the global store
            current = uri
            value = table[name](clients[uri], experiment_id, **kwargs)
        except Exception:
            reply = (job, False, traceback.format_exc(limit=8))
        else:
            reply = (job, True, value)
        spent[name].append(time.perf_counter() - started)
        with contextlib.suppress(BrokenPipeError, OSError):
            _send(results, reply)  # a gone parent: keep writing what it sent


if __name__ == "__main__":
    # Interrupts are the parent's to handle; the writer stops at the end of its input.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _results = sys.stdout.buffer
    sys.stdout = sys.stderr  # whatever a library prints must not corrupt the result stream
    serve(sys.stdin.buffer, _results)
