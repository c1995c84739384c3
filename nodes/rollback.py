"""Rollback: after a regression, go back — to the best configuration, or to the run's weights.

Between whole trainings the next proposal starts from the best configuration. In the
epoch-level loop the run's weights, optimiser and RNG state go back to the checkpoint
the rejected change replaced (the control branch's end, or the segment's start): after a
regression, and after a change no better than its control (:func:`~lgt_graph.epoch.loop.kept`).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context
from lgt_graph.epoch.loop import rollback_update
from lgt_graph.state import State


def rollback(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Make the best trial (or, if none succeeded, the first) the base of the next proposal.

    The regressed change is not forgotten: the history marks it, and the Advisor is
    told not to repeat it. In the epoch-level loop, restore the run's checkpoint instead.
    """
    if runtime.context.settings.loop == "epoch":
        return rollback_update(state, runtime.context)
    best = history.best_trial(state, runtime.context.maximize)
    target = best or history.trials(state)[0]
    return {"base": target["index"], "config": target["config"]}


def no_rollback(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Keep the regressed trial as the base: the ablation of the rollback edge.

    The next proposal changes the configuration that just got worse (or failed), as a
    tuner without memory of its best would; the Advisor may still ask to start from the
    best on its own.
    """
    return {}
