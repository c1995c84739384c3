"""Two guards of the epoch-level Advisor: no ping-pong, and patience after noise.

A paired segment costs two branches, so a change that buys nothing is paid twice:

- **No ping-pong.** A change kept within the last :data:`RECENT` segments is not
  reversed (a rate moved up is not moved down, a value left is not taken back) unless the
  evidence changed: a segment failed since (a diverging loss). A rate that goes up and
  then down is one wasted pair. The Advisor node refuses such a proposal and asks again;
  the heuristic expert does not make one.
- **Patience.** When the paired gains of the last :data:`WINDOW` judged changes all sat
  inside their noise floor (each was *neutral*), the run trains on for ``patience``
  segments without proposing, so the budget goes to epochs that count. The Optimizer can
  set the patience (``PromptRewrite.patience``); :data:`PATIENCE` until it does.

Both read the history as the Advisor's facts give it
(:func:`lgt_graph.epoch.prompts.history_facts`): one entry per segment with its trial,
changes, outcome, whether it was kept, and its paired delta and floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RECENT = 3
"""A change kept within this many segments is not reversed without new evidence."""
WINDOW = 2
"""Patience starts when this many judged changes in a row were neutral (inside the floor)."""
PATIENCE = 2
"""Segments trained on without proposing, until the Optimizer sets another patience."""


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _back(old: Any, moved: Any, current: Any, new: Any) -> bool:
    """Say whether ``current -> new`` moves back over the change ``old -> moved``."""
    if all(_numeric(v) for v in (old, moved, current, new)):
        return (float(new) - float(current)) * (float(moved) - float(old)) < 0
    return new == old


def reversal(entries: list[dict[str, Any]], knob: str, current: Any, new: Any) -> str | None:
    """Return why moving ``knob`` from ``current`` to ``new`` undoes a recent kept change.

    None when it does not: the knob's latest change in the last :data:`RECENT` segments
    was not kept or went the same way, or a segment failed after it (new evidence).
    """
    recent = entries[-RECENT:]
    for position in range(len(recent) - 1, -1, -1):
        entry = recent[position]
        moves = [c for c in entry["changes"] if c["knob"] == knob]
        if not moves:
            continue
        if not entry.get("kept"):
            return None  # rolled back: the run is at the old value, nothing to undo
        if any(e.get("score") is None for e in recent[position + 1 :]):
            return None  # a segment failed since: the evidence changed
        old, moved = moves[0]["old"], moves[0]["new"]
        if not _back(old, moved, current, new):
            return None
        return (
            f"segment {entry['trial']} moved {knob} {old} -> {moved} and that change was kept;"
            f" moving it to {new} undoes it within {RECENT} segments with no failed segment"
            " since (a rate that goes up and then down is one wasted pair)"
        )
    return None


def patience_of(prompt: Mapping[str, Any] | None) -> int:
    """Return the patience the Optimizer set in the current prompt version, or the default."""
    value = (prompt or {}).get("patience")
    return PATIENCE if value is None else int(value)


def kept_recently(entries: list[dict[str, Any]]) -> list[str]:
    """Return the changes kept in the last :data:`RECENT` segments, which are not reversed."""
    return [
        f"{c['knob']} {c['old']} -> {c['new']} (segment {e['trial']})"
        for e in entries[-RECENT:]
        if e.get("kept")
        for c in e["changes"]
    ]


def reversals(
    entries: list[dict[str, Any]], config: dict[str, Any], changes: dict[str, Any]
) -> list[str]:
    """Return why each of ``changes`` (knob to new value) undoes a recent kept change."""
    found = [reversal(entries, k, config.get(k), v) for k, v in changes.items()]
    return [why for why in found if why is not None]


def waiting(entries: list[dict[str, Any]], patience: int) -> str | None:
    """Return why the run trains on without a proposal now, or None when the Advisor may propose.

    It waits while fewer than ``patience`` segments have passed since the last of
    :data:`WINDOW` judged paired changes in a row that were all neutral.
    """
    judged = [e for e in entries if e["changes"] and e.get("paired") and e["outcome"] != "pending"]
    recent = judged[-WINDOW:]
    if patience <= 0 or len(recent) < WINDOW or any(e["outcome"] != "neutral" for e in recent):
        return None
    since = sum(1 for e in entries if e["trial"] > recent[-1]["trial"])
    if since >= patience:
        return None
    gains = ", ".join(
        f"{e['delta']:+.4f}" + (f" (floor ±{e['floor']:.4f})" if e.get("floor") else "")
        for e in recent
    )
    return (
        f"the paired gains of the last {WINDOW} changes sat inside their noise floor ({gains}):"
        f" the run trains on without a change for {patience - since} more segment(s) (patience"
        f" {patience}), so the budget goes to epochs that count"
    )
