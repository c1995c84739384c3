"""Advise: propose the next configuration as reasoned changes to the base trial's."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.agents import ask, call_record, check_proposal, random_change, stop_if_endpoint_down
from lgt_graph.context import Context
from lgt_graph.prompting import advisor_messages
from lgt_graph.schemas import Proposal
from lgt_graph.space import Config, config_key
from lgt_graph.state import ChangeRecord, ProposalRecord, State, Trial


def _start(state: State, ctx: Context, start_from: str = "current") -> Trial | None:
    """Return the trial a proposal applies to: the base, or the best when asked for."""
    base = history.trial(state, state.get("base"))
    if start_from == "best":
        return history.best_trial(state, ctx.maximize) or base
    return base


def _tried(state: State) -> dict[str, int]:
    return {config_key(t["config"]): t["index"] for t in history.trials(state)}


def _update(
    start: Trial | None,
    config: Config,
    changes: list[ChangeRecord],
    rationale: str,
    effect: str,
    status: str,
    for_trial: int,
) -> dict[str, Any]:
    record = ProposalRecord(
        for_trial=for_trial,
        base=start["index"] if start else None,
        changes=changes,
        rationale=rationale,
        expected_effect=effect,
        status=status,
    )
    return {
        "config": config,
        "base": start["index"] if start else None,
        "pending_changes": changes,
        "proposals": [record],
    }


def llm_advisor(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the chat model for a proposal; validate it against the space; fall back if it fails."""
    ctx = runtime.context
    tried = _tried(state)
    next_trial = len(state.get("trials", [])) + 1

    def check(proposal: Proposal) -> tuple[Proposal, Trial | None, Config, list[ChangeRecord]]:
        start = _start(state, ctx, proposal.start_from)
        config = start["config"] if start else ctx.space.default()
        return (proposal, start, *check_proposal(proposal, ctx.space, config, tried))

    base = _start(state, ctx)
    messages = advisor_messages(state, ctx, base)
    config = ctx.call_config("advisor", next_trial)
    answer = ask(ctx.model, messages, Proposal, check, ctx.options, config)
    stop_if_endpoint_down(answer, ctx.settings.on_endpoint_error)
    call = call_record("advisor", next_trial, answer)
    if answer.value is None:
        base_config = base["config"] if base else ctx.space.default()
        config, changes = random_change(
            ctx.space, base_config, tried, ctx.settings.seed + next_trial
        )
        why = (
            f"The Advisor's reply could not be used ({answer.error}); a random valid change"
            " keeps the session going."
        )
        update = _update(base, config, changes, why, "unknown", answer.status, next_trial)
        return {**update, "agent_calls": [call]}
    proposal, start, config, changes = answer.value
    update = _update(
        start, config, changes, proposal.rationale, proposal.expected_effect, answer.status,
        next_trial,
    )  # fmt: skip
    return {**update, "agent_calls": [call]}


def random_advisor(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Change one or two knobs at random: tuning without language guidance."""
    ctx = runtime.context
    base = _start(state, ctx)
    base_config = base["config"] if base else ctx.space.default()
    next_trial = len(state.get("trials", [])) + 1
    seed = ctx.settings.seed + next_trial
    config, changes = random_change(ctx.space, base_config, _tried(state), seed)
    why = "Random exploration: no language guidance."
    return _update(base, config, changes, why, "unknown", "random", next_trial)


def propose(
    state: State,
    runtime: Runtime[Context],
    changes: dict[str, Any],
    reason: str,
    rationale: str | None = None,
) -> dict[str, Any]:
    """Return the state update of an Advisor that changes ``changes`` on the base trial.

    For your own Advisor node (``--node advisor=module:function``): the values are
    validated against the space (a ConfigError names what is allowed), and the
    proposal is recorded like the built-in Advisor's, with ``reason`` on each change.
    """
    ctx = runtime.context
    base = _start(state, ctx)
    base_config = base["config"] if base else ctx.space.default()
    config = ctx.space.apply(base_config, changes)
    records = [
        ChangeRecord(knob=k, old=base_config.get(k), new=config[k], reason=reason)
        for k in changes
        if base_config.get(k) != config[k]
    ]
    next_trial = len(state.get("trials", [])) + 1
    return _update(base, config, records, rationale or reason, "unknown", "custom", next_trial)
