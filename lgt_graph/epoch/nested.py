"""Both levels together (``--loop both``): each trial of the outer loop is one epoch-level run.

The outer loop is the trial loop: it changes the architecture, the features and the
model family between whole trainings. Inside each trial of a net, the same graph runs
at the epoch level — training knobs adapt segment by segment, judged on paired
segments, regressions rolling the weights back — for the trial's ``epochs`` (or what
is left of the budget, which counts every epoch trained, over all trials). The inner
run is a graph of its own thread in the session's checkpointer, so a killed session
resumes inside the trial it stopped in. Trees and linear models have no epochs: their
trials are fitted as in the trial loop and count one epoch each.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from lgt_graph import history, interrupts
from lgt_graph.context import Context
from lgt_graph.epoch.loop import NEURAL, line_of, score_checkpoint
from lgt_graph.graph import budgets
from lgt_graph.graph.methods import METHODS, method
from lgt_graph.space.families import LIVE
from lgt_graph.state import State
from lgt_graph.training.result import TrialResult

SEARCHERS = {m.advisor_name for m in METHODS.values() if m.baseline}
"""The Advisors that are a baseline's searcher: they propose whole trainings, so at
``--loop both`` they stay in the trial loop and the epoch-level loop keeps its own."""
INNER_FINAL = {"finalize": "checkpoint"}
"""The inner run ends on its best checkpoint, scored on validation only: the test split
is read once, by the outer finalize."""


def inner_context(ctx: Context, config: dict[str, Any], index: int, epochs: int) -> Context:
    """Return the context of trial ``index``'s epoch-level run: its budget, start, folder.

    Its method is the one whose epoch-level loop runs inside the trial: the session's own,
    or, for a searcher of whole trainings such as the hybrid, LGT's (``Method.inner``).
    """
    settings = dataclasses.replace(
        ctx.settings,
        method=method(ctx.settings.method).inner_method,
        loop="epoch",
        budget=epochs,
        budget_epochs=None,
        patience=None,
        stop_at=None,
        start={},
    )
    workdir = Path(ctx.workdir or ".") / f"trial-{index:03d}"
    return dataclasses.replace(
        ctx, settings=settings, space=ctx.space.with_defaults(config), workdir=workdir
    )


def train_nested(state: State, ctx: Context) -> dict[str, Any]:
    """Train the next trial: a net as an epoch-level run, any other model as one fit."""
    from lgt_graph.training import train as fit

    index = len(state.get("trials", [])) + 1
    config = dict(state["config"])
    left = budgets.epochs_room(state, ctx.settings) or 0
    if str(config.get("model")) not in NEURAL:
        result = fit(config, ctx.data, placement=ctx.placement)
        # recorded as proposed: the fit fills in the knobs this loop does not search
        # (lr_schedule …), which a searcher would not know as the configuration it asked for
        result.config = config
        result.diagnostics["epochs_trained"] = 1
        return history.trial_update(state, result, ctx.primary)
    epochs = max(1, min(int(config["epochs"]), left))
    seconds = ctx.settings.budget_seconds
    if seconds is not None:  # the inner run spends what is left of the session's seconds
        left_s = max(seconds - history.seconds_used(state), 1e-3)
        ctx = dataclasses.replace(
            ctx, settings=dataclasses.replace(ctx.settings, budget_seconds=left_s)
        )
    began = time.perf_counter()
    values = run_inner(ctx, config, index, epochs)
    result = _result_of(values, config, epochs, time.perf_counter() - began, ctx)
    if result.status == "ok" and _own_advisor(ctx):
        result.config = carried(config, values)
        result.diagnostics["proposed_config"] = config
    return history.trial_update(state, result, ctx.primary)


SCHEDULE = frozenset({"learning_rate", "batch_size"})
"""Live knobs whose changes during a run are its schedule — a decaying rate, a batch grown
late — which the next trial starts afresh from its configuration."""


def carried(config: dict[str, Any], values: State) -> dict[str, Any]:
    """Return the trial's configuration with the training changes its run kept.

    The kept epoch's configuration holds every live change its paired segments won
    (momentum, a weights' average, test-time flips, an optimiser …): the next trial builds
    on them instead of learning them again. The schedule's knobs (:data:`SCHEDULE`) stay
    as the trial started them, except the rate an optimiser switch set, which belongs to
    that optimiser.
    """
    final = (values.get("final") or {}).get("config") or {}
    out = dict(config)
    for knob, value in final.items():
        if knob in LIVE and knob not in SCHEDULE and knob in config:
            out[knob] = value
    if out.get("optimizer") != config.get("optimizer"):
        rate = _switch_rate(values, out["optimizer"])
        if rate is None:  # no record of the switch's rate: keep the optimiser it started with
            out["optimizer"] = config["optimizer"]
        else:
            out["learning_rate"] = rate
    return out


def _switch_rate(values: State, optimizer: Any) -> Any:
    """Return the learning rate set with the last switch to ``optimizer`` in a run, or None."""
    for trial in reversed(values.get("trials", [])):
        new = {c["knob"]: c["new"] for c in trial.get("changes", [])}
        if new.get("optimizer") == optimizer:
            return new.get("learning_rate")
    return None


def _own_advisor(ctx: Context) -> bool:
    """Say whether LGT's own Advisor proposes the trials (a searcher's are recorded as asked)."""
    advisor = ctx.settings.nodes.get("advisor")
    return method(ctx.settings.method).advisor_name not in SEARCHERS and advisor not in SEARCHERS


def run_inner(ctx: Context, config: dict[str, Any], index: int, epochs: int) -> State:
    """Run (or resume) trial ``index``'s epoch-level graph; return its final state."""
    from lgt_graph.graph.build import build_graph
    from lgt_graph.graph.registry import resolve
    from lgt_graph.session.mirror import segment_line
    from lgt_graph.session.runner import initial_state

    inner = inner_context(ctx, config, index, epochs)
    chosen = {k: v for k, v in ctx.settings.nodes.items() if k not in ("train", "finalize")}
    if chosen.get("advisor") in SEARCHERS:  # --node advisor=hybrid proposes trials, not segments
        del chosen["advisor"]
    nodes = resolve({**chosen, **INNER_FINAL}, inner.settings.method, "epoch")
    graph = build_graph(nodes, checkpointer=ctx.checkpointer)
    thread = {
        "configurable": {"thread_id": f"{ctx.session_id}/trial-{index:03d}"},
        "recursion_limit": 6 * epochs + 20,
    }
    values = graph.get_state(thread).values if ctx.checkpointer is not None else {}
    if values.get("final"):
        return State(**values)
    shown = len(values.get("verdicts", []))
    inputs = None if values else initial_state(inner)
    for values in graph.stream(
        inputs, thread, context=inner, stream_mode="values", durability="sync"
    ):
        interrupts.check()  # a Ctrl-C that a library swallowed stops the run after this step
        verdicts = values.get("verdicts", [])
        for verdict in verdicts[shown:]:
            trial = history.trial(values, verdict["trial"])
            if trial is not None and ctx.progress is not None:
                ctx.progress(f"  trial {index} " + segment_line(trial, verdict, ctx.primary))
        shown = len(verdicts)
    return State(**graph.get_state(thread).values)


def _result_of(
    values: State, config: dict[str, Any], epochs: int, seconds: float, ctx: Context
) -> TrialResult:
    final = values.get("final") or {}
    run = values.get("run") or {}
    trained = int(run.get("epochs_trained", epochs))
    segments = [
        {
            "segment": t["index"],
            "epochs": f"{t['segment']['start_epoch'] + 1}-"
            f"{t['segment']['start_epoch'] + t['segment']['epochs']}",
            "changes": [f"{c['knob']}={c['new']}" for c in t["changes"]],
            "reasons": [f"{c['knob']}={c['new']}: {c.get('reason', '')}" for c in t["changes"]],
            "score": t["score"],
            "paired": bool(t["segment"].get("paired")),
            "outcome": _outcome(values, t["index"]),
            "verdict": _diagnosis(values, t["index"]),
        }
        for t in values.get("trials", [])
    ]
    if final.get("status") != "ok":
        return TrialResult(
            config=config,
            status="failed",
            reason=final.get("reason", "the inner run did not finish"),
            wall_time=seconds,
            diagnostics={"epochs_trained": trained, "segments": segments},
        )
    line = line_of(values, run.get("current"))
    return TrialResult(
        config=config,
        status="ok",
        metrics=final["val"],
        curves=line["curves"],
        steps=line["steps"],
        wall_time=seconds,
        diagnostics={
            "epochs_trained": trained,
            "epochs_run": len(line["steps"]),
            "kept_epoch": final["epoch"],
            "checkpoint": final["checkpoint"],
            "checkpoint_sha256": final["sha256"],
            "final_config": final["config"],
            "segments": segments,
        },
    )


def _outcome(values: State, index: int) -> str | None:
    verdict = history.verdict_for(values, index)
    return verdict["outcome"] if verdict else None


def _diagnosis(values: State, index: int) -> str:
    verdict = history.verdict_for(values, index)
    return verdict["diagnosis"] if verdict else ""


def score_trial_checkpoint(state: State, ctx: Context) -> dict[str, Any] | None:
    """Score the best trial's best checkpoint on the test split; None when it has none."""
    best = history.best_trial(state, ctx.maximize)
    if best is None or "checkpoint" not in best["result"].get("diagnostics", {}):
        return None
    diagnostics = best["result"]["diagnostics"]
    ref = {"path": diagnostics["checkpoint"], "sha256": diagnostics["checkpoint_sha256"]}
    return {
        **score_checkpoint(ref, ctx),
        "trial": best["index"],
        "epoch": diagnostics["kept_epoch"],
        "branch": f"trial {best['index']}",
    }
