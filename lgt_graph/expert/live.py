"""The heuristic expert between epochs: the mid-run moves a practitioner makes, and its verdicts.

It reads the run's curves so far (``facts["run"]["line"]``) and changes only the live
knobs the facts list. Each rule is small and says why:

- a failed segment (a diverging loss) → a lower rate and gradient clipping;
- SGD whose loss stalls early → Adam at its usual rate;
- the gap between training and validation loss opening → dropout, weight decay or
  augmentation;
- validation no longer improving → decay the rate (late in the budget: or a larger batch);
- otherwise, while validation still improves → no change: the run continues.

A change that regressed within the last few segments is not proposed again; an answer
sent back with an error takes the next candidate.
"""

from __future__ import annotations

from typing import Any

from lgt_graph.expert.case import Knobs
from lgt_graph.expert.moves import Candidate
from lgt_graph.metrics import better, outcome

STALL = 0.25
"""SGD has stalled early when the training loss fell by less than this share by epoch 3."""
GAP = 0.15
"""Validation loss this far above the training loss (as a share of it) is a gap."""
RISE = 0.03
"""Validation loss this far above its best (as a share of it) means it is rising."""
DECAY = 0.3
"""The factor of a learning-rate decay step."""
CRAWL = 0.05
"""A training loss falling by less than this share an epoch, early on, crawls."""


def _series(facts: dict[str, Any], name: str) -> list[float]:
    return [float(v) for v in facts["run"]["line"].get(name, [])]


def _improving(values: list[float], maximize: bool) -> bool:
    """Say whether the last epoch set the best value of the line (the line still improves)."""
    if len(values) < 2:
        return True
    best_before = max(values[:-1]) if maximize else min(values[:-1])
    return better(values[-1], best_before, maximize)


def _epochs_since_best(values: list[float], maximize: bool) -> int:
    """Count the epochs since the line first reached its best value (ties do not count)."""
    if not values:
        return 0
    best = max(values) if maximize else min(values)
    return len(values) - 1 - values.index(best)


def _slow(train: list[float]) -> float | None:
    """Return the last epoch's relative drop of the training loss when it is slow, else None.

    Slow: the loss still falls, by less than ``CRAWL`` an epoch, and is above half of
    where it started: the rate is too low for this stage of training.
    """
    if len(train) < 2 or train[-2] <= 0:
        return None
    drop = (train[-2] - train[-1]) / train[-2]
    return drop if 0 <= drop < CRAWL and train[-1] > 0.5 * train[0] else None


def candidates(facts: dict[str, Any]) -> list[Candidate]:
    """Return the mid-run moves the curves call for, most urgent first."""
    config = facts["base"]["config"]
    task = facts["task"]
    maximize = task.get("direction", "maximize") == "maximize"
    primary = task["primary_metric"]
    run = facts["run"]
    lr = float(config.get("learning_rate", 0.01))
    train = _series(facts, "train_loss")
    val_loss = _series(facts, "val_loss")
    metric = _series(facts, f"val_{primary}")
    out: list[Candidate] = []
    last = facts.get("last") or {}
    if last and (last.get("summary") or {}).get("status") == "failed":
        out.append(
            Candidate(
                {"learning_rate": lr * DECAY, "grad_clip": 1.0},
                "the last segment failed (a diverging loss): a lower rate, clipped gradients",
                "divergence",
            )
        )
    if (
        config.get("optimizer") == "sgd"
        and 2 <= len(train) <= 3
        and train[-1] > (1 - STALL) * train[0]
    ):
        out.append(
            Candidate(
                {"optimizer": "adam", "learning_rate": 0.001},
                f"SGD's training loss fell only {1 - train[-1] / train[0]:.0%} in {len(train)}"
                " epochs: Adam adapts the step per weight",
                "sgd stalls",
            )
        )
    crawl = _slow(train)
    learned = len(metric) >= 2 and _epochs_since_best(metric, maximize) < len(metric) - 1
    if not out and len(metric) >= 2 and (crawl is not None or not learned):
        evidence = (
            f"the training loss fell only {crawl:.1%} in the last epoch and is still above"
            " half its first value"
            if crawl is not None
            else f"validation {primary} has not moved from its first value"
        )
        out.append(
            Candidate({"learning_rate": lr * 3}, f"{evidence}: a higher rate", "slow convergence")
        )
    if len(val_loss) >= 2 and train:
        best_val = min(val_loss)
        rise = (val_loss[-1] - best_val) / (abs(best_val) or 1.0)
        gap = (val_loss[-1] - train[-1]) / (abs(train[-1]) or 1.0)
        if rise > RISE or (gap > GAP and not _improving(metric, maximize)):
            evidence = (
                f"validation loss {val_loss[-1]:.4f} is {rise:.0%} above its best and"
                f" {gap:.0%} above the training loss"
            )
            dropout = float(config.get("dropout", 0.0))
            if dropout < 0.5:
                out.append(
                    Candidate({"dropout": dropout + 0.1}, f"{evidence}: more dropout", "gap opens")
                )
            if config.get("augmentation") == "none":
                out.append(
                    Candidate({"augmentation": "shift"}, f"{evidence}: shifted images", "gap opens")
                )
            decay = float(config.get("weight_decay", 0.0))
            out.append(
                Candidate(
                    {"weight_decay": max(decay * 10, 5e-4)},
                    f"{evidence}: a stronger L2 penalty",
                    "gap opens",
                )
            )
    stale = _epochs_since_best(metric, maximize)
    if learned and stale >= 1 and crawl is None:
        evidence = f"validation {primary} has not improved for {stale} epoch(s)"
        late = int(run.get("epochs_trained", 0)) >= 0.6 * int(run.get("budget", 1))
        lower = Candidate(
            {"learning_rate": lr * DECAY}, f"{evidence}: decay the learning rate", "plateau"
        )
        batch = Candidate(
            {"batch_size": int(config.get("batch_size", 64)) * 2},
            f"{evidence}, late in the budget: a larger batch averages the gradient noise",
            "plateau",
        )
        out += [batch, lower] if late and stale == 1 else [lower, batch]
    return out


def propose(facts: dict[str, Any], attempt: int = 1) -> dict[str, Any]:
    """Return a Proposal (as a dict) for the next segment: changes, or none to continue."""
    knobs = Knobs(facts["space"])
    config = facts["base"]["config"]
    avoid = set(facts.get("avoid", []))
    primary = facts["task"]["primary_metric"]
    maximize = facts["task"].get("direction", "maximize") == "maximize"
    usable: list[tuple[Candidate, dict[str, Any]]] = []
    for candidate in candidates(facts):
        changes = {k: knobs.clip(k, v) for k, v in candidate.changes.items() if knobs.has(k)}
        changes = {k: v for k, v in changes.items() if config.get(k) != v}
        if not changes or any(f"{k}={v}" in avoid for k, v in changes.items()):
            continue
        if all(c != changes for _, c in usable):
            usable.append((candidate, changes))
    metric = _series(facts, f"val_{primary}")
    if not usable or attempt > len(usable):
        why = (
            f"validation {primary} still improves"
            if _improving(metric, maximize)
            else "every move the curves call for was tried recently"
        )
        return {
            "changes": [],
            "rationale": f"No change: {why}; the run continues as it is.",
            "expected_effect": f"a better validation {primary} as training goes on",
            "start_from": "current",
        }
    candidate, changes = usable[attempt - 1]
    return {
        "changes": [
            {"knob": k, "value": v, "reason": candidate.reasons.get(k, candidate.reason)}
            for k, v in changes.items()
        ],
        "rationale": f"{candidate.reason[0].upper()}{candidate.reason[1:]} ({candidate.source}).",
        "expected_effect": f"a better validation {primary} than the same epochs without it",
        "start_from": "current",
    }


def judge(facts: dict[str, Any]) -> dict[str, Any]:
    """Return a Verdict (as a dict) on a segment: the candidate against its reference."""
    trial = facts["trial"]
    primary = facts["primary"]
    maximize = bool(facts["maximize"])
    score = trial["score"]
    reference = (facts.get("best_before") or {}).get("score")
    against = facts.get("reference_is", "none")
    changes = trial.get("changes", [])
    moved = ", ".join(f"{c['knob']} {c['old']} -> {c['new']}" for c in changes)
    if score is None:
        return {
            "outcome": "regressed",
            "delta": 0.0,
            "diagnosis": f"Segment {trial['index']} failed: "
            f"{trial['summary'].get('failure', '')}. Its change ({moved or 'none'}) is undone.",
            "suggestions": [],
        }
    if reference is None or not changes:
        return {
            "outcome": "neutral" if changes or trial["index"] > 1 else "improved",
            "delta": 0.0,
            "diagnosis": f"Segment {trial['index']} continued the run: {primary} {score:.4f}.",
            "suggestions": [],
        }
    verdict = outcome(score, reference, maximize, 0.0)
    words = {"improved": "helped", "regressed": "hurt", "neutral": "made no difference"}[verdict]
    diagnosis = (
        f"Changing {moved} {words}: {primary} {score:.4f} against {reference:.4f} for the"
        f" {against} branch over the same epochs."
    )
    return {
        "outcome": verdict,
        "delta": score - reference,
        "diagnosis": diagnosis,
        "suggestions": [],
    }
