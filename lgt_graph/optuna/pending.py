"""Trials running beside the next proposal: what they hold, and the claim on a proposal.

With ``n_jobs`` (threads) or several processes on one RDB study, a trial is asked for
while others still run. Their results are not in, so the finished trials alone would
give the agents the same facts twice and they would answer the same. Each running
trial's configuration, as far as it is known, is given to the agents as taken
(``State["taken"]``): the proposal it was handed (``lgt_claim``, written before it is
handed out), else the parameters enqueued with it and those it has suggested so far.

The threads of one sampler propose in turn (its lock). Processes share no lock, so a
proposal is claimed before it is handed out and checked against the other trials once
the claim is written: of two workers that claim one configuration at once, at least
the one that reads second sees the other's claim and gives its own up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langgraph.runtime import Runtime
from optuna.distributions import BaseDistribution
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from lgt_graph.context import Context
from lgt_graph.optuna.space import config_of, params_of
from lgt_graph.optuna.study_state import FINISHED, PREFIX, mark
from lgt_graph.space import Space
from lgt_graph.state import ProposalRecord, State, Taken

CLAIM = f"{PREFIX}claim"
"""The trial user attribute that holds the parameters the agents handed the trial."""
RUNNING = "running, no result yet"


def known(trial: FrozenTrial) -> dict[str, Any]:
    """Return the parameters a trial trains, as far as they are known yet."""
    fixed = trial.system_attrs.get("fixed_params") or {}
    return {**fixed, **trial.params, **(trial.user_attrs.get(CLAIM) or {})}


def running(trials: Sequence[FrozenTrial], space: Space, asking: int) -> list[Taken]:
    """Return the configurations of the trials running beside trial ``asking``, as taken."""
    out: list[Taken] = []
    for trial in trials:
        if trial.state != TrialState.RUNNING or trial.number == asking:
            continue
        params = {k: v for k, v in known(trial).items() if k in space}
        if params:  # a trial that has suggested nothing yet holds nothing
            out.append(Taken(trial=trial.number, config=config_of(params, space), why=RUNNING))
    return out


def repeated(trials: Sequence[FrozenTrial], asking: int, params: Mapping[str, Any]) -> int | None:
    """Return a trial other than ``asking`` that trains ``params``: finished, or running."""
    for trial in trials:
        if trial.number == asking or trial.state not in (*FINISHED, TrialState.RUNNING):
            continue
        held = trial.params if trial.state in FINISHED else known(trial)
        if all(name in held and held[name] == value for name, value in params.items()):
            return trial.number
    return None


def claim(study: Study, trial: FrozenTrial, params: Mapping[str, Any]) -> int | None:
    """Claim ``params`` for ``trial``, or give the claim up: return the trial that holds them."""
    mark(study, trial, claim=dict(params))
    other = repeated(study._get_trials(deepcopy=False, use_cache=False), trial.number, params)
    if other is not None:
        mark(study, trial, claim={})
    return other


def propose(
    advise: Callable[[State, Runtime[Context]], dict[str, Any]],
    study: Study,
    trial: FrozenTrial,
    state: State,
    runtime: Runtime[Context],
    search_space: Mapping[str, BaseDistribution],
    whole: Mapping[str, BaseDistribution],
) -> tuple[ProposalRecord, dict[str, Any], dict[str, Any]] | str:
    """Return the Advisor's proposal, its parameters and planned ones; or why there is none.

    ``whole``: the objective's whole space, when known (planned: the parameters no trial
    suggested yet that the proposal sets). A proposal no other trial trains is claimed for
    ``trial``; one that lands on another trial's parameters once repaired into the
    distributions (a value snapped to a step), or that another process claimed at the same
    moment, is told back to the Advisor as taken, once.
    """
    start, other = runtime.context.space.default(), None
    for _ in range(2):
        update = advise(state, runtime)
        proposal = (update.get("proposals") or [None])[-1]
        if update.get("exhausted") or proposal is None:
            return str(update.get("exhausted", "no proposal"))
        if str(proposal["status"]).startswith("fallback"):
            return f"the Advisor's {proposal['status']}"
        config = update["config"]
        params = params_of(config, search_space)
        unseen = {k: d for k, d in whole.items() if k not in search_space}
        planned = params_of(config, {k: d for k, d in unseen.items() if config[k] != start[k]})
        other = claim(study, trial, {**params, **planned})
        if other is None:
            return proposal, params, planned
        why = "proposed, but inside the study's distributions it is this trial's"
        state = {
            **state,
            "taken": [*state.get("taken", []), Taken(trial=other, config=config, why=why)],
        }
    return f"the agents' proposals repeat trial {other}'s parameters"
