"""Calling an agent: structured output, one repair, then a logged fallback.

Two kinds of error. The model's fault — a reply that does not parse, fails the
schema, or proposes something the space forbids — is sent back once with the
error; if the second reply fails too, the caller falls back and records why.
An endpoint that still fails after the client's own retries is also recorded
and falls back, so a run never dies on the model. Anything else is our bug and
raises.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableSequence
from pydantic import BaseModel, ValidationError

from lgt_graph.errors import ConfigError
from lgt_graph.schemas import Proposal
from lgt_graph.space import Config, Space, Value, config_key
from lgt_graph.state import AgentCall, ChangeRecord

T = TypeVar("T")
MAX_ERROR = 1500


class ProposalError(ValueError):
    """A proposal that names knobs or values outside the space, or changes nothing new."""


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


def ask(
    model: Any,
    messages: Sequence[BaseMessage],
    schema: type[BaseModel],
    check: Callable[[Any], T] | None = None,
    options: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
) -> Answer[T]:
    """Ask ``model`` for a ``schema`` answer; send an error back once; never raise on its reply.

    ``check`` turns the parsed reply into the value the caller needs, raising
    ValueError (or ConfigError) when the reply is well formed but unusable. ``config``
    is the LangChain config of the model call (its callbacks replace the graph's).
    """
    call, parse = _structured(model, schema, tuple(sorted((options or {}).items())))
    history = list(messages)
    tokens_in = tokens_out = 0
    error = ""
    for attempt in (1, 2):
        try:
            raw = call.invoke(history, config)
        except (OutputParserException, ValidationError, ValueError) as exc:
            # The client could not even build a message from the reply (tool arguments
            # that are JSON but not an object, say): the model's fault, sent back once.
            error = _one_line(exc)
            history += _repair(None, error, schema.__name__)
            continue
        except endpoint_errors() as exc:
            reason = f"endpoint error: {type(exc).__name__}: {exc}"[:MAX_ERROR]
            return Answer(None, f"fallback: {reason}", attempt, tokens_in, tokens_out, reason, True)
        usage = getattr(raw, "usage_metadata", None) or {}
        tokens_in += int(usage.get("input_tokens", 0))
        tokens_out += int(usage.get("output_tokens", 0))
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
            return Answer(value, status, attempt, tokens_in, tokens_out, error)
        error = _one_line(problem)
        history += _repair(raw, error, schema.__name__)
    return Answer(None, f"fallback: {error}", 2, tokens_in, tokens_out, error)


_RUNNABLES: dict[tuple[int, type[BaseModel], tuple[Any, ...]], tuple[Any, Any]] = {}


def _structured(model: Any, schema: type[BaseModel], options: tuple[Any, ...]) -> tuple[Any, Any]:
    """Split ``model.with_structured_output(schema)`` into its model call and its parser.

    The chain is ``bound model | parser steps``. Calling the halves keeps the raw reply
    for the repair message without ``include_raw``'s parallel branches, which start
    threads on every call (two thirds of an agent step with the heuristic model).
    """
    key = (id(model), schema, options)
    if key not in _RUNNABLES:
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
    # An assistant turn with tool calls must be answered call by call.
    return [raw, *[ToolMessage(f"Error: {error}", tool_call_id=str(c)) for c in calls], request]


def check_proposal(
    proposal: Proposal, space: Space, base: Config, tried: dict[str, int], live: bool = False
) -> tuple[Config, list[ChangeRecord]]:
    """Apply a proposal to ``base``; reject unknown knobs, bad values, no-ops and repeats.

    ``tried`` maps the key of every configuration trained so far to its trial. With
    ``live`` (the epoch-level loop) only live knobs may change, and no change at all
    means: continue the run as it is.
    """
    values: dict[str, Value] = {}
    reasons: dict[str, str] = {}
    for change in proposal.changes:
        knob = space[change.knob]
        if live and not knob.live:
            raise ProposalError(
                f"{knob.name} cannot change in the middle of a training run ({knob.dimension});"
                f" only these live knobs can: {', '.join(k.name for k in space.live())}"
            )
        if knob.name in values:
            raise ProposalError(f"knob {knob.name!r} is changed twice")
        value = change.value
        if isinstance(value, str) and knob.kind != "choice":
            value = knob.parse(value)
        values[knob.name] = knob.validate(value)
        reasons[knob.name] = change.reason
    config = space.apply(base, values)
    model = str(config.get("model", ""))
    idle = [n for n in values if n != "model" and not space[n].active_in(config)]
    if idle:
        raise ProposalError(
            f"the configuration (model {model!r}) does not read {', '.join(idle)}; change"
            f" knobs it uses ({', '.join(k.name for k in space.active(config))})"
        )
    changes = [
        ChangeRecord(knob=n, old=base.get(n), new=v, reason=reasons[n])
        for n, v in values.items()
        if base.get(n) != v
    ]
    if not changes and live and not values:
        return config, []  # continue the run unchanged
    if not changes:
        raise ProposalError("the proposal changes nothing: every value equals the base's")
    key = config_key(config)
    if key in tried:
        raise ProposalError(f"this configuration was already tried (trial {tried[key]})")
    return config, changes


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
    )


def random_change(
    space: Space,
    base: Config,
    tried: dict[str, int],
    seed: int,
    max_knobs: int = 2,
    live: bool = False,
) -> tuple[Config, list[ChangeRecord]]:
    """Change one or two knobs the model reads (live ones only, mid-run) at random; no repeat."""
    rng = random.Random(seed)
    for _ in range(500):
        names = [k.name for k in space.active(base) if k.live or not live]
        picked = rng.sample(names, k=min(len(names), rng.randint(1, max_knobs)))
        values = {n: space[n].sample(rng) for n in picked}
        config = space.apply(base, values)
        changes = [
            ChangeRecord(
                knob=n, old=base.get(n), new=v, reason="random change (no language guidance)"
            )
            for n, v in values.items()
            if base.get(n) != v
        ]
        if changes and config_key(config) not in tried:
            return config, changes
    raise RuntimeError("no untried configuration found by random changes")
