"""Advise: propose the next configuration as reasoned changes to the base trial's."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.agents.calling import ask, call_record, stop_if_endpoint_down
from lgt_graph.agents.prompting import advisor_messages
from lgt_graph.agents.proposal_checks import ProposalError, check_proposal, random_change
from lgt_graph.agents.schemas import Proposal, ProposalBatch
from lgt_graph.context import Context
from lgt_graph.epoch import guards as epoch_guards
from lgt_graph.epoch.prompts import advisor_messages as epoch_advisor_messages
from lgt_graph.epoch.prompts import history_facts
from lgt_graph.errors import ConfigError
from lgt_graph.executors import rounds
from lgt_graph.proposals import next_trial, proposal_update, round_of, start_of, tried
from lgt_graph.space import Config, config_key
from lgt_graph.state import ChangeRecord, State, Trial


def llm_advisor(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the chat model for a proposal; validate it against the space; fall back if it fails.

    With ``--workers`` N the proposal is a round of N (:func:`llm_round`).
    """
    ctx = runtime.context
    size = rounds.size(state, ctx.settings) if ctx.settings.workers > 1 else 1
    if size > 1:
        return llm_round(state, runtime, size)
    # Mid-run, a configuration may come back (the rate decays back to an old value) and
    # the changes apply to the run as it is now, never to an older state.
    live = ctx.settings.loop == "epoch"
    known = {} if live else tried(state)
    number = next_trial(state)

    past = history_facts(state)[1] if live else []

    def check(proposal: Proposal) -> tuple[Proposal, Trial | None, Config, list[ChangeRecord]]:
        start = start_of(state, ctx, "current" if live else proposal.start_from)
        config = start["config"] if start else ctx.space.default()
        checked = check_proposal(proposal, ctx.space, config, known, live)
        undone = epoch_guards.reversals(past, config, {c["knob"]: c["new"] for c in checked[1]})
        if undone:
            raise ProposalError("; ".join(undone) + ": propose another change, or none")
        return (proposal, start, *checked)

    base = start_of(state, ctx)
    patience = epoch_guards.patience_of(history.current_prompt(state))
    if live and (wait := epoch_guards.waiting(past, patience)) is not None:
        # patience: no call to the model, the run trains on unchanged
        config = base["config"] if base else ctx.space.default()
        why = f"No change: {wait}."
        return proposal_update(base, dict(config), [], why, "", "patience", number)
    build = epoch_advisor_messages if live else advisor_messages
    answer = ask(
        ctx.model,
        lambda fit: build(state, ctx, base, fit=fit),
        Proposal,
        check,
        ctx.options,
        ctx.call_config("advisor", number),
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
        proposal.expected_outcome,
        proposal.probability,
        proposal.exploratory,
        proposal.forecast.model_dump() if proposal.forecast else None,
    )
    return {**update, "agent_calls": [call]}


def llm_round(state: State, runtime: Runtime[Context], size: int) -> dict[str, Any]:
    """Ask for a round of ``size`` distinct proposals in one reply (a ProposalBatch).

    Each proposal is checked as a single one is, and against the round's earlier ones (no
    two train the same configuration). A reply with no usable proposal is sent back once;
    places the final reply leaves empty (too few proposals, or unusable ones) get random
    valid changes, recorded as fallbacks with the reason.
    """
    ctx = runtime.context
    known = tried(state)
    number = next_trial(state)
    base = start_of(state, ctx)
    Checked = tuple[Proposal, Trial | None, Config, list[ChangeRecord]]

    def check(batch: ProposalBatch) -> tuple[list[Checked], list[str]]:
        taken = dict(known)
        accepted: list[Checked] = []
        errors: list[str] = []
        for place, proposal in enumerate(batch.proposals[:size], 1):
            start = start_of(state, ctx, proposal.start_from)
            config = start["config"] if start else ctx.space.default()
            try:
                checked, changes = check_proposal(proposal, ctx.space, config, taken)
            except (ValueError, ConfigError) as exc:
                errors.append(f"proposal {place}: {exc}")
                continue
            taken[config_key(checked)] = number + len(accepted)
            accepted.append((proposal, start, checked, changes))
        if not accepted:
            raise ProposalError("no usable proposal in the round: " + "; ".join(errors))
        return accepted, errors

    config_ = ctx.call_config("advisor", number)
    answer = ask(
        ctx.model,
        lambda fit: advisor_messages(state, ctx, base, size, fit),
        ProposalBatch,
        check,
        ctx.options,
        config_,
    )
    stop_if_endpoint_down(answer, ctx.settings.on_endpoint_error)
    accepted, errors = answer.value if answer.value is not None else ([], [answer.error])
    updates = [
        proposal_update(
            start,
            config,
            changes,
            p.rationale,
            p.expected_effect,
            answer.status,
            number + place,
            p.expected_gain,
            p.expected_outcome,
            p.probability,
            p.exploratory,
            p.forecast.model_dump() if p.forecast else None,
        )
        for place, (p, start, config, changes) in enumerate(accepted)
    ]
    if len(accepted) < size:
        errors = errors or [f"the reply held {len(accepted)} of the {size} proposals asked for"]
    why = "; ".join(errors)
    taken = {**known, **{config_key(u["config"]): 0 for u in updates}}
    base_config = base["config"] if base else ctx.space.default()
    while len(updates) < size:
        place = len(updates)
        config, changes = random_change(
            ctx.space, base_config, taken, ctx.settings.seed + number + place
        )
        taken[config_key(config)] = number + place
        rationale = (
            f"The Advisor's reply left this place of the round without a usable proposal ({why});"
            " a random valid change keeps the round full."
        )
        status = f"fallback: {why}"[:500]
        updates.append(
            proposal_update(base, config, changes, rationale, "unknown", status, number + place)
        )
    return {**round_of(updates), "agent_calls": [call_record("advisor", number, answer)]}


def random_advisor(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Change one or two knobs at random: tuning without language guidance.

    With ``--workers`` N: a round of N distinct random changes to the same base.
    """
    ctx = runtime.context
    base = start_of(state, ctx)
    base_config = base["config"] if base else ctx.space.default()
    number = next_trial(state)
    live = ctx.settings.loop == "epoch"
    known = {} if live else tried(state)
    size = rounds.size(state, ctx.settings) if ctx.settings.workers > 1 else 1
    why = "Random exploration: no language guidance."
    updates = []
    for place in range(size):
        config, changes = random_change(
            ctx.space, base_config, known, ctx.settings.seed + number + place, live=live
        )
        known = {**known, config_key(config): number + place}
        updates.append(
            proposal_update(base, config, changes, why, "unknown", "random", number + place)
        )
    return updates[0] if size == 1 else round_of(updates)
