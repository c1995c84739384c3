"""Finalize: refit the best configuration and score it, once, on the held-out test split."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context
from lgt_graph.epoch.loop import best_on_validation, score_best
from lgt_graph.epoch.nested import score_trial_checkpoint
from lgt_graph.evaluation import ensemble as ensemble_rule
from lgt_graph.evaluation.selection import one_se_trial
from lgt_graph.expert.degenerate import degenerate_line
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
        return {"final": warned(score_best(state, ctx), state, ctx)}
    if ctx.settings.loop == "both":
        scored = score_trial_checkpoint(state, ctx)
        if scored is not None:
            return {"final": warned(scored, state, ctx)}
    return {"final": warned(refit_best(state, ctx.data, ctx.maximize, ctx.placement), state, ctx)}


def warned(final: dict[str, Any], state: State, ctx: Context) -> dict[str, Any]:
    """Add a ``warning`` to a final result whose trial is degenerate (one class, a constant)."""
    trial = history.trial(state, final.get("trial"))
    diagnostics = trial["result"].get("diagnostics", {}) if trial else {}
    warning = degenerate_line(final, diagnostics, ctx.data.task.problem)
    return {**final, "warning": warning} if warning else final


def one_se(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Record the final refit of the earliest trial within one standard error of the best.

    The one-standard-error rule (:mod:`lgt_graph.evaluation.selection`), for the trial loop; the
    epoch-level loops keep their own choice, as :func:`finalize` makes it.
    """
    ctx = runtime.context
    if ctx.settings.loop != "trial":
        return finalize(state, runtime)
    chosen, why = one_se_trial(state, ctx)
    final = refit_best(state, ctx.data, ctx.maximize, ctx.placement, chosen)
    return {"final": warned({**final, "selection": why}, state, ctx)}


def best_checkpoint(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """End an inner epoch-level run (``--loop both``) on its best state, without the test split."""
    return {"final": best_on_validation(state, runtime.context)}


def ensemble(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Record an ensemble of the best trials, weighted greedily on validation (trial loop).

    Caruana's selection (:mod:`lgt_graph.evaluation.ensemble`); each chosen configuration is refit
    on
    train, and their weighted test outputs are scored once. With one trial chosen (or the
    epoch-level loops) it is :func:`finalize`.
    """
    ctx = runtime.context
    if ctx.settings.loop != "trial":
        return finalize(state, runtime)
    data = ctx.data
    outputs = ensemble_rule.pool(state, ctx.workdir, ctx.maximize)
    if len(outputs) < 2:
        return finalize(state, runtime)
    weights = ensemble_rule.select(outputs, data.y_val, data.n_classes, ctx.primary, ctx.maximize)
    lead = max(weights, key=lambda i: (weights[i], -i))
    if len(weights) == 1:
        final = refit_best(state, data, ctx.maximize, ctx.placement, history.trial(state, lead))
        return {"final": {**final, "selection": {"rule": "ensemble", "weights": {str(lead): 1.0}}}}
    test = np.zeros(1)
    seconds = 0.0
    with data.open_test():  # the one place a session reads the test split
        for index, weight in weights.items():
            trial = history.trial(state, index)
            assert trial is not None
            cut = history.cut_at(trial)
            result = train(
                trial["config"],
                data,
                progress=None if cut is None else stop_after(cut),
                score_test=True,
                placement=ctx.placement,
            )
            if result.test_output is None:  # a refit that failed: the best trial alone
                return finalize(state, runtime)
            test = test + weight * result.test_output
            seconds += result.wall_time
        scored = ensemble_rule.score_outputs(np.asarray(test), data.y_test, data.n_classes)
    val = ensemble_rule.score_outputs(
        ensemble_rule.blend(outputs, weights), data.y_val, data.n_classes
    )
    best = history.trial(state, lead)
    assert best is not None
    return {
        "final": {
            "status": "ok",
            "trial": lead,
            "config": best["config"],
            "val": val,
            "test": scored,
            "reason": "",
            "wall_time": seconds,
            "selection": {
                "rule": "ensemble",
                "weights": {str(i): w for i, w in weights.items()},
                "pool": sorted(outputs),
            },
        }
    }
