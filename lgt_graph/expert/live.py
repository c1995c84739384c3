"""The heuristic expert between epochs: its proposals and its verdicts on paired segments.

The moves come from :mod:`lgt_graph.expert.live_rules`, most urgent first; only the live
knobs the facts list are changed. A change that lost its paired segment lately (the same
knob moved the same way) is not tried again, nor one that reverses a change kept lately
(:mod:`lgt_graph.epoch.guards`); an answer sent back with an error takes the next
candidate; when no rule applies, the run continues unchanged.
"""

from __future__ import annotations

from typing import Any

from lgt_graph.epoch.guards import reversals
from lgt_graph.evaluation.metrics import SETBACKS, outcome
from lgt_graph.expert.case import Knobs
from lgt_graph.expert.expectations import expectation, said
from lgt_graph.expert.live_rules import (
    DECAY,
    RECENT,
    REGULARISERS,
    Candidate,
    candidates,
    improving,
    series,
)

__all__ = ["DECAY", "candidates", "judge", "propose", "recently_hurt"]


def _direction(old: Any, new: Any) -> str:
    if isinstance(new, bool) or not isinstance(new, int | float):
        return f"={new}"
    if not isinstance(old, int | float) or isinstance(old, bool):
        return f"={new}"
    return "up" if new > old else "down"


def recently_hurt(facts: dict[str, Any]) -> set[tuple[str, str]]:
    """Return (knob, direction) of the changes rolled back lately: lost, or no better."""
    out = set()
    for entry in facts.get("history", [])[-RECENT:]:
        if entry.get("outcome") in SETBACKS or entry.get("kept") is False:
            out |= {(c["knob"], _direction(c["old"], c["new"])) for c in entry["changes"]}
    return out


def propose(facts: dict[str, Any], attempt: int = 1) -> dict[str, Any]:
    """Return a Proposal (as a dict) for the next segment: changes, or none to continue."""
    knobs = Knobs(facts["space"])
    config = facts["base"]["config"]
    avoid = set(facts.get("avoid", []))
    hurt = recently_hurt(facts)
    tired = any(knob in REGULARISERS for knob, _ in hurt)
    primary = facts["task"]["primary_metric"]
    maximize = facts["task"].get("direction", "maximize") == "maximize"
    usable: list[tuple[Candidate, dict[str, Any]]] = []
    for candidate in candidates(facts):
        changes = {k: knobs.clip(k, v) for k, v in candidate.changes.items() if knobs.has(k)}
        changes = {k: v for k, v in changes.items() if config.get(k) != v}
        if (
            not changes
            or any(f"{k}={v}" in avoid for k, v in changes.items())
            or any((k, _direction(config.get(k), v)) in hurt for k, v in changes.items())
            or (tired and bool(REGULARISERS & set(changes)))
            or reversals(facts.get("history", []), config, changes)
        ):
            continue
        if all(c != changes for _, c in usable):
            usable.append((candidate, changes))
    metric = series(facts, f"val_{primary}")
    if not usable or attempt > len(usable):
        why = (
            f"validation {primary} still improves"
            if improving(metric, maximize)
            else "every move the curves call for was tried recently"
        )
        return {
            "changes": [],
            "rationale": f"No change: {why}; the run continues as it is.",
            "expected_effect": f"a better validation {primary} as training goes on",
            "start_from": "current",
        }
    candidate, changes = usable[attempt - 1]
    expected, probability, chances = expectation("live", changes, facts.get("history", []))
    effect = f"a better validation {primary} than the same epochs without it"
    return {
        "changes": [
            {"knob": k, "value": v, "reason": candidate.reasons.get(k, candidate.reason)}
            for k, v in changes.items()
        ],
        "rationale": f"{candidate.reason[0].upper()}{candidate.reason[1:]} ({candidate.source}).",
        "expected_effect": said(expected, probability, effect),
        "expected_outcome": expected,
        "probability": probability,
        "forecast": chances,
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
            "outcome": "failed",
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
    floor = facts.get("floor")
    verdict = outcome(score, reference, maximize, float(facts.get("tolerance", 0.0)), floor)
    words = {
        "improved": "helped",
        "regressed": "hurt",
        "neutral": "made no difference",
        "failed": "failed",
    }[verdict]
    diagnosis = (
        f"Changing {moved} {words}: {primary} {score:.4f} against {reference:.4f} for the"
        f" {against} branch over the same epochs"
    )
    if floor is not None:
        inside = "inside" if verdict == "neutral" else "beyond"
        diagnosis += (
            f", a difference of {score - reference:+.4f} {inside} the paired noise floor"
            f" ±{floor:.4f}"
        )
    diagnosis += "."
    return {
        "outcome": verdict,
        "delta": score - reference,
        "diagnosis": diagnosis,
        "suggestions": [],
    }
