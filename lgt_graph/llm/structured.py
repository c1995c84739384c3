"""Structured output that fits the server: three ways to ask, and a ladder down them.

OpenAI-compatible servers take a structured answer in different ways: ``json_schema``
(OpenAI, vLLM, Ollama), ``json_mode`` — ``response_format`` ``json_object`` with the
schema beside it, the form llama.cpp's servers take — and function calling. A
:class:`ModeLadder` starts at the mode asked for (``--structured-output``; ``auto``
starts at function calling, the form most servers take) and, when the server refuses a
mode it has not answered yet (an HTTP error about the request's form, before that mode
ever answered), moves once to the next — in the order json_schema, json_mode, function
calling, the mode tried first left out — recording why. A mode that answered once is
kept: a later error is the endpoint's, not the mode's.

The schema sent to the server is relaxed: string length bounds and large list bounds are
left out (llama.cpp expands a ``maxLength`` into grammar rules that it rejects, and its
server exits), and the reply
is validated against the full pydantic schema afterwards, so a reply past a bound is the
model's fault, sent back once like any other.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from langchain_core.messages import BaseMessage, SystemMessage
from langchain_core.output_parsers import JsonOutputParser
from langchain_core.runnables import RunnableLambda, RunnableSequence
from pydantic import BaseModel

MODES = ("json_schema", "json_mode", "function_calling")
"""The order a refused mode falls back in, after the mode tried first."""
AUTO = "function_calling"
"""The mode ``auto`` tries first: the form OpenAI, vLLM, Ollama and llama.cpp all take."""
_DROPPED = ("maxLength", "minLength", "pattern")
MAX_ITEMS = 8
"""A bound on a list's length that stays in the relaxed schema (a larger one is dropped)."""
_REFUSALS = (400, 404, 405, 415, 422, 500, 501)
"""HTTP statuses with which a server refuses a way of asking it hasn't answered yet."""
_ABOUT_THE_REQUEST = (
    "response_format",
    "json_schema",
    "json_object",
    "tool",
    "function",
    "grammar",
    "schema",
    "not supported",
    "unsupported",
    "input should be",
    "extra inputs",
    "unrecognized",
)
"""Words in an error that say the request's form was refused (a bare 500 says nothing)."""


@dataclass
class ModeLadder:
    """The structured-output modes to try in order, the one in use, and each move down."""

    modes: tuple[str, ...]
    index: int = 0
    confirmed: bool = False
    """The mode in use has answered once: a later error is not a refusal of the mode."""
    moves: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def starting_at(cls, first: str) -> ModeLadder:
        """Return the ladder that starts at ``first`` (``auto``: function calling)."""
        start = AUTO if first == "auto" else first
        return cls((start, *[m for m in MODES if m != start]))

    @property
    def mode(self) -> str:
        """The mode requests are sent in now."""
        return self.modes[self.index]

    def answered(self) -> None:
        """Record that the mode in use answered."""
        self.confirmed = True

    def refused(self, mode: str, error: BaseException) -> str | None:
        """Move down once when the server refused ``mode``; return the note, or None.

        None: the error is not a refusal (a transient status, a dead connection, a mode
        that already answered, or no mode left), so the caller treats it as before.
        """
        if not is_refusal(error):
            return None
        with self._lock:
            if mode != self.mode:  # another thread moved the ladder already
                return f"structured output: {mode} refused; already on {self.mode}"
            if self.confirmed or self.index + 1 >= len(self.modes):
                return None
            self.index += 1
            reason = " ".join(str(error).split())[:300]
            note = f"structured output: {mode} refused ({reason}); now {self.mode}"
            self.moves.append(note)
            return note


def is_refusal(error: BaseException) -> bool:
    """Whether ``error`` is a server refusing the form of a request (its structured output)."""
    status = getattr(error, "status_code", None)
    text = str(error).lower()
    return (
        status in _REFUSALS
        and any(word in text for word in _ABOUT_THE_REQUEST)
        and not context_overflow(error)
    )


def context_overflow(error: BaseException) -> bool:
    """Whether the server says the prompt is longer than its context window."""
    text = str(error).lower()
    return any(
        phrase in text
        for phrase in (
            "context length",
            "context window",
            "maximum context",
            "context_length_exceeded",
            "exceed context",
            "exceeds the context",
            "too many tokens",
        )
    )


def _pruned(node: Any, drop: Callable[[str, Any], bool]) -> Any:
    """Return a JSON schema without the keys ``drop`` names, at every depth."""
    if isinstance(node, dict):
        return {k: _pruned(v, drop) for k, v in node.items() if not drop(k, v)}
    if isinstance(node, list):
        return [_pruned(v, drop) for v in node]
    return node


@cache
def relaxed_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """Return ``schema``'s JSON schema without the length bounds that break grammars."""
    out = _pruned(
        schema.model_json_schema(),
        lambda k, v: k in _DROPPED or (k == "maxItems" and v > MAX_ITEMS),
    )
    out.setdefault("description", (schema.__doc__ or schema.__name__).strip())
    return dict(out)


def runnable(model: Any, schema: type[BaseModel], mode: str) -> tuple[Any, Any]:
    """Return (model call, parser) that ask ``model`` for a ``schema`` answer in ``mode``.

    The parser ends in the pydantic schema's own validation.
    """
    relaxed = relaxed_schema(schema)
    validate: RunnableLambda[Any, Any] = RunnableLambda(
        lambda value: None if value is None else schema.model_validate(value)
    )
    if mode == "json_mode":
        bound = model.bind(response_format={"type": "json_object", "schema": relaxed})
        return bound, RunnableSequence(JsonOutputParser(), validate)
    chain = model.with_structured_output(relaxed, method=mode)
    steps = chain.steps
    return steps[0], RunnableSequence(*steps[1:], validate)


@cache
def schema_message(schema: type[BaseModel]) -> BaseMessage:
    """Say what JSON ``json_mode`` expects (a server may not read the schema it is sent).

    The schema goes without its descriptions and titles, which the prompt's text gives.
    """
    bare = _pruned(relaxed_schema(schema), lambda k, v: k in ("description", "title"))
    text = json.dumps(bare, separators=(",", ":"))
    return SystemMessage(f"Answer with one JSON object, no other text, of this schema: {text}")
