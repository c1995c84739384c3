"""Advise with a baseline: ask its searcher for the next configuration, tell it every result.

The searcher (Optuna's TPE or random sampler, the grid, NAS's evolution, NoTuning)
learns only from what it is told, and the state's trial history is what it is told:
each call first tells it the trials it has not seen, then asks. The searcher is a
cache of that history. A new process (``run --resume``) rebuilds it by replaying the
history — asking again, checking that it asks for what was trained, and telling it
each score — so a resumed session continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.baselines import Searcher, make_searcher
from lgt_graph.context import Context
from lgt_graph.errors import UserError
from lgt_graph.methods import method as find
from lgt_graph.proposals import next_trial, proposal_update
from lgt_graph.space import config_key, diff
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
        """Tell the searcher the trials it has not seen; propose what it asks for next."""
        ctx = runtime.context
        built = dict(
            state.get("searcher") or {"method": self.method, "budget": ctx.settings.budget}
        )
        trials = history.trials(state)
        searcher = self._catch_up(ctx, built, trials)
        config = searcher.ask()
        title = find(self.method).title
        number = next_trial(state)
        if config is None:
            why = f"{title} has nothing left to propose after {len(trials)} trials"
            return {"exhausted": why, "searcher": built}
        self._asked += 1
        default = ctx.space.default()
        changes = [
            ChangeRecord(knob=c.knob, old=c.old, new=c.new, reason=self.method)
            for c in diff(default, config)
            if c.new is not None
        ]
        rationale = f"{title} asks for this configuration (told {len(trials)} results so far)."
        update = proposal_update(None, config, changes, rationale, "unknown", "ok", number)
        return {**update, "searcher": built}

    def _catch_up(self, ctx: Context, built: dict[str, Any], trials: list[Trial]) -> Searcher:
        """Return the session's searcher, told every trial; rebuild it by replay when needed."""
        if self._searcher is None or self._session != ctx.session_id or self._told > len(trials):
            self._searcher = make_searcher(
                str(built["method"]),
                ctx.space,
                int(built["budget"]),
                ctx.settings.seed,
                ctx.maximize,
            )
            self._session, self._asked, self._told = ctx.session_id, 0, 0
        for trial in trials[self._told :]:
            if self._asked <= self._told:  # replaying: the searcher asks for it again
                asked = self._searcher.ask()
                self._asked += 1
                if asked is None or config_key(asked) != config_key(trial["config"]):
                    raise RuntimeError(
                        f"{self.method} does not replay its history: trial {trial['index']}"
                        f" trained {trial['config']}, its searcher now asks for {asked}"
                    )
            self._searcher.tell(trial["config"], trial["score"])
            self._told += 1
        return self._searcher
