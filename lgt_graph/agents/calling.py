"""Calling an agent: structured output, one repair, then a logged fallback.

Two kinds of error. The model's fault — a reply that does not parse, fails the
schema, or proposes something the space forbids — is sent back once with the
error; if the second reply fails too, the caller falls back and records why.
An endpoint that still fails after the client's own retries is also recorded
and falls back, so a run never dies on the model. Anything else is our bug and
raises. Against a real endpoint, a server that refuses a structured-output mode gets
the next (:mod:`lgt_graph.llm.structured`) and a prompt is rebuilt shorter until it
fits the model's window (:mod:`lgt_graph.llm.fitting`), each recorded with the call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableSequence
from pydantic import BaseModel, ValidationError

from lgt_graph.errors import ConfigError
from lgt_graph.llm.fitting import LEVELS, Fit, Window
from lgt_graph.llm.structured import ModeLadder, context_overflow, runnable, schema_message
from lgt_graph.state import AgentCall

T = TypeVar("T")
MAX_ERROR = 1500


@dataclass
class Answer(Generic[T]):
    """An agent's answer after at most one repair; ``value`` is None when it fell back."""

    value: T | None
    status: str
    attempts: int
    input_tokens: int = 0
    output_tokens: int = 0
    error: str = ""
    endpoint_down: bool = False
    """The chat endpoint still failed after the client's retries (not the model's fault)."""
    prompt_tokens: int = 0
    """The prompt's tokens by the model's tokenizer, measured before sending (0: not measured)."""
    fit: str = ""
    """What was left out of the prompt to fit the context window ('' : nothing)."""
    mode: str = ""
    """The structured-output mode the last request went in ('' : the model's own)."""
    notes: list[str] = field(default_factory=list)
    """Structured-output modes the server refused, windows learned: each once, in order."""
    seconds: float = 0.0


class EndpointUnavailable(RuntimeError):
    """The chat endpoint failed after its retries and the session is set to stop for it."""


def stop_if_endpoint_down(answer: Answer[Any], policy: str) -> None:
    """Raise EndpointUnavailable when the endpoint failed and ``policy`` is ``stop``.

    Stopping leaves the session checkpointed before the failed step, so ``run --resume``
    repeats that step once the endpoint is back; ``fallback`` carries on without it.
    """
    if answer.endpoint_down and policy == "stop":
        raise EndpointUnavailable(answer.error)


def endpoint_errors() -> tuple[type[BaseException], ...]:
    """Return the exceptions of a chat endpoint that stays down after its retries."""
    errors: list[type[BaseException]] = [TimeoutError, ConnectionError]
    try:
        import httpx
        import openai

        errors += [openai.APIError, httpx.HTTPError]
    except ImportError:  # pragma: no cover - langchain-openai brings both
        pass
    return tuple(errors)


Prompt = Sequence[BaseMessage] | Callable[[Fit], Sequence[BaseMessage]]
"""An agent's messages, or a builder of them at a :class:`~lgt_graph.llm.fitting.Fit`."""
MAX_SENDS = 8
"""The most requests one call makes: two attempts, mode moves and rebuilt prompts in all."""


def ask(
    model: Any,
    messages: Prompt,
    schema: type[BaseModel],
    check: Callable[[Any], T] | None = None,
    options: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
) -> Answer[T]:
    """Ask ``model`` for a ``schema`` answer; send an error back once; never raise on its reply.

    ``check`` turns the parsed reply into the value the caller needs, raising
    ValueError (or ConfigError) when the reply is well formed but unusable. ``config``
    is the LangChain config of the model call (its callbacks replace the graph's).
    ``options`` of a real endpoint (:func:`lgt_graph.llm.make_chat_model`) hold its
    structured-output ``ladder`` and its context ``window``: a builder of messages is
    then rebuilt shorter until the prompt fits.
    """
    options = options or {}
    ladder: ModeLadder | None = options.get("ladder")
    window: Window | None = options.get("window")
    build = messages if callable(messages) else (lambda fit: messages)
    started = time.monotonic()
    level, notes = 0, list[str]()
    prompt, level, sent = _fitted(build, window, level)
    answer = Answer[T](None, "", 0, prompt_tokens=sent, fit=LEVELS[level].note())
    if window is not None and window.too_long(sent):
        error = (
            f"the prompt holds {sent} tokens, too many for the model's window of"
            f" {window.tokens} with room for a reply, even shortened ({answer.fit})"
        )
        return _done(answer, None, f"fallback: {error}", 0, error, notes, started, None)
    history = list(prompt)
    repairs: list[BaseMessage] = []
    error = ""
    attempt = sends = 0
    # the built-in model's own options key its runnables; a real endpoint's are its ladder
    own = () if ladder is not None else tuple(sorted(options.items()))
    while attempt < 2 and sends < MAX_SENDS:
        attempt += 1
        sends += 1
        mode = ladder.mode if ladder is not None else None
        call, parse = _structured(model, schema, mode, own)
        sending = [*history, *repairs]
        if mode == "json_mode":
            sending.insert(
                1 if sending and isinstance(sending[0], SystemMessage) else 0,
                schema_message(schema),
            )
        try:
            raw = call.invoke(sending, config)
        except (OutputParserException, ValidationError, ValueError) as exc:
            # The client could not even build a message from the reply (tool arguments
            # that are JSON but not an object, say): the model's fault, sent back once.
            error = _one_line(exc)
            repairs += _repair(None, error, schema.__name__)
            continue
        except endpoint_errors() as exc:
            note = ladder.refused(mode or "", exc) if ladder is not None else None
            overflow = window is not None and context_overflow(exc)
            if note is None and window is not None and overflow:
                sent = answer.prompt_tokens or window.measure(history)
                if window.learn(exc, sent):  # the server's window is smaller: rebuild
                    shorter, level, sent = _fitted(build, window, level)
                    history, answer.prompt_tokens = list(shorter), sent
                    answer.fit = LEVELS[level].note()
                    note = f"context window: {window.tokens} tokens; prompt {sent} ({answer.fit})"
            if note is not None:
                notes.append(note)
                error = note  # what the call ends with, if the sends run out here
                attempt -= 1  # the same attempt again, in the next mode or shorter
                continue
            reason = f"endpoint error: {type(exc).__name__}: {exc}"[:MAX_ERROR]
            return _done(
                answer,
                None,
                f"fallback: {reason}",
                attempt,
                reason,
                notes,
                started,
                mode,
                endpoint_down=True,
            )
        if ladder is not None:
            ladder.answered()
        usage = getattr(raw, "usage_metadata", None) or {}
        answer.input_tokens += int(usage.get("input_tokens", 0))
        answer.output_tokens += int(usage.get("output_tokens", 0))
        problem: BaseException | None = None
        value: Any = None
        try:
            parsed = parse.invoke(raw)
            if parsed is None:
                raise ValueError(f"the reply holds no {schema.__name__}")
            value = check(parsed) if check is not None else parsed
        except (OutputParserException, ValidationError, ValueError, ConfigError) as exc:
            problem = exc
        if problem is None:
            status = "ok" if attempt == 1 else "repaired"
            return _done(answer, value, status, attempt, error, notes, started, mode)
        error = _one_line(problem)
        repairs += _repair(raw, error, schema.__name__)
    return _done(answer, None, f"fallback: {error}", attempt, error, notes, started, mode)


def _done(
    answer: Answer[Any],
    value: Any,
    status: str,
    attempts: int,
    error: str,
    notes: list[str],
    started: float,
    mode: str | None,
    endpoint_down: bool = False,
) -> Answer[Any]:
    answer.value, answer.status, answer.attempts, answer.error = value, status, attempts, error
    answer.endpoint_down = endpoint_down
    answer.notes, answer.mode = notes, mode or ""
    answer.seconds = time.monotonic() - started
    return answer


def _fitted(
    build: Callable[[Fit], Sequence[BaseMessage]], window: Window | None, level: int
) -> tuple[Sequence[BaseMessage], int, int]:
    """Build the prompt at ``level`` or shorter until it fits; return it, its level, its tokens."""
    if window is None or window.limit is None:  # no window known: nothing to measure against
        return build(LEVELS[level]), level, 0
    while True:
        prompt = build(LEVELS[level])
        tokens = window.measure(prompt)
        if window.limit is None or tokens <= window.limit or level + 1 >= len(LEVELS):
            return prompt, level, tokens
        level += 1


_RUNNABLES: dict[tuple[int, type[BaseModel], str | None, tuple[Any, ...]], tuple[Any, Any]] = {}


def _structured(
    model: Any, schema: type[BaseModel], mode: str | None, options: tuple[Any, ...]
) -> tuple[Any, Any]:
    """Split the structured-output chain of ``model`` into its model call and its parser.

    The chain is ``bound model | parser steps``. Calling the halves keeps the raw reply
    for the repair message without ``include_raw``'s parallel branches, which start
    threads on every call (two thirds of an agent step with the heuristic model).
    With a ``mode`` (a real endpoint's ladder) the chain is
    :func:`lgt_graph.llm.structured.runnable`'s.
    """
    key = (id(model), schema, mode, options)
    if key not in _RUNNABLES:
        if mode is not None:
            _RUNNABLES[key] = runnable(model, schema, mode)
            return _RUNNABLES[key]
        chain = model.with_structured_output(schema, **dict(options))
        if not isinstance(chain, RunnableSequence):
            raise TypeError(f"{type(model).__name__}.with_structured_output is not a sequence")
        steps = chain.steps
        parse = steps[1] if len(steps) == 2 else RunnableSequence(*steps[1:])
        _RUNNABLES[key] = (steps[0], parse)
    return _RUNNABLES[key]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:MAX_ERROR]


def _repair(raw: Any, error: str, name: str) -> list[BaseMessage]:
    """Build the messages that send an unusable reply's error back to the model."""
    request = HumanMessage(
        f"Your reply could not be used: {error}\nAnswer again with a corrected {name}."
    )
    if not isinstance(raw, AIMessage):
        return [request]
    calls = [c.get("id") for c in (*raw.tool_calls, *raw.invalid_tool_calls) if c.get("id")]
    if not calls:
        return [AIMessage(str(raw.content)[:MAX_ERROR]), request]
    # An assistant turn with tool calls must be answered call by call. Its text must not be
    # empty: the client sends it as null, which llama.cpp's server refuses (HTTP 500).
    turn = raw if raw.content else raw.model_copy(update={"content": f"({name} as a tool call)"})
    return [turn, *[ToolMessage(f"Error: {error}", tool_call_id=str(c)) for c in calls], request]


def call_record(agent: str, trial: int, answer: Answer[Any]) -> AgentCall:
    """Summarise one agent call for the state (and the MLflow record of the session)."""
    return AgentCall(
        agent=agent,
        trial=trial,
        status=answer.status.split(":")[0],
        attempts=answer.attempts,
        input_tokens=answer.input_tokens,
        output_tokens=answer.output_tokens,
        error=answer.error,
        prompt_tokens=answer.prompt_tokens,
        fit=answer.fit,
        mode=answer.mode,
        notes=list(answer.notes),
        seconds=round(answer.seconds, 3),
    )
