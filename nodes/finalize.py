"""Finalize: refit the best configuration and score it, once, on the held-out test split."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context
from lgt_graph.epoch_loop import best_on_validation, score_best
from lgt_graph.nested import score_trial_checkpoint
from lgt_graph.selection import one_se_trial
from lgt_graph.state import State, Trial
from lgt_graph.tasks import TaskData
from lgt_graph.training import train
from lgt_graph.training.result import Progress, Pruned

if TYPE_CHECKING:
    from lgt_graph.training.device import Placement


def refit_best(
    state: State,
    data: TaskData,
    maximize: bool,
    placement: Placement | None = None,
    chosen: Trial | None = None,
) -> dict[str, Any]:
    """Refit the best trial's configuration with the same seed; score validation and test.

    ``chosen``: another trial to refit (by a selection rule). The refit trains and
    scores on ``placement``, the device the trials trained on. A trial that was cut (by
    the seconds budget, or a pruner when nothing else finished) is refit to the same
    epoch and stopped there, as it was: the same model, no more compute.
    """
    best = chosen or history.best_trial(state, maximize)
    if best is None:
        return {"status": "failed", "reason": "no trial succeeded", "trial": None}
    cut = history.cut_at(best)
    with data.open_test():  # the one place a session reads the test split
        result = train(
            best["config"],
            data,
            progress=None if cut is None else stop_after(cut),
            score_test=True,
            placement=placement,
        )
    return {
        "status": result.status,
        "trial": best["index"],
        "config": best["config"],
        "val": result.metrics,
        "test": result.test_metrics,
        "reason": result.reason,
        "wall_time": result.wall_time,
    }


def stop_after(epoch: int) -> Progress:
    """Return a per-epoch callback that stops a net after ``epoch``, as its trial was."""

    def step(info: dict[str, Any]) -> None:
        if int(info["epoch"]) >= epoch and int(info["epoch"]) < int(info.get("epochs", epoch)):
            raise Pruned(int(info["epoch"]), by="budget")

    return step


def finalize(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Record the final refit of the session's best configuration.

    In the epoch-level loop there is nothing to refit: the run's best checkpoint (chosen
    on validation) is the model, scored once on the test split.
    """
    ctx = runtime.context
    if ctx.settings.loop == "epoch":
        return {"final": score_best(state, ctx)}
    if ctx.settings.loop == "both":
        scored = score_trial_checkpoint(state, ctx)
        if scored is not None:
            return {"final": scored}
    return {"final": refit_best(state, ctx.data, ctx.maximize, ctx.placement)}


def one_se(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Record the final refit of the earliest trial within one standard error of the best.

    The one-standard-error rule (:mod:`lgt_graph.selection`), for the trial loop; the
    epoch-level loops keep their own choice, as :func:`finalize` makes it.
    """
    ctx = runtime.context
    if ctx.settings.loop != "trial":
        return finalize(state, runtime)
    chosen, why = one_se_trial(state, ctx)
    final = refit_best(state, ctx.data, ctx.maximize, ctx.placement, chosen)
    return {"final": {**final, "selection": why}}


def best_checkpoint(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """End an inner epoch-level run (``--loop both``) on its best state, without the test split."""
    return {"final": best_on_validation(state, runtime.context)}
