"""Prompts that fit a small context window: measure with the model's tokenizer, shorten by rule.

Many local models read 4k–8k tokens. An agent's prompt is built at the fullest
:class:`Fit` first and measured with the server's own tokenizer (llama.cpp's, or
vLLM's, when the server offers one; otherwise a conservative estimate, said so);
while it would not fit beside the reply, it is rebuilt one level shorter. The order
keeps what the agent needs longest: first the facts block goes compact, then it goes
(it repeats the text, for tools; a language model reads the text), then older history
rows and the knobs the configuration does not read, then the lessons of other sessions;
the recent history, the base configuration and the last trial's evidence stay. What
was left out is recorded with the call. A server that reports a window smaller than
the one assumed (HTTP 400, "context length") teaches it, and the call is rebuilt.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage


@dataclass(frozen=True)
class Fit:
    """How much of a prompt to keep: the fullest level first."""

    level: int = 0
    facts: str = "indent"
    """indent, compact or none: the JSON facts block."""
    history: int | None = None
    """The most recent history rows kept (None: all)."""
    in_use: bool = False
    """List only the knobs the base configuration reads (in the space and the base)."""
    brief: bool = False
    """Each knob as its name, allowed values and default, without its meaning."""
    lessons: bool = True

    def note(self) -> str:
        """Say what this level leaves out ('' at the fullest)."""
        parts = []
        if self.facts == "compact":
            parts.append("facts block compact")
        elif self.facts == "none":
            parts.append("facts block left out")
        if self.history is not None:
            parts.append(f"history: last {self.history} rows")
        if self.in_use:
            parts.append("knobs in use" + (", briefly" if self.brief else ""))
        if not self.lessons:
            parts.append("lessons left out")
        return ", ".join(parts)


LEVELS = (
    Fit(0),
    Fit(1, facts="compact"),
    Fit(2, facts="none"),
    Fit(3, facts="none", history=12, in_use=True),
    Fit(4, facts="none", history=6, in_use=True, brief=True, lessons=False),
    Fit(5, facts="none", history=3, in_use=True, brief=True, lessons=False),
)
FULL = LEVELS[0]
LEFT_OUT = '{"left_out": "the facts block, to fit the model\'s context window: read the text"}'


def facts_json(facts: dict[str, Any], fit: Fit = FULL) -> str:
    """Write a prompt's facts block at ``fit``."""
    if fit.facts == "none":
        return LEFT_OUT
    if fit.facts == "compact":
        return json.dumps(facts, separators=(",", ":"), default=str)
    return json.dumps(facts, indent=1, default=str)


def recent(rows: Sequence[str], fit: Fit = FULL, unit: str = "rows") -> list[str]:
    """Keep the most recent history rows at ``fit``, saying how many were left out."""
    if fit.history is None or len(rows) <= fit.history:
        return list(rows)
    left = len(rows) - fit.history
    return [f"({left} earlier {unit} left out to fit the context window)", *rows[-fit.history :]]


Counter = Callable[[str], int]
CHARS_PER_TOKEN = 3.0
"""The estimate where the server has no tokenizer endpoint: on the safe side for English
and JSON (most tokenizers average 3.5–4.5 characters per token on such text)."""
_WINDOW = re.compile(
    r"(?:context (?:window|length)(?: is| of)?|n_ctx[ =:]*)\D{0,20}(\d{3,7})", re.IGNORECASE
)


class Window:
    """A model's context window and how a prompt is measured against it."""

    def __init__(self, tokens: int | None, base_url: str | None, reply_tokens: int = 1024):
        self.tokens = tokens
        self.reply_tokens = reply_tokens
        self._root = _root(base_url) if base_url else None
        self._counter: Counter | None = None
        self.tokenizer = ""
        """How prompts are measured: the server's tokenizer (which endpoint) or an estimate."""
        self._lock = threading.Lock()

    @property
    def reserve(self) -> int:
        """Tokens kept for the reply: ``reply_tokens``, at most a quarter of the window."""
        return min(self.reply_tokens, (self.tokens or 0) // 4)

    @property
    def limit(self) -> int | None:
        """The most prompt tokens a call may send (the window less the reply's room)."""
        if self.tokens is None:
            return None
        return self.tokens - self.reserve

    def too_long(self, tokens: int) -> bool:
        """Whether a prompt, shortened all it can be, leaves under an eighth for the reply."""
        return self.tokens is not None and tokens > self.tokens - self.tokens // 8

    def measure(self, messages: Sequence[BaseMessage]) -> int:
        """Count ``messages``' tokens with the model's tokenizer (a few per message for roles)."""
        count = self._count()
        return sum(count(str(m.content)) + 4 for m in messages) + 3

    def learn(self, error: BaseException, sent: int) -> bool:
        """Take the window from a server's context-length error; True when it shrank."""
        found = _WINDOW.search(str(error))
        tokens = int(found.group(1)) if found else int(sent * 0.75)
        if self.tokens is not None and tokens >= self.tokens:
            tokens = int(self.tokens * 0.75)  # the count was off: leave more room
        with self._lock:
            if self.tokens is not None and tokens >= self.tokens:
                return False
            self.tokens = tokens
        return True

    def _count(self) -> Counter:
        with self._lock:
            if self._counter is None:
                self._counter, self.tokenizer = _server_counter(self._root)
            return self._counter


def _root(base_url: str) -> str:
    url = base_url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


def _estimate(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


def _server_counter(root: str | None) -> tuple[Counter, str]:
    """Find the server's tokenizer: llama-cpp-python's, llama.cpp's, vLLM's; else estimate."""
    if root is None:
        return _estimate, f"estimate ({CHARS_PER_TOKEN:g} characters per token)"
    probes: list[tuple[str, Callable[[str], dict[str, Any]], Callable[[Any], int]]] = [
        (f"{root}/extras/tokenize/count", lambda t: {"input": t}, lambda r: int(r["count"])),
        (f"{root}/tokenize", lambda t: {"content": t}, lambda r: len(r["tokens"])),
        (f"{root}/tokenize", lambda t: {"prompt": t}, lambda r: int(r["count"])),
    ]
    for url, body, read in probes:
        try:
            if read(_post(url, body("probe"))) <= 0:
                continue
        except Exception:
            continue

        def count(text: str, url: str = url, body: Any = body, read: Any = read) -> int:
            try:
                return int(read(_post(url, body(text))))
            except Exception:
                return _estimate(text)

        return count, f"server tokenizer ({url.removeprefix(root)})"
    return _estimate, f"estimate ({CHARS_PER_TOKEN:g} characters per token)"
