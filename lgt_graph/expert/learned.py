"""The heuristic Advisor's ideas from experience: what won on tables like this one.

The lessons (:mod:`lgt_graph.agents.experience`) of the nearest finished sessions give two kinds
of candidate, tried right after any urgent fix: the configuration that was best there
(its model family first, then the knobs its gains moved), and each single change that
cleared the noise floor there, where it applies to this base. A lesson is evidence from
other data, so a candidate from it is judged like any other: a change that does not pay
here is not tried twice.
"""

from __future__ import annotations

from typing import Any

from lgt_graph.agents.experience import describe
from lgt_graph.agents.schemas import MAX_CHANGES
from lgt_graph.expert.case import Knobs
from lgt_graph.expert.moves import Candidate


def _ordered(lesson: dict[str, Any]) -> list[str]:
    """Order the best configuration's knobs: the model, those its gains moved, the rest."""
    best = lesson.get("best", {})
    moved = [k for m in lesson.get("improved", []) for k in m.get("changes", {})]
    order = ["model", *moved, *best]
    return [k for i, k in enumerate(order) if k in best and k not in order[:i]]


def _applicable(changes: dict[str, Any], base: dict[str, Any], knobs: Knobs) -> dict[str, Any]:
    """Keep the changes this space has and the changed configuration reads, at most a few."""
    kept: dict[str, Any] = {}
    for name, value in changes.items():
        if not knobs.has(name) or len(kept) >= MAX_CHANGES:
            continue
        config = {**base, **kept, name: value}
        if name == "model" or knobs.reads(config, name):
            kept[name] = knobs.clip(name, value)
    return {k: v for k, v in kept.items() if base.get(k) != v}


def learned(base: dict[str, Any], lessons: list[dict[str, Any]], knobs: Knobs) -> list[Candidate]:
    """List the candidates the lessons call for, nearest table first."""
    out: list[Candidate] = []
    for lesson in lessons:
        best = lesson.get("best", {})
        changes = _applicable({k: best[k] for k in _ordered(lesson)}, base, knobs)
        if changes:
            table = describe(lesson.get("profile", {}))
            out.append(
                Candidate(
                    changes,
                    f"this was the best configuration on a similar table ({table})",
                    "experience",
                    f"A finished session on a table like this one ({table}) ended best with"
                    f" {', '.join(f'{k}={v}' for k, v in changes.items())}",
                )
            )
    for lesson in lessons:
        for move in lesson.get("improved", []):
            if "model" not in move["changes"] and move.get("model") != base.get("model"):
                continue  # a step on another family says nothing about this one
            changes = _applicable(move["changes"], base, knobs)
            if changes:
                floors = move.get("floors")
                size = f" by {floors:.1f} noise floors" if floors is not None else ""
                out.append(Candidate(changes, f"it gained{size} on a similar table", "experience"))
    return out
