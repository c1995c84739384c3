"""How an Advisor's proposal becomes the next configuration: the helpers every Advisor shares.

An Advisor node returns the configuration the next trial trains, the base trial it
changes, and the proposal as recorded (changes with reasons, rationale, how it was
obtained). :func:`propose` is the helper for your own Advisor
(``--node advisor=module:function``).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context
from lgt_graph.space import Config, config_key
from lgt_graph.state import ChangeRecord, ProposalRecord, RoundMember, State, Trial


def start_of(state: State, ctx: Context, start_from: str = "current") -> Trial | None:
    """Return the trial a proposal applies to: the base, or the best when asked for."""
    base = history.trial(state, state.get("base"))
    if start_from == "best":
        return history.best_trial(state, ctx.maximize) or base
    return base


def tried(state: State) -> dict[str, int]:
    """Map the key of every configuration trained so far, or taken (running), to its trial."""
    taken = {config_key(t["config"]): t["trial"] for t in state.get("taken", [])}
    return {**taken, **{config_key(t["config"]): t["index"] for t in history.trials(state)}}


def next_trial(state: State) -> int:
    """Return the number of the trial the proposal is for."""
    return len(state.get("trials", [])) + 1


def proposal_update(
    start: Trial | None,
    config: Config,
    changes: list[ChangeRecord],
    rationale: str,
    effect: str,
    status: str,
    for_trial: int,
    expected_gain: float | None = None,
    expected_outcome: str | None = None,
    probability: float | None = None,
    exploratory: bool = False,
    forecast: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Return an Advisor's state update: the configuration to train and the proposal record."""
    record = ProposalRecord(
        for_trial=for_trial,
        base=start["index"] if start else None,
        changes=changes,
        rationale=rationale,
        expected_effect=effect,
        status=status,
        expected_gain=expected_gain,
        expected_outcome=expected_outcome,
        probability=probability,
        exploratory=exploratory,
        forecast=forecast,
    )
    return {
        "config": config,
        "base": start["index"] if start else None,
        "pending_changes": changes,
        "proposals": [record],
    }


def round_of(updates: list[dict[str, Any]]) -> dict[str, Any]:
    """Combine a parallel round's proposal updates into the Advisor's one update.

    The first proposal is the state's ``config``; the others wait in ``round`` and train
    beside it. Every proposal is recorded, each for its own trial.
    """
    first = updates[0]
    return {
        **first,
        "proposals": [record for u in updates for record in u["proposals"]],
        "round": [
            RoundMember(config=u["config"], base=u["base"], changes=u["pending_changes"])
            for u in updates[1:]
        ],
    }


def propose(
    state: State,
    runtime: Runtime[Context],
    changes: dict[str, Any],
    reason: str,
    rationale: str | None = None,
    expected: str | None = None,
    probability: float | None = None,
) -> dict[str, Any]:
    """Return the state update of an Advisor that changes ``changes`` on the base trial.

    For your own Advisor node (``--node advisor=module:function``): the values are
    validated against the space (a ConfigError names what is allowed), and the
    proposal is recorded like the built-in Advisor's, with ``reason`` on each change.
    ``expected`` (improve, neutral or regress) and its ``probability`` are held to
    account like the built-in Advisor's (:mod:`lgt_graph.agents.predictions`); without them the
    proposal predicts nothing.
    """
    ctx = runtime.context
    base = start_of(state, ctx)
    base_config = base["config"] if base else ctx.space.default()
    config = ctx.space.apply(base_config, changes)
    records = [
        ChangeRecord(knob=k, old=base_config.get(k), new=config[k], reason=reason)
        for k in changes
        if base_config.get(k) != config[k]
    ]
    effect = "unknown" if expected is None else f"{expected}, as the Advisor node states"
    return proposal_update(
        base,
        config,
        records,
        rationale or reason,
        effect,
        "custom",
        next_trial(state),
        expected_outcome=expected,
        probability=probability,
    )
