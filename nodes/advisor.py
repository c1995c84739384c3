"""Advise: propose the next configuration as reasoned changes to the base trial's."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.agents import ask, call_record, check_proposal, random_change
from lgt_graph.context import Context
from lgt_graph.prompting import advisor_messages
from lgt_graph.schemas import Proposal
from lgt_graph.space import Config, config_key
from lgt_graph.state import ChangeRecord, ProposalRecord, State


def _base(state: State, ctx: Context) -> tuple[int | None, Config, dict[str, int]]:
    base = history.trial(state, state.get("base"))
    tried = {config_key(t["config"]): t["index"] for t in history.trials(state)}
    return (
        (base["index"] if base else None),
        (base["config"] if base else ctx.space.default()),
        tried,
    )


def _update(
    index: int | None,
    config: Config,
    changes: list[ChangeRecord],
    rationale: str,
    effect: str,
    status: str,
    for_trial: int,
) -> dict[str, Any]:
    record = ProposalRecord(
        for_trial=for_trial,
        base=index,
        changes=changes,
        rationale=rationale,
        expected_effect=effect,
        status=status,
    )
    return {"config": config, "pending_changes": changes, "proposals": [record]}


def llm_advisor(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the chat model for a proposal; validate it against the space; fall back if it fails."""
    ctx = runtime.context
    index, base_config, tried = _base(state, ctx)
    next_trial = len(state.get("trials", [])) + 1

    def check(proposal: Proposal) -> tuple[Proposal, Config, list[ChangeRecord]]:
        return (proposal, *check_proposal(proposal, ctx.space, base_config, tried))

    base = history.trial(state, index)
    answer = ask(ctx.model, advisor_messages(state, ctx, base), Proposal, check, ctx.options)
    call = call_record("advisor", next_trial, answer)
    if answer.value is None:
        config, changes = random_change(
            ctx.space, base_config, tried, ctx.settings.seed + next_trial
        )
        update = _update(
            index,
            config,
            changes,
            f"The Advisor's reply could not be used ({answer.error}); a random valid"
            " change keeps the session going.",
            "unknown",
            answer.status,
            next_trial,
        )
        return {**update, "agent_calls": [call]}
    proposal, config, changes = answer.value
    update = _update(
        index,
        config,
        changes,
        proposal.rationale,
        proposal.expected_effect,
        answer.status,
        next_trial,
    )
    return {**update, "agent_calls": [call]}


def random_advisor(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Change one or two knobs at random: tuning without language guidance."""
    ctx = runtime.context
    index, base_config, tried = _base(state, ctx)
    next_trial = len(state.get("trials", [])) + 1
    config, changes = random_change(ctx.space, base_config, tried, ctx.settings.seed + next_trial)
    return _update(
        index,
        config,
        changes,
        "Random exploration: no language guidance.",
        "unknown",
        "random",
        next_trial,
    )
