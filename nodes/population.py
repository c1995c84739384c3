"""Population Based Training as an Advisor of the epoch-level loop (``--method pbt``).

The population lives in the run's state (``run["members"]``: each member's checkpoint
reference, configuration, last score and last trial), so the graph, its checkpoints and
its resume are the epoch-level loop's own. Each trial is one member's next segment: the
Advisor records the segment just trained into its member, picks the next member in turn,
and points the run at that member's checkpoint and configuration; the unpaired train node
continues it. At the end of each round (every member has trained once since the last)
the bottom quantile exploits a top member and explores (:mod:`lgt_graph.epoch.population`).
Every member's epochs count against the budget, and the best checkpoint of any member is
the one the session scores on the test split.
"""

from __future__ import annotations

import random
from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context
from lgt_graph.epoch import population
from lgt_graph.epoch.loop import run_of
from lgt_graph.proposals import next_trial, proposal_update
from lgt_graph.space import diff
from lgt_graph.state import ChangeRecord, State


class Population:
    """PBT's scheduler over the members of one epoch-level session."""

    def __init__(
        self,
        population: str = str(population.POPULATION),
        quantile: str = str(population.QUANTILE),
        resample: str = str(population.RESAMPLE),
    ) -> None:
        self.size = int(population)
        self.quantile, self.resample = float(quantile), float(resample)
        if self.size < 2:
            raise ValueError(f"a population needs at least 2 members, got {self.size}")

    def __call__(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Record the last segment into its member; point the run at the next member."""
        ctx = runtime.context
        run = run_of(state)
        trials = history.trials(state)
        done = len(trials)
        seed = ctx.settings.seed
        members = [dict(m) for m in run.get("members") or []]
        if not members:
            rng = random.Random(f"pbt-{seed}-start")
            members = [
                {"member": i, "ref": None, "config": c, "score": None, "trial": None}
                for i, c in enumerate(population.first_configs(ctx.space, self.size, rng))
            ]
        if done:
            last = trials[-1]
            k = (done - 1) % self.size
            members[k] |= {
                "ref": run.get("current"),  # its end, or its start when it failed
                "score": last["score"],
                "config": dict(last["config"]),
                "trial": last["index"],
            }
        k = done % self.size
        reasons: dict[str, str] = {}
        before = dict(members[k]["config"])
        why = f"PBT: member {k} trains its next segment"
        if done == k:  # its first segment, from scratch
            why = f"PBT: member {k} starts ({'the default' if k == 0 else 'random live knobs'})"
            before = ctx.space.default()
            reasons = {c.knob: "its random first value" for c in diff(before, members[k]["config"])}
        elif k == 0 and done >= self.size:  # a round ended: exploit, then explore
            why = self._exploit(members, ctx, random.Random(f"pbt-{seed}-{done}"))
        if members[k].get("exploited") is not None:
            j = members[k].pop("exploited")
            before = dict(members[k].pop("previous"))
            reasons = members[k].pop("explored")
            why += f"; member {k} copies member {j}'s weights and explores"
        config = dict(members[k]["config"])
        changes = [
            ChangeRecord(
                knob=c.knob, old=c.old, new=config[c.knob], reason=reasons.get(c.knob, "copied")
            )
            for c in diff(before, config)
        ]
        base = history.trial(state, members[k]["trial"])
        update = proposal_update(base, config, changes, why, "unknown", "pbt", next_trial(state))
        ref = members[k]["ref"]
        return {**update, "run": {**run, "members": members, "current": ref, "fallback": ref}}

    def _exploit(self, members: list[dict[str, Any]], ctx: Context, rng: random.Random) -> str:
        """Let the bottom quantile copy the top (weights and configuration), then explore."""
        scores = [m["score"] for m in members]
        bottom, top = population.quantiles(scores, ctx.maximize, self.quantile)
        moved = []
        for loser in bottom:
            winner = rng.choice(top)
            source = members[winner]
            config, how = population.explore(source["config"], ctx.space, rng, self.resample)
            previous = members[loser]["config"]
            members[loser] |= {
                "ref": source["ref"],
                "config": config,
                "score": source["score"],
                "exploited": winner,
                "previous": previous,
                "explored": {k: f"explore: {v}" for k, v in how.items()},
            }
            moved.append(f"{loser}←{winner}")
        return f"PBT round ended after {len(members)} segments: exploit {', '.join(moved)}"
