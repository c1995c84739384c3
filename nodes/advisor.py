"""Advise: propose the next configuration as reasoned changes to the base trial's."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph.agents import ask, call_record, check_proposal, random_change, stop_if_endpoint_down
from lgt_graph.context import Context
from lgt_graph.epoch_prompts import advisor_messages as epoch_advisor_messages
from lgt_graph.prompting import advisor_messages
from lgt_graph.proposals import next_trial, proposal_update, start_of, tried
from lgt_graph.schemas import Proposal
from lgt_graph.space import Config
from lgt_graph.state import ChangeRecord, State, Trial


def llm_advisor(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the chat model for a proposal; validate it against the space; fall back if it fails."""
    ctx = runtime.context
    # Mid-run, a configuration may come back (the rate decays back to an old value) and
    # the changes apply to the run as it is now, never to an older state.
    live = ctx.settings.loop == "epoch"
    known = {} if live else tried(state)
    number = next_trial(state)

    def check(proposal: Proposal) -> tuple[Proposal, Trial | None, Config, list[ChangeRecord]]:
        start = start_of(state, ctx, "current" if live else proposal.start_from)
        config = start["config"] if start else ctx.space.default()
        return (proposal, start, *check_proposal(proposal, ctx.space, config, known, live))

    base = start_of(state, ctx)
    messages = (epoch_advisor_messages if live else advisor_messages)(state, ctx, base)
    answer = ask(
        ctx.model, messages, Proposal, check, ctx.options, ctx.call_config("advisor", number)
    )
    stop_if_endpoint_down(answer, ctx.settings.on_endpoint_error)
    call = call_record("advisor", number, answer)
    if answer.value is None:
        base_config = base["config"] if base else ctx.space.default()
        config, changes = random_change(
            ctx.space, base_config, known, ctx.settings.seed + number, live=live
        )
        why = (
            f"The Advisor's reply could not be used ({answer.error}); a random valid change"
            " keeps the session going."
        )
        update = proposal_update(base, config, changes, why, "unknown", answer.status, number)
        return {**update, "agent_calls": [call]}
    proposal, start, config, changes = answer.value
    update = proposal_update(
        start,
        config,
        changes,
        proposal.rationale,
        proposal.expected_effect,
        answer.status,
        number,
        proposal.expected_gain,
    )
    return {**update, "agent_calls": [call]}


def random_advisor(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Change one or two knobs at random: tuning without language guidance."""
    ctx = runtime.context
    base = start_of(state, ctx)
    base_config = base["config"] if base else ctx.space.default()
    number = next_trial(state)
    live = ctx.settings.loop == "epoch"
    config, changes = random_change(
        ctx.space, base_config, {} if live else tried(state), ctx.settings.seed + number, live=live
    )
    why = "Random exploration: no language guidance."
    return proposal_update(base, config, changes, why, "unknown", "random", number)
