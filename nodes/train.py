"""Train: fit the configuration the state holds, score it on validation. One call, one trial."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context
from lgt_graph.evaluation import val_outputs
from lgt_graph.executors import Executor, LocalExecutor, rounds
from lgt_graph.proposals import next_trial
from lgt_graph.state import State
from lgt_graph.training.result import TrialResult
from lgt_graph.training.stops import judged

__all__ = ["judged", "train", "train_round"]


def train(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run one trial of ``state['config']`` and append it to the history.

    The session's executor runs it: in this process, or as a Ray task (``--executor``).
    A multi-fidelity baseline's judge (``ctx.monitor``, left by its Advisor) reads each
    epoch's validation metric and may stop the trial there: it is then *pruned*. Under
    ``--budget-seconds`` a net also stops after the epoch in which the session's seconds
    run out, and a forest after the stage (a tenth of its trees), so no method trains past
    its compute by more than one epoch or stage (boosting and linear fits cannot be
    stopped midway: they end their fit).
    """
    ctx = runtime.context
    left = None
    if ctx.settings.budget_seconds is not None:
        left = ctx.settings.budget_seconds - history.seconds_used(state)
    monitor, ctx.monitor = ctx.monitor, None  # the judge of this trial only
    executor = ctx.executor or LocalExecutor(ctx.data, ctx.placement)
    if ctx.settings.workers > 1:
        return train_round(state, runtime, executor, left)
    result = executor.train(
        state["config"],
        monitor=monitor,
        primary=ctx.primary,
        seconds_left=left,
        progress=ctx.epochs,
    )
    if val_outputs.wanted(ctx.settings):
        val_outputs.save(ctx.workdir, next_trial(state), result)
    return history.trial_update(state, result, ctx.primary)


def train_round(
    state: State, runtime: Runtime[Context], executor: Executor, left: float | None
) -> dict[str, Any]:
    """Fit a parallel round side by side; journal each result as it comes back.

    Trials a killed driver had already finished come from the journal
    (:class:`lgt_graph.executors.rounds.Journal`); only the others train.
    """
    ctx = runtime.context
    first = next_trial(state)
    journal = rounds.Journal(ctx.workdir)
    journal.clear(below=first)
    keep_outputs = val_outputs.wanted(ctx.settings)
    wanted = rounds.configs(state)
    results = [journal.load(first + i, c) for i, c in enumerate(wanted)]
    missing = [i for i, r in enumerate(results) if r is None]

    def done(position: int, result: TrialResult) -> None:
        index = missing[position]
        results[index] = result
        journal.save(first + index, wanted[index], result)
        if keep_outputs:
            val_outputs.save(ctx.workdir, first + index, result)

    if missing:
        executor.train_round(
            [wanted[i] for i in missing], primary=ctx.primary, seconds_left=left, done=done
        )
    finished = [r for r in results if r is not None]
    return history.round_update(state, finished, ctx.primary, ctx.maximize)
