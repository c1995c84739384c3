"""What the session's history says (best trial, verdicts, staleness), and what a trial adds."""

from __future__ import annotations

import time
from typing import Any

from lgt_graph.evaluation.metrics import SETBACKS, better, gain
from lgt_graph.state import ChangeRecord, PromptVersion, Segment, State, Trial, VerdictRecord
from lgt_graph.training.result import TrialResult


def trials(state: State) -> list[Trial]:
    """Return the trials so far, oldest first."""
    return list(state.get("trials", []))


def last_trial(state: State) -> Trial | None:
    """Return the most recent trial, if any."""
    done = state.get("trials", [])
    return done[-1] if done else None


def last_round(state: State) -> list[Trial]:
    """Return the trials the last train step added: its parallel round, or the last trial."""
    done = state.get("trials", [])
    if not done:
        return []
    first = done[-1].get("round")
    if first is None:
        return [done[-1]]
    return [t for t in done if t.get("round") == first]


def round_best(round_trials: list[Trial], maximize: bool) -> Trial:
    """Return a round's best trial (the earliest on ties); its last when every one failed."""
    best = None
    for item in round_trials:
        if item["score"] is not None and better(
            item["score"], best["score"] if best else None, maximize
        ):
            best = item
    return best or round_trials[-1]


def pruned(trial: Trial) -> bool:
    """Say whether a pruner, or the seconds budget, stopped this trial before its last epoch."""
    return cut_at(trial) is not None


def pruned_by_pruner(trial: Trial) -> bool:
    """Say whether a multi-fidelity pruner (not the seconds budget) stopped this trial."""
    diagnostics = trial.get("result", {}).get("diagnostics", {})
    return cut_at(trial) is not None and diagnostics.get("pruned_by", "pruner") == "pruner"


def cut_at(trial: Trial) -> int | None:
    """Return the epoch after which a pruner or the seconds budget stopped a trial, or None."""
    at = trial.get("result", {}).get("diagnostics", {}).get("pruned_at")
    return None if at is None else int(at)


def best_trial(state: State, maximize: bool, before: int | None = None) -> Trial | None:
    """Return the best successful trial (earliest on ties), optionally only those before one.

    A trial the pruner stopped is not the best while another was not: the pruner stopped
    it for doing worse than its peers at that epoch (Optuna's best trial is a complete one
    alike). A trial the seconds budget cut competes with its score at the cut: the final
    refit stops after the same epoch, and reproduces it.
    """
    best = None
    for trial in contenders(state, before):
        score = trial["score"]
        if score is not None and better(score, best["score"] if best else None, maximize):
            best = trial
    return best


def contenders(state: State, before: int | None = None) -> list[Trial]:
    """Return the scored trials that may be a session's best, oldest first.

    A trial a pruner stopped contends only when no other trial finished (see
    :func:`best_trial`).
    """
    done = [t for t in state.get("trials", []) if before is None or t["index"] < before]
    whole = [t for t in done if not pruned_by_pruner(t)]
    pool = whole if any(t["score"] is not None for t in whole) else done
    return [t for t in pool if t["score"] is not None]


def best_before(state: State, trial: Trial, maximize: bool) -> Trial | None:
    """Return the best trial a trial is judged against: the best before it, or before its round.

    The trials of a parallel round (``--workers``) trained side by side from the same
    history, so none is judged against another.
    """
    return best_trial(state, maximize, before=trial.get("round", trial["index"]))


def trial(state: State, index: int | None) -> Trial | None:
    """Return the trial with this index."""
    if index is None:
        return None
    for item in state.get("trials", []):
        if item["index"] == index:
            return item
    return None


def verdict_for(state: State, index: int) -> VerdictRecord | None:
    """Return the Evaluator's verdict on a trial."""
    for verdict in state.get("verdicts", []):
        if verdict["trial"] == index:
            return verdict
    return None


def current_prompt(state: State) -> PromptVersion | None:
    """Return the Advisor's current guidance version."""
    prompts = state.get("prompts", [])
    return prompts[-1] if prompts else None


def change_key(change: ChangeRecord) -> str:
    """Name a change by knob and new value: what a rollback remembers not to repeat."""
    return f"{change['knob']}={change['new']}"


def regressed_changes(state: State) -> list[str]:
    """Return the changes of trials judged regressed or failed."""
    out: list[str] = []
    for item in state.get("trials", []):
        verdict = verdict_for(state, item["index"])
        if verdict is not None and verdict["outcome"] in SETBACKS:
            out += [change_key(c) for c in item["changes"] if change_key(c) not in out]
    return out


def since_improvement(state: State, maximize: bool, min_delta: float) -> int:
    """Count the trials since the last one that beat the best before it by more than ``min_delta``.

    A smaller gain still moves the best forward, without resetting the count.
    """
    best: float | None = None
    count = 0
    for item in state.get("trials", []):
        score = item["score"]
        if score is None:
            count += 1
            continue
        if best is None:
            best, count = score, 0
            continue
        step = gain(score, best, maximize)
        count = 0 if step > 0 and step >= min_delta else count + 1
        if step > 0:
            best = score
    return count


def trial_epochs(trial: Trial) -> int:
    """Return the epochs a trial trained; a tree ensemble's or a linear model's fit is one.

    A segment counts its every branch, an inner run its every epoch, a net the epochs it
    ran (early stopping and pruning cut them).
    """
    if "segment" in trial:
        return int(trial["segment"]["cost"])
    diagnostics = trial["result"].get("diagnostics", {})
    return int(diagnostics.get("epochs_trained", diagnostics.get("epochs_run", 1)))


def trial_seconds(trial: Trial) -> float:
    """Return the seconds a trial spent training and scoring (its wall time)."""
    return float(trial["result"].get("wall_time", 0.0))


def epochs_used(state: State) -> int:
    """Return the epochs trained over every trial so far (see :func:`trial_epochs`)."""
    return sum(trial_epochs(t) for t in trials(state))


def seconds_used(state: State) -> float:
    """Return the seconds spent training over every trial so far (see :func:`trial_seconds`)."""
    return sum(trial_seconds(t) for t in trials(state))


def _trained(
    state: State, index: int, result: TrialResult, primary: str, base: Any, changes: Any
) -> Trial:
    """Return the record of a trained trial: its result, score and the prompt it followed."""
    prompt = current_prompt(state)
    return Trial(
        index=index,
        config=result.config,
        base=base,
        changes=changes,
        result=result.to_dict(),
        score=result.score(primary),
        prompt_version=prompt["version"] if prompt else 0,
        timestamp=int(time.time() * 1000),
    )


def trial_update(
    state: State,
    result: TrialResult,
    primary: str,
    changes: list[ChangeRecord] | None = None,
    segment: Segment | None = None,
) -> dict[str, Any]:
    """Return the train node's update: the trained trial appended, and made the next base.

    The next proposal builds on this trial unless a rollback says otherwise.
    """
    index = len(state.get("trials", [])) + 1
    pending = list(state.get("pending_changes", [])) if changes is None else changes
    trial = _trained(state, index, result, primary, state.get("base"), pending)
    if segment is not None:
        trial["segment"] = segment
    return {"trials": [trial], "base": index, "pending_changes": []}


def round_update(
    state: State, results: list[TrialResult], primary: str, maximize: bool
) -> dict[str, Any]:
    """Return the train node's update after a parallel round: every trial appended, in order.

    The round's members are the state's ``config`` and its ``round`` list; the round's best
    trial becomes the next base (a rollback may still go back further).
    """
    members = [(state.get("base"), list(state.get("pending_changes", [])))] + [
        (m["base"], list(m["changes"])) for m in state.get("round", [])
    ]
    first = len(state.get("trials", [])) + 1
    added = []
    for offset, (result, (base, changes)) in enumerate(zip(results, members, strict=True)):
        trial = _trained(state, first + offset, result, primary, base, changes)
        if len(results) > 1:
            trial["round"] = first
        added.append(trial)
    best = round_best(added, maximize)
    return {"trials": added, "base": best["index"], "pending_changes": [], "round": []}
