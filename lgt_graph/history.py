"""What the session's history says: the best trial, verdicts, changes that hurt, staleness."""

from __future__ import annotations

from lgt_graph.metrics import better, gain
from lgt_graph.state import ChangeRecord, PromptVersion, State, Trial, VerdictRecord


def trials(state: State) -> list[Trial]:
    """Return the trials so far, oldest first."""
    return list(state.get("trials", []))


def last_trial(state: State) -> Trial | None:
    """Return the most recent trial, if any."""
    done = state.get("trials", [])
    return done[-1] if done else None


def best_trial(state: State, maximize: bool, before: int | None = None) -> Trial | None:
    """Return the best successful trial (earliest on ties), optionally only those before one."""
    best = None
    for trial in state.get("trials", []):
        if before is not None and trial["index"] >= before:
            break
        score = trial["score"]
        if score is not None and better(score, best["score"] if best else None, maximize):
            best = trial
    return best


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
    """Return the changes of trials judged regressed (including failures)."""
    out: list[str] = []
    for item in state.get("trials", []):
        verdict = verdict_for(state, item["index"])
        if verdict is not None and verdict["outcome"] == "regressed":
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


def epochs_used(state: State) -> int:
    """Return the epochs trained over every trial so far (``--loop both``; a tree's fit is one)."""
    return sum(
        int(t["result"].get("diagnostics", {}).get("epochs_trained", 1)) for t in trials(state)
    )
