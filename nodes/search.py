"""Advise with a baseline: ask its searcher for the next configuration, tell it every result.

The searcher (Optuna's TPE or random sampler, the grid, NAS's evolution, NoTuning)
learns only from what it is told, and the state's trial history is what it is told:
each call first tells it the trials it has not seen, then asks. The searcher is a
cache of that history. A new process (``run --resume``) rebuilds it by replaying the
history — asking again, checking that it asks for what was trained, and telling it
each score — so a resumed session continues exactly as an uninterrupted one would.

A searcher that runs out of new configurations before the budget is spent (NAS's
evolution among a few architectures, a grid smaller than the budget) does not cut its
method's budget short: the Advisor says so and proposes random configurations not yet
tried, recorded as such (``status: fallback``), so every method is compared on the same
number of trials. The searcher is not told their scores (it did not ask for them, and
Optuna cannot be told a trial it did not ask); one that asks for a configuration already
tried gets a random untried one instead. NoTuning alone ends after its one trial.
"""

from __future__ import annotations

import random
from typing import Any, cast

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.baselines import PruningSearcher, Searcher, make_searcher
from lgt_graph.context import Context
from lgt_graph.errors import UserError
from lgt_graph.executors import rounds
from lgt_graph.graph.methods import method as find
from lgt_graph.proposals import next_trial, proposal_update, round_of
from lgt_graph.space import Config, Space, config_key, diff
from lgt_graph.state import ChangeRecord, State, Trial


class SearchAdvisor:
    """The Advisor of a baseline method: its searcher proposes, the metric alone judges."""

    def __init__(self, method: str) -> None:
        if not find(method).baseline:
            raise UserError(f"{method} is not a baseline: it has no searcher to advise with")
        self.method = method
        self._session: str | None = None
        self._searcher: Searcher | None = None
        self._asked = 0
        self._told = 0

    def __call__(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Tell the searcher the trials it has not seen; propose what it asks for next.

        With ``--workers`` N it asks for a round of N at once (Optuna's batch ask).
        """
        ctx = runtime.context
        built = dict(
            state.get("searcher") or {"method": self.method, "budget": ctx.settings.budget}
        )
        trials = history.trials(state)
        searcher = self._catch_up(ctx, built, trials, state.get("proposals", []))
        size = rounds.size(state, ctx.settings) if ctx.settings.workers > 1 else 1
        taken = {config_key(t["config"]) for t in trials}
        updates: list[dict[str, Any]] = []
        for place in range(size):
            update = self._ask(searcher, ctx, len(trials), taken, next_trial(state) + place)
            if update is None:
                break
            taken.add(config_key(update["config"]))
            updates.append(update)
        # an LGTSampler's agents (the hybrid, lgt-optuna) called the model while told and asked
        calls = {"agent_calls": drained} if (drained := _agent_calls(searcher)) else {}
        if not updates:
            title = find(self.method).title
            why = f"{title} has nothing left to propose after {len(trials)} trials"
            return {"exhausted": why, "searcher": built, **calls}
        update = updates[0] if ctx.settings.workers == 1 else round_of(updates)
        return {**update, "searcher": built, **calls}

    def _ask(
        self, searcher: Searcher, ctx: Context, told: int, tried: set[str], number: int
    ) -> dict[str, Any] | None:
        """Ask the searcher for one configuration not in ``tried``; None when it has none."""
        config = searcher.ask()
        self._asked += 1
        title = find(self.method).title
        status, reason = "ok", self.method
        rationale = f"{title} asks for this configuration (told {told} results so far)."
        if (config is None or config_key(config) in tried) and self.method not in ENDS_BY_DESIGN:
            config = untried(ctx.space, tried, ctx.settings.seed, number)
            status, reason = "fallback", f"{self.method}, exhausted: random"
            rationale = (
                f"{title} has no new configuration to propose after {told} trials; a"
                " random configuration not yet tried instead, so that it spends its budget."
            )
        if config is None:
            return None
        explain = getattr(searcher, "explain", None)  # an LGTSampler says who proposed it
        said = explain(config) if explain is not None and status == "ok" else None
        if said:
            rationale = f"{rationale} {said[0].upper()}{said[1:]}"
            reason = f"{self.method}, {said.split(':')[0]}"
        monitor = getattr(searcher, "monitor", None)  # a multi-fidelity pruner's judge
        ctx.monitor = monitor(config) if monitor is not None and status == "ok" else None
        default = ctx.space.default()
        changes = [
            ChangeRecord(knob=c.knob, old=c.old, new=c.new, reason=reason)
            for c in diff(default, config)
            if c.new is not None
        ]
        expected = getattr(searcher, "expectation", None)  # the hybrid's agents, held to account
        said_of = expected(config) if expected is not None and status == "ok" else {}
        return proposal_update(
            None,
            config,
            changes,
            rationale,
            str(said_of.get("expected_effect", "unknown")),
            status,
            number,
            expected_outcome=said_of.get("expected_outcome"),
            probability=said_of.get("probability"),
            exploratory=bool(said_of.get("exploratory", False)),
            forecast=said_of.get("forecast"),
        )

    def _catch_up(
        self, ctx: Context, built: dict[str, Any], trials: list[Trial], proposals: list[Any]
    ) -> Searcher:
        """Return the session's searcher, told every trial; rebuild it by replay when needed."""
        if self._searcher is None or self._session != ctx.session_id or self._told > len(trials):
            self._searcher = make_searcher(
                str(built["method"]),
                ctx.space,
                int(built["budget"]),
                ctx.settings.seed,
                ctx.maximize,
                agents={
                    "llm": ctx.settings.llm,
                    "base_url": ctx.settings.base_url,
                    "profile": ctx.profile,
                    "llm_share": ctx.settings.llm_share,
                    "stall": ctx.settings.stall,
                    "follow": ctx.settings.follow,
                },
                workers=ctx.settings.workers,
            )
            self._session, self._asked, self._told = ctx.session_id, 0, 0
        fallbacks = {p["for_trial"] for p in proposals if p["status"] == "fallback"}
        for group in _rounds(trials[self._told :]):
            for trial in group:
                if self._asked < trial["index"]:  # replaying: the searcher asks for it again
                    self._replay(trial, trials, trial["index"] in fallbacks)
            for trial in group:
                self._tell(ctx, trial, trial["index"] in fallbacks)
        return self._searcher

    def _replay(self, trial: Trial, trials: list[Trial], fallback: bool) -> None:
        """Ask the rebuilt searcher again for a trial it asked for; check it asks the same."""
        assert self._searcher is not None
        asked = self._searcher.ask()
        self._asked += 1
        before = {config_key(t["config"]) for t in trials[: trial["index"] - 1]}
        if fallback and asked is not None and config_key(asked) not in before:
            raise RuntimeError(
                f"{self.method} does not replay its history: before trial"
                f" {trial['index']} it had nothing new to propose, now {asked}"
            )
        if not fallback and (asked is None or config_key(asked) != config_key(trial["config"])):
            raise RuntimeError(
                f"{self.method} does not replay its history: trial {trial['index']}"
                f" trained {trial['config']}, its searcher now asks for {asked}"
            )

    def _tell(self, ctx: Context, trial: Trial, fallback: bool) -> None:
        """Tell the searcher a trial's score, when it asked for the trial."""
        assert self._searcher is not None
        if not fallback:  # a searcher learns from what it asked for
            if hasattr(self._searcher, "monitor"):  # it judges epochs: tell it the curve
                result = trial["result"]
                cast(PruningSearcher, self._searcher).tell(
                    trial["config"],
                    trial["score"],
                    curve=result.get("curves", {}).get(f"val_{ctx.primary}", []),
                    pruned=history.pruned(trial),
                    curves=result.get("curves", {}),
                )
            else:
                self._searcher.tell(trial["config"], trial["score"])
        self._told += 1


def _agent_calls(searcher: Searcher) -> list[dict[str, Any]]:
    """Return the calls the searcher's LGTSampler made since the last read; none for others."""
    log = getattr(getattr(getattr(searcher, "study", None), "sampler", None), "calls", None)
    return log.drain() if log is not None else []


def _rounds(trials: list[Trial]) -> list[list[Trial]]:
    """Group trials as they were asked for: a parallel round together, the others alone."""
    groups: list[list[Trial]] = []
    for trial in trials:
        first = trial.get("round")
        if groups and first is not None and groups[-1][0].get("round") == first:
            groups[-1].append(trial)
        else:
            groups.append([trial])
    return groups


ENDS_BY_DESIGN = ("none",)
"""Methods whose searcher's end is the method: NoTuning trains the default alone."""

DRAWS = 200
"""Random draws tried for an untried configuration before the space counts as exhausted."""


def untried(space: Space, tried: set[str], seed: int, number: int) -> Config | None:
    """Draw a random configuration not in ``tried``; the same one for the same trial number.

    The model is drawn first, then every knob that model reads; the rest keep their
    defaults. None when ``DRAWS`` draws find nothing new.
    """
    rng = random.Random(f"fallback:{seed}:{number}")
    for _ in range(DRAWS):
        config = space.default()
        config["model"] = space["model"].sample(rng)
        for knob in space.knobs.values():
            if knob.name != "model" and knob.applies_to(str(config["model"])):
                config[knob.name] = knob.sample(rng)
        config = space.validate(config)
        if config_key(config) not in tried:
            return config
    return None
