"""Ctrl-C and SIGTERM, noticed even where a library turns them into another error.

Python raises KeyboardInterrupt wherever the main thread happens to be. Inside compiled
code (scikit-learn's Cython, for one) it can surface as an unrelated error instead — a
ValueError about a buffer format — which a trial's error handler would record as a
failed trial before going on as if nothing had been asked. The handlers installed here
remember the signal, and :func:`check`, called wherever an error is about to be
recorded rather than raised, raises the interrupt again.

The first signal starts an orderly stop: the session's records close and the process
exits with 130 or 143. Signals after it (a second Ctrl-C, a service manager's SIGTERM
after the terminal's SIGINT) are ignored, so that they cannot cut the close short or,
arriving while the interpreter shuts down, turn that exit status into a death by signal.
SIGKILL still stops the process at once, and ``--resume`` continues from there.

One more trap: CPython remembers a KeyboardInterrupt that escaped an ``exec`` of a string
(dataclasses build their methods that way, so any import under way when Ctrl-C arrives
does it) and, at exit, turns the process into a death by SIGINT (exit status -2) even
though the interrupt was caught and the command returned 130. :func:`settle` clears that
memory before the process exits.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

from lgt_graph.errors import Terminated

_received: list[int] = []


def install() -> None:
    """Handle SIGINT (KeyboardInterrupt) and SIGTERM (Terminated), remembering each."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _handler)
        signal.signal(signal.SIGTERM, _handler)


def reset() -> None:
    """Forget the signals received so far (a new session starts)."""
    _received.clear()


def check() -> None:
    """Raise the interrupt again if one arrived; do nothing otherwise."""
    if _received:
        raise _exception(_received[-1])


def settle() -> None:
    """Forget an interrupt that escaped an ``exec``, so that the chosen exit status stands.

    CPython's flag for an unhandled KeyboardInterrupt is cleared whenever it runs a
    string of code. Call it last: after a first signal the next ones are ignored, so
    nothing can set the flag again.
    """
    exec("pass", {})  # a constant, run for its side effect on that flag


def _handler(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise _exception(signum)


def _exception(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
