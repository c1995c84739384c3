"""The heuristic Advisor: turn diagnoses, the Evaluator's suggestions and guidance into a proposal.

Candidates come, in order, from the Evaluator's textual gradient (its ``knob=value``
suggestions), the expert's own reading of the base trial's curves, and an ordered
list of moves an experienced practitioner tries when nothing is wrong. The
Optimizer's guidance reorders them ("Prefer:", "Try next:") or rules them out
("Avoid:"); changes that regressed before and configurations already tried are skipped.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from typing import Any

from lgt_graph.agents.experience import prior
from lgt_graph.agents.schemas import MAX_CHANGES
from lgt_graph.expert.case import shorter, spent
from lgt_graph.expert.expectations import effect_of, expectation, kind_of, said
from lgt_graph.expert.findings import Knobs, diagnose
from lgt_graph.expert.learned import learned
from lgt_graph.expert.moves import Candidate, explorations, portfolio

_ENTRY = re.compile(r"([a-z_]+)(?:\s*=\s*([\w.+-]+)|\s+(up|down)\b)?")


def digest(config: dict[str, Any]) -> str:
    """Fingerprint a configuration as lgt_graph.agents.prompting.digest does."""
    key = json.dumps({k: config[k] for k in sorted(config)}, separators=(",", ":"))
    return hashlib.sha1(key.encode()).hexdigest()[:10]


def parse_guidance(text: str) -> dict[str, list[tuple[str, str | None]]]:
    """Read 'Prefer:', 'Avoid:' and 'Try next:' lines into (knob, value-or-direction) entries."""
    out: dict[str, list[tuple[str, str | None]]] = {"prefer": [], "avoid": [], "try": []}
    for line in text.splitlines():
        head, sep, body = line.strip().lstrip("-* ").partition(":")
        kind = {"prefer": "prefer", "avoid": "avoid", "try next": "try"}.get(head.strip().lower())
        if not sep or kind is None:
            continue
        for part in re.split(r"[;,]", body):
            match = _ENTRY.match(part.strip())
            if match:
                out[kind].append((match.group(1), match.group(2) or match.group(3)))
    return out


def _direction(old: Any, new: Any) -> str | None:
    if isinstance(new, bool) or not isinstance(new, int | float):
        return None
    if not isinstance(old, int | float) or isinstance(old, bool):
        return None
    return "up" if new > old else "down" if new < old else None


def _touches(candidate: Candidate, entries: list[tuple[str, str | None]], base: dict) -> bool:
    for knob, qualifier in entries:
        if knob not in candidate.changes:
            continue
        new = candidate.changes[knob]
        if qualifier is None:
            return True
        if qualifier in ("up", "down") and _direction(base.get(knob), new) == qualifier:
            return True
        if str(new).lower() == qualifier.lower():
            return True
    return False


def suggestions(verdict: dict[str, Any] | None) -> list[Candidate]:
    """Read the Evaluator's suggestions, written as ``knob=value: reason``."""
    out = []
    for text in (verdict or {}).get("suggestions", []):
        match = re.match(r"\s*([a-z_]+)\s*=\s*([^:\s]+)\s*:?\s*(.*)", text)
        if not match:
            continue
        knob, raw, reason = match.groups()
        out.append(
            Candidate({knob: _literal(raw)}, reason or "the Evaluator suggests it", "evaluator")
        )
    return out


def _literal(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


def fatigue(history: list[dict[str, Any]]) -> dict[str, int]:
    """Count, per knob, its changes since the last improvement (none of which improved)."""
    counts: dict[str, int] = {}
    for row in reversed(history):
        if row.get("outcome") == "improved":
            break
        for change in row.get("changes", []):
            counts[change["knob"]] = counts.get(change["knob"], 0) + 1
    return counts


def affordable(changes: dict[str, Any], base: dict[str, Any], facts: dict[str, Any]) -> bool:
    """Say whether the budget can pay for these changes' extra epochs.

    When the budget counts epochs (``--loop both``), a trial runs for at most what is
    left of it; more epochs than that would train the base's run again, no longer.
    """
    if facts.get("budget_unit") != "epochs" or "epochs" not in changes:
        return True
    if int(changes["epochs"]) <= int(base.get("epochs", 0)):
        return True  # shorter: cheaper
    left = int(facts.get("budget_left", 0))
    return min(int(changes["epochs"]), left) > int(base.get("epochs", 0))


def _anchor(facts: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Choose where to change from: the base, or the best once the base's branch stalls.

    After two trials without an improvement on a branch that left the best trial,
    a practitioner goes back to the best configuration and tries something else there.
    """
    base, best = facts["base"], facts.get("best")
    if not best or best.get("trial") in (None, base.get("trial")):
        return base, "current"
    since = [h for h in facts.get("history", []) if h["trial"] > best["trial"]]
    return (best, "best") if len(since) >= 2 else (base, "current")


@dataclass
class Plan:
    """What the heuristic Advisor reads before it picks: where from, and its ranked ideas."""

    knobs: Knobs
    anchor: dict[str, Any]
    start_from: str
    base: dict[str, Any]
    tried: set[str]
    findings: list[Any]
    usable: list[tuple[Candidate, dict[str, Any]]]
    shorten: tuple[dict[str, Any], str] = ({}, "")


def plan(facts: dict[str, Any]) -> Plan:
    """Rank the candidate changes the facts call for, best first, without repeats."""
    knobs = Knobs(facts["space"])
    profile = facts["task"]
    anchor, start_from = _anchor(facts)
    base = dict(anchor["config"])
    tried = set(facts.get("tried_digests", []))
    avoid = set(facts.get("avoid", []))
    guidance = parse_guidance(facts.get("guidance", ""))
    summary = anchor.get("summary") or (facts.get("last") or {}).get("summary")
    tried_models = {str(h.get("model")) for h in facts.get("history", [])}

    findings = diagnose(summary, base, profile, knobs) if summary else []
    urgent = [f for f in findings if f.changes and f.priority <= 20]
    other = [f for f in findings if f.changes and f.priority > 20]
    # Tiers: urgent fixes, what won on similar tables (experience), untried model families,
    # the Evaluator's textual gradient (when it is about this branch), the other findings,
    # then exploration. Guidance reorders within.
    tiers: list[list[Candidate]] = [
        [Candidate(f.changes, f.reason, f.name, f.evidence) for f in urgent],
        learned(base, facts.get("experience", []), knobs),
        portfolio(base, profile, knobs, tried_models) if facts.get("budget_left", 2) >= 2 else [],
        suggestions(facts.get("verdict")) if start_from == "current" else [],
        [Candidate(f.changes, f.reason, f.name, f.evidence) for f in other],
        explorations(base, profile, knobs),
    ]
    preferred = guidance["prefer"] + guidance["try"]
    candidates = [
        c for tier in tiers for c in sorted(tier, key=lambda c: not _touches(c, preferred, base))
    ]
    # each model family not tried yet is an idea of its own, not "the model knob" again
    tired = {k for k, n in fatigue(facts.get("history", [])).items() if n >= 2} - {"model"}
    tired |= spent(facts.get("history", []), profile.get("direction", "maximize") == "maximize")
    urgent_names = {f.name for f in urgent}
    back = (shorten := shorter(anchor.get("trial"), facts))[0]

    usable: list[tuple[Candidate, dict[str, Any]]] = []
    for candidate in candidates:
        proposed = {**back, **candidate.changes}
        changes = {k: knobs.clip(k, v) for k, v in proposed.items() if knobs.has(k)}
        changes = {k: v for k, v in changes.items() if base.get(k) != v}
        if set(changes) <= set(back) or len(changes) > MAX_CHANGES:
            continue  # only the way back, or too many changes at once
        config = {**base, **changes}
        if (
            not affordable(changes, base, facts)
            or any(k != "model" and not knobs.reads(config, k) for k in changes)
            or any(f"{k}={v}" in avoid for k, v in changes.items())
            or _touches(Candidate(changes, "", ""), guidance["avoid"], base)
            or digest(config) in tried
            or (candidate.source not in urgent_names and bool(tired & (set(changes) - set(back))))
        ):
            continue
        if all(digest({**base, **c}) != digest(config) for _, c in usable):
            usable.append((candidate, changes))
    return Plan(knobs, anchor, start_from, base, tried, findings, usable, shorten)


def propose(facts: dict[str, Any], attempt: int = 1) -> dict[str, Any]:
    """Return a Proposal (as a dict) from the Advisor's facts; ``attempt`` > 1 skips ahead."""
    ranked = plan(facts)
    usable = ranked.usable
    if len(usable) < attempt:
        usable += [
            random_step(
                ranked.base, ranked.knobs, ranked.tried, len(facts.get("history", [])) + attempt
            )
        ]
    candidate, changes = usable[min(attempt, len(usable)) - 1]
    return written(ranked, candidate, changes, facts)


def written(
    ranked: Plan, candidate: Candidate, changes: dict[str, Any], facts: dict[str, Any]
) -> dict[str, Any]:
    """Write one picked change as a Proposal: the changes with reasons, the evidence."""
    lead = next((f for f in ranked.findings if f.name == candidate.source), None)
    evidence = lead.evidence if lead else candidate.evidence
    rationale = (
        f"{evidence}. " if evidence else ""
    ) + f"{candidate.reason[0].upper()}{candidate.reason[1:]} ({candidate.source})."
    if ranked.start_from == "best":
        rationale = (
            f"Two trials since the best (trial {ranked.anchor['trial']}) brought no gain:"
            " back to it. " + rationale
        )
    kind = kind_of(candidate.source, lead is not None and lead.priority <= 20)
    outcome, probability, chances = expectation(
        kind, changes, facts.get("history", []), prior(facts.get("experience", []))
    )
    teach = ""
    if kind == "model family":
        teach = (
            f"no curve calls for {changes.get('model', 'this family')}; its score tells whether"
            f" that family suits this data better than {ranked.base.get('model')}"
        )
    back, why = ranked.shorten
    reasons = {**candidate.reasons, **{k: why for k in back if k not in candidate.changes}}
    return {
        "changes": [
            {"knob": k, "value": v, "reason": reasons.get(k, candidate.reason)}
            for k, v in changes.items()
        ],
        "rationale": rationale,
        "expected_effect": said(outcome, probability, effect_of(candidate.source, facts), teach),
        "expected_outcome": outcome,
        "probability": probability,
        "forecast": chances,
        "exploratory": bool(teach),
        "start_from": ranked.start_from,
    }


def random_step(
    base: dict[str, Any], knobs: Knobs, tried: set[str], seed: int
) -> tuple[Candidate, dict[str, Any]]:
    """Move one knob the model reads a little, at random, when every idea is used up."""
    rng = random.Random(seed)
    names = [n for n in knobs.space if n != "model" and knobs.reads(base, n)]
    for _ in range(200):
        name = rng.choice(names)
        spec = knobs.space[name]
        if spec["kind"] == "choice":
            value: Any = rng.choice(
                [c for c in spec["choices"] if c != base.get(name)] or spec["choices"]
            )
        elif spec["kind"] == "bool":
            value = not base.get(name)
        else:
            value = knobs.clip(
                name, float(base.get(name) or spec["low"] or 1) * rng.choice([0.5, 0.7, 1.5, 2.0])
            )
        changes = {name: value}
        if value != base.get(name) and digest({**base, **changes}) not in tried:
            return Candidate(
                changes, "every diagnosed change was tried: a small step nearby", "exploration"
            ), changes
    raise ValueError("no untried configuration found near the base")
