"""Run the MLflow UI server as a child and announce it only once it answers HTTP.

``mlflow ui`` starts uvicorn (and MLflow's job consumers, unless they are turned off);
on a loaded machine they take from seconds to most of a minute to import and bind, and
a link printed before that is a "connection refused" to whoever clicks it at once. So
the links wait for the first HTTP answer, and a server that dies or stays silent is one
clear line with its last output above it.

The server runs in a session of its own, so that a Ctrl-C at the terminal reaches this
process only; it passes the signal on (SIGTERM likewise), waits for the server to
close, and clears what is left of the server's process group.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from lgt_graph.errors import Terminated, UserError

READY_LIMIT_S = 300.0
"""How long the server may take to answer: seconds to a minute is usual on 2 busy cores."""

STOP_GRACE_S = 30.0
"""How long ``mlflow ui`` may take to close once signalled (tens of seconds on busy cores)."""

TAIL_LINES = 15


def check_port_free(port: int) -> None:
    """Reject a port something on 127.0.0.1 already listens on (another UI, most often).

    Without this the check for an answer would take the other server's answer for ours.
    """
    with socket.socket() as probe:
        # As uvicorn binds: a port left in TIME_WAIT by a server just stopped is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(
                    f"--port {port}: the port is in use on 127.0.0.1 (another MLflow UI?);"
                    " stop that server or pick another --port"
                ) from None
            raise UserError(f"--port {port}: cannot listen there ({exc.strerror})") from None


def serve(command: list[str], base: str, banner: list[str], limit: float = READY_LIMIT_S) -> int:
    """Start the server, print the banner once ``base`` answers, serve until it stops."""
    print(f"starting the MLflow UI on {base} ...", file=sys.stderr, flush=True)
    server = _Server(command)
    try:
        server.wait_until_answering(base, limit)
        print("\n".join(banner), flush=True)
        server.relay()  # from now on its log (requests, errors) is the user's to see
        status = server.process.wait()
    except KeyboardInterrupt as exc:
        server.stop(signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
        raise
    finally:
        server.stop(signal.SIGTERM)  # never left running behind an error of ours
    print(f"the MLflow UI stopped (exit status {status})", file=sys.stderr)
    return 0 if status == 0 else 1


class _Server:
    """The server's process group and the tail of what it printed."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._relaying = False
        self._lock = threading.Lock()
        # always drained: a full pipe would stall the server mid-request
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def wait_until_answering(self, base: str, limit: float) -> None:
        """Return once ``base`` gives any HTTP answer; raise if the server dies or stays silent."""
        host, port = base.removeprefix("http://").rsplit(":", 1)
        deadline = time.monotonic() + limit
        while not _answers(host, int(port)):
            status = self.process.poll()
            if status is not None:
                self._reader.join(timeout=5)  # its last words
                self._fail(f"the MLflow UI server exited (status {status}) before answering")
            if time.monotonic() > deadline:
                self.stop(signal.SIGTERM)
                self._fail(f"the MLflow UI server did not answer on {base} within {limit:.0f} s")
            time.sleep(0.25)

    def relay(self) -> None:
        """Pass the server's output on to stderr from now on."""
        with self._lock:
            self._relaying = True

    def stop(self, sig: int) -> None:
        """Stop the server: signal the CLI process, kill its group after a grace, sweep the rest.

        The signal goes to ``mlflow ui`` alone, which passes it to uvicorn once and waits
        for it; a second copy sent to uvicorn directly would cut its shutdown short with
        a traceback. Job consumers leave by themselves once the server is gone.
        """
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
            try:
                self.process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):  # none left: the usual case
            os.killpg(self.process.pid, signal.SIGTERM)

    def _fail(self, why: str) -> None:
        with self._lock:
            tail = [line for line in self._tail if line.strip()]
        if tail:
            print("last output of the MLflow UI server:", file=sys.stderr)
            for line in tail:
                print(f"  {line}", file=sys.stderr)
        last = f": {tail[-1].strip()}" if tail else " (it printed nothing)"
        raise UserError(why + last)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            with self._lock:
                self._tail.append(line)
                if self._relaying:
                    print(line, file=sys.stderr, flush=True)


def _answers(host: str, port: int) -> bool:
    """Tell whether an HTTP server answers a GET of ``/`` at host:port (any status)."""
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
    return True
