"""The epoch-level loop's bookkeeping: train a segment, keep the run's checkpoints, read its line.

In ``--loop epoch`` a trial is the next segment of one continuing training run. A
proposal is judged on a *paired* segment: from the same checkpoint (weights, optimiser
state, RNG), the segment is trained once with the proposed configuration (the
candidate) and once with the current one (the control), so the comparison is not
flattered by training progress; both branches count against the epoch budget. The
*unpaired* variant trains the candidate alone and judges it against the score at its
start. A segment without changes is a plain continuation (one branch). The graph state
holds checkpoint references (path, hash, epoch, score), never tensors; this module
prunes the files no reference needs. It is long because a segment's whole bookkeeping —
branches, reference, paired floor, rollback, the run's line and its final scoring — is one
story read in one place.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lgt_graph import history, interrupts
from lgt_graph.context import Context
from lgt_graph.evaluation.metrics import SETBACKS, better, gain, paired_standard_error
from lgt_graph.graph import budgets
from lgt_graph.space import NEURAL_MODELS, Config
from lgt_graph.state import Branch, ChangeRecord, CheckpointRef, Segment, State, Trial
from lgt_graph.training.result import TrialResult

NEURAL = NEURAL_MODELS


def run_of(state: State) -> dict[str, Any]:
    """Return the state's training run (empty before the first segment)."""
    return dict(state.get("run") or {})


def spent(state: State) -> int:
    """Return the epochs trained so far, every branch counted."""
    return int(run_of(state).get("epochs_trained", 0))


def _branch(
    ctx: Context, start: CheckpointRef | None, config: Config, epochs: int, trial: int, name: str
) -> tuple[TrialResult, CheckpointRef | None]:
    """Train one branch of a segment from ``start`` (or afresh); save where it ends."""
    from lgt_graph.training.result import Diverged
    from lgt_graph.training.segments import CheckpointError, NeuralRun

    began = time.perf_counter()
    seed = ctx.settings.seed
    try:
        if start is None:
            run = NeuralRun.start(config, ctx.data, seed, placement=ctx.placement)
        else:
            run = NeuralRun.load(dict(start), ctx.data, seed, placement=ctx.placement)
        run.reconfigure(config)
        fitted = run.train(epochs, ctx.primary)
    except CheckpointError:
        raise  # the session's own files are gone: stop, do not record a failed branch
    except Exception as exc:
        interrupts.check()  # a Ctrl-C that a library turned into an error stops the session
        reason = f"diverged: {exc}" if isinstance(exc, Diverged) else f"{type(exc).__name__}: {exc}"
        failed = TrialResult(
            config=config, status="failed", reason=reason, wall_time=time.perf_counter() - began
        )
        return failed, None
    assert ctx.workdir is not None
    saved = run.save(Path(ctx.workdir) / f"segment-{trial:04d}-{name}.pt")
    result = TrialResult.of_fit(config, fitted, time.perf_counter() - began)
    ref = CheckpointRef(
        path=saved["path"],
        sha256=saved["sha256"],
        epoch=saved["epoch"],
        trial=trial,
        branch=name,
        score=result.score(ctx.primary),
    )
    return result, ref


def prune(workdir: Path | None, run: dict[str, Any]) -> None:
    """Delete the run's checkpoint files that no reference of the state needs any more.

    Kept: the current state, the one a rollback would restore, the best, PBT's members.
    """
    if workdir is None or not Path(workdir).is_dir():
        return
    refs = [run.get(k) for k in ("current", "fallback", "best")]
    refs += [m.get("ref") for m in run.get("members", [])]
    keep = {Path(r["path"]).name for r in refs if r}
    for path in Path(workdir).glob("segment-*.pt*"):
        if path.name not in keep:
            path.unlink(missing_ok=True)


def train_segment(state: State, ctx: Context, paired: bool) -> dict[str, Any]:
    """Train the next segment of the run; return the trial record and the run's new state."""
    run = run_of(state)
    index = len(state.get("trials", [])) + 1
    left = budgets.epochs_room(state, ctx.settings) or 0
    current: CheckpointRef | None = run.get("current")
    config = dict(state["config"])
    base = history.trial(state, state.get("base"))
    control_config = dict(base["config"]) if base else dict(config)
    changes: list[ChangeRecord] = list(state.get("pending_changes", []))
    epochs = max(1, min(ctx.settings.segment, left))
    note = ""
    two = paired and current is not None and bool(changes)
    if two and left < 2 * epochs:
        epochs = left // 2
        if epochs == 0:
            config, changes, two, epochs = control_config, [], False, left
            note = (
                "one epoch of budget left, too little to judge the proposed change on a paired"
                " segment: the run continued unchanged"
            )
    if not ctx.settings.keep_checkpoints:
        prune(ctx.workdir, run)
    jobs = [(config, "candidate"), *([(control_config, "control")] if two else [])]
    remote = getattr(ctx.executor, "train_branches", None)  # --executor ray: side by side
    if remote is not None:
        seed, folder = ctx.settings.seed, ctx.workdir
        ends = remote(current, jobs, epochs, index, ctx.primary, seed, folder)
    else:
        ends = [_branch(ctx, current, c, epochs, index, name) for c, name in jobs]
    (candidate, cand_ref), (control, control_ref) = ends[0], (ends[1] if two else (None, None))
    if control is not None:  # the segment's seconds are both branches', as its epochs are
        candidate.wall_time += control.wall_time
    start_score = current["score"] if current else None
    if not changes or current is None:
        reference, reference_is = None, "none"
    elif control is not None:
        reference, reference_is = control.score(ctx.primary), "control"
    else:
        reference, reference_is = start_score, "start"
    fallback = control_ref if control_ref is not None else current
    new_run = {
        **run,
        "current": cand_ref if cand_ref is not None else fallback,
        "fallback": fallback,
        "epochs_trained": spent(state) + epochs * (2 if two else 1),
    }
    _track_best(new_run, [cand_ref, control_ref], ctx, index)
    segment = Segment(
        floor=paired_floor(candidate, control, ctx),
        start=current,
        start_epoch=int(current["epoch"]) if current else 0,
        epochs=epochs,
        paired=two,
        control=_as_branch(control, control_ref, ctx) if control is not None else None,
        reference=reference,
        reference_is=reference_is,
        cost=epochs * (2 if two else 1),
        note=note,
    )
    update = history.trial_update(state, candidate, ctx.primary, changes, segment)
    return {**update, "run": new_run}


def paired_floor(candidate: TrialResult, control: TrialResult | None, ctx: Context) -> float | None:
    """Return the standard error of the branches' score difference on the same rows, or None."""
    if control is None or candidate.validation is None or control.validation is None:
        return None
    outs = (candidate.validation, control.validation)
    return paired_standard_error(ctx.primary, ctx.data.y_val, *outs, ctx.data.n_classes)


def _as_branch(result: TrialResult, ref: CheckpointRef | None, ctx: Context) -> Branch:
    return Branch(
        status=result.status,
        reason=result.reason,
        score=result.score(ctx.primary),
        metrics=result.metrics,
        curves=result.curves,
        steps=result.steps,
        checkpoint=ref,
        wall_time=result.wall_time,
    )


def _track_best(
    run: dict[str, Any], refs: list[CheckpointRef | None], ctx: Context, index: int
) -> None:
    """Move ``run['best']`` to a better branch end; note when it moved by ``--min-delta``."""
    for ref in refs:
        if ref is None or ref["score"] is None:
            continue
        score = ref["score"]
        best = run.get("best")
        previous = best.get("score") if best else None
        if better(score, previous, ctx.maximize):
            run["best"] = ref
            if previous is None or gain(score, previous, ctx.maximize) > ctx.settings.min_delta:
                run["improved_at"] = index


def kept(trial: Trial, outcome: str | None) -> bool:
    """Say whether the run goes on from a segment's candidate branch: its change is kept.

    The better branch is kept: a change that failed, regressed, or was only *neutral*
    against its paired control (a tie, or a loss within ``--tolerance``) is rolled back to
    the control's weights and configuration. Unpaired, a neutral change stays.
    """
    if outcome in SETBACKS:
        return False
    segment = trial.get("segment")
    paired = segment is not None and segment["reference_is"] == "control"
    return not (outcome == "neutral" and paired and bool(trial["changes"]))


def rollback_update(state: State, ctx: Context) -> dict[str, Any]:
    """Restore the weights a rejected change replaced: the control's end, or its start."""
    run = run_of(state)
    last = history.last_trial(state)
    assert last is not None
    base = history.trial(state, last["base"])
    config = dict(base["config"]) if base else ctx.space.default()
    return {"run": {**run, "current": run.get("fallback")}, "base": last["base"], "config": config}


def line_of(state: State, ref: CheckpointRef | None) -> dict[str, Any]:
    """Return the run's curves up to a checkpoint, joined across segments, as a trial result.

    Walks back from ``ref`` through the segments' start checkpoints, taking each
    segment's branch (candidate or control) that the line went through.
    """
    parts: list[tuple[list[int], dict[str, list[float]]]] = []
    while ref is not None and ref.get("trial") is not None:
        trial = history.trial(state, ref["trial"])
        if trial is None or "segment" not in trial:
            break
        segment = trial["segment"]
        if ref["branch"] == "control" and segment["control"] is not None:
            parts.append((segment["control"]["steps"], segment["control"]["curves"]))
        else:
            parts.append((trial["result"]["steps"], trial["result"]["curves"]))
        ref = segment["start"]
    steps: list[int] = []
    curves: dict[str, list[float]] = {}
    for part_steps, part_curves in reversed(parts):
        steps += part_steps
        for name, values in part_curves.items():
            curves.setdefault(name, []).extend(values)
    metrics = {k[4:]: v[-1] for k, v in curves.items() if k.startswith("val_") and k != "val_loss"}
    return {
        "status": "ok" if steps else "failed",
        "reason": "" if steps else "no epoch trained yet",
        "steps": steps,
        "curves": curves,
        "metrics": metrics,
        "step_unit": "epoch",
        "wall_time": 0.0,
        "diagnostics": {},
    }


def score_best(state: State, ctx: Context) -> dict[str, Any]:
    """Score the run's best checkpoint on validation and, once, on the test split."""
    best = run_of(state).get("best")
    if best is None:
        return {"status": "failed", "reason": "no segment succeeded", "trial": None}
    return {
        **score_checkpoint(dict(best), ctx),
        "trial": best["trial"],
        "epoch": best["epoch"],
        "branch": best["branch"],
    }


def score_checkpoint(ref: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Load a checkpoint and score it on validation and, once, on the test split."""
    from lgt_graph.training.segments import NeuralRun

    began = time.perf_counter()
    with ctx.data.open_test():  # the one place a session reads the test split
        run = NeuralRun.load(ref, ctx.data, ctx.settings.seed, True, ctx.placement)
        val, test = run.val_metrics(), run.test_metrics()
    return {
        "status": "ok",
        "config": run.config,
        "val": val,
        "test": test,
        "reason": "",
        "wall_time": time.perf_counter() - began,
        "checkpoint": ref["path"],
        "sha256": ref["sha256"],
    }


def best_on_validation(state: State, ctx: Context) -> dict[str, Any]:
    """End an inner run on its best checkpoint, scored on validation only; prune the rest."""
    from lgt_graph.training.segments import NeuralRun

    best = run_of(state).get("best")
    if best is None:
        return {"status": "failed", "reason": "no segment succeeded", "trial": None}
    run = NeuralRun.load(dict(best), ctx.data, ctx.settings.seed, placement=ctx.placement)
    if not ctx.settings.keep_checkpoints:
        prune(ctx.workdir, {"best": best})
    return {
        "status": "ok",
        "trial": best["trial"],
        "config": run.config,
        "val": run.val_metrics(),
        "test": {},
        "reason": "",
        "checkpoint": best["path"],
        "sha256": best["sha256"],
        "epoch": best["epoch"],
        "branch": best["branch"],
    }


def neural_start(config: Config) -> bool:
    """Say whether a configuration trains in epochs (a net), so the epoch loop applies."""
    return str(config.get("model")) in NEURAL
