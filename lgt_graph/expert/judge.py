"""The heuristic Evaluator and Optimizer: verdicts with textual gradients, and guidance rewrites."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from lgt_graph.epoch.guards import PATIENCE
from lgt_graph.evaluation.metrics import gain, oriented, outcome
from lgt_graph.expert.case import LENGTH_KNOBS, lengthened, paid_off
from lgt_graph.expert.findings import Knobs, diagnose


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def judge(facts: dict[str, Any]) -> dict[str, Any]:
    """Return a Verdict (as a dict) for the trial the Evaluator's facts describe."""
    trial = facts["trial"]
    parent = facts.get("parent")
    best = facts.get("best_before")
    maximize = bool(facts["maximize"])
    primary = facts["primary"]
    score = trial["score"]
    best_score = best["score"] if best else None
    floor = facts.get("noise_floor")
    verdict = outcome(
        score,
        best_score,
        maximize,
        float(facts["tolerance"]),
        None if floor is None else float(floor),
    )
    delta = 0.0 if score is None or best_score is None else score - best_score

    sentences: list[str] = []
    if score is None:
        sentences.append(f"Trial {trial['index']} failed: {trial['summary'].get('failure', '')}.")
    elif best is None:
        sentences.append(f"Trial {trial['index']} sets the first {primary}: {score:.4f}.")
    else:
        sentences.append(
            f"Trial {trial['index']} reached {primary} {score:.4f} against the best"
            f" {best_score:.4f} (trial {best['index']}): {verdict}."
        )
    changes = trial.get("changes", [])
    if parent and changes and score is not None and parent.get("score") is not None:
        moved = ", ".join(f"{c['knob']} {_fmt(c['old'])} -> {_fmt(c['new'])}" for c in changes)
        sentences.append(
            f"Changing {moved} moved {primary} from {parent['score']:.4f} (trial"
            f" {parent['index']}) to {score:.4f}."
        )
    findings = diagnose(trial["summary"], trial["config"], facts["task"], Knobs())
    sentences += [f"{f.name.capitalize()}: {f.evidence}." for f in findings if f.name != "sound"]
    if not any(f.name != "sound" for f in findings) and score is not None:
        sentences.append("The curves show no over- or underfitting: the configuration is sound.")

    suggestions: list[str] = []
    parent_score = None if parent is None else parent.get("score")
    good = None if score is None or parent_score is None else gain(score, parent_score, maximize)
    for change in credited(changes):
        if change["knob"] in LENGTH_KNOBS and _label(change)[1] == "down":
            continue  # a shorter schedule is a saving, not a direction to go on in
        old, new = change["old"], change["new"]
        if (
            isinstance(new, bool)
            or not isinstance(new, int | float)
            or not isinstance(old, int | float)
            or isinstance(old, bool)
            or old == 0
        ):
            continue
        if (
            good is not None
            and good > 0
            and lengthened([change])
            and not paid_off(good, float(parent_score or 0.0))
        ):
            sentences.append(
                f"Moving {change['knob']} from {_fmt(old)} to {_fmt(new)} bought only"
                f" {good:+.4g}: training length no longer limits the model, so more of it"
                " is not worth its cost; capacity or regularisation may be."
            )
        elif good is not None and good > 0:
            step = new * (new / old) if new != old else new
            suggestions.append(
                f"{change['knob']}={_fmt(_cast(new, step))}: moving it from {_fmt(old)} to"
                f" {_fmt(new)} helped; continue in that direction"
            )
        elif good is not None and good < 0:
            # the same ratio the other way; from a move to 0, the same distance the other way
            step = old / (new / old) if new not in (0, old) else 2 * old - new
            suggestions.append(
                f"{change['knob']}={_fmt(_cast(new, step))}: moving it from {_fmt(old)} to"
                f" {_fmt(new)} hurt; try the other direction"
            )
    for finding in findings:
        for knob, value in finding.changes.items():
            suggestions.append(f"{knob}={_fmt(value)}: {finding.reason}")
    sentences += compared(facts.get("round") or [], maximize, primary)
    return {
        "outcome": verdict,
        "delta": float(delta),
        "diagnosis": " ".join(sentences),
        "suggestions": suggestions[:5],
    }


def compared(siblings: list[dict[str, Any]], maximize: bool, primary: str) -> list[str]:
    """Compare a parallel round's trials: which change helped most, which hurt most."""
    scored = [s for s in siblings if s.get("score") is not None]
    if len(siblings) < 2 or not scored:
        return []

    def moved(item: dict[str, Any]) -> str:
        changes = item.get("changes") or []
        text = ", ".join(f"{c['knob']} -> {_fmt(c['new'])}" for c in changes)
        return f"trial {item['index']} ({text or 'no change'})"

    ranked = sorted(scored, key=lambda s: s["score"], reverse=maximize)
    out = [
        f"Of the round's {len(siblings)} trials side by side, {moved(ranked[0])} did best"
        f" ({primary} {ranked[0]['score']:.4f})"
    ]
    if len(ranked) > 1:
        out[0] += f" and {moved(ranked[-1])} worst ({ranked[-1]['score']:.4f})"
    out[0] += "."
    failed = [s for s in siblings if s.get("score") is None]
    if failed:
        out.append("Failed: " + ", ".join(moved(s) for s in failed) + ".")
    return out


def _cast(like: Any, value: float) -> Any:
    return round(value) if isinstance(like, int) else float(f"{value:.3g}")


def rewrite(facts: dict[str, Any]) -> dict[str, Any]:
    """Return a PromptRewrite (as a dict): what helped, what hurt, what is left to try."""
    maximize = bool(facts["maximize"])
    effects: dict[tuple[str, str], list[float]] = defaultdict(list)
    failed: set[tuple[str, str]] = set()
    models: set[str] = set()
    for row in facts["history"]:
        models.add(str(row.get("model")))
        helped_by = oriented(float(row["delta"]), maximize)
        for change in credited(row["changes"]):
            label = _label(change)
            if row["score"] is None:
                failed.add(label)
            if row["outcome"] != "pending":
                effects[label].append(helped_by)
    helped = sorted(((max(v), k) for k, v in effects.items() if max(v) > 0), reverse=True)
    hurt = sorted((min(v), k) for k, v in effects.items() if k in failed or max(v) < 0)
    lines = []
    if helped:
        lines.append("Prefer: " + "; ".join(f"{_show(k)} ({g:+.4g})" for g, k in helped[:4]))
    if hurt:
        lines.append(
            "Avoid: "
            + "; ".join(
                f"{_show(k)} ({'failed' if k in failed else f'{g:+.4g}'})" for g, k in hurt[:4]
            )
        )
    family = facts["task"]["family"]
    untried = [
        m for m in (("cnn",) if family == "image" else ("gbm", "random_forest")) if m not in models
    ]
    if untried and models - {"None"}:  # a space with model families (not a study's own)
        lines.append("Try next: " + "; ".join(f"model={m}" for m in untried))
    missed = [m for m in facts.get("misses", []) if m.get("changes")]
    if missed:  # read by the Advisor's model; the heuristic Advisor's parser skips it
        lines.append(
            "Missed: "
            + "; ".join(
                f"{', '.join(m['changes'])} (expected"
                f" {_EXPECTED.get(m.get('expected_outcome', 'better'), 'a gain')},"
                f" got {m['observed']})"
                for m in missed[-3:]
            )
        )
    lines += _calibration_lines(facts.get("calibration"))
    if not lines:
        lines.append("Prefer: changes that follow the diagnosed symptom of the last trial")
    why_bits = []
    if helped:
        why_bits.append(f"{_show(helped[0][1])} gave the largest gain")
    if hurt:
        why_bits.append(f"{_show(hurt[0][1])} hurt")
    patience, because = _patience(facts)
    if because:
        why_bits.append(because)
    why = "; ".join(why_bits) or "not enough history yet to favour any change"
    return {
        "guidance": "\n".join(lines),
        "why": why[0].upper() + why[1:] + ".",
        "patience": patience,
    }


KEPT_FEW = 0.25
"""Below this share of judged mid-run changes kept, the Advisor waits longer between them."""


def _patience(facts: dict[str, Any]) -> tuple[int | None, str]:
    """Set the epoch-level Advisor's patience from the share of its changes kept (None: keep).

    Few changes kept (most paired gains inside the floor): wait twice as long between
    proposals; half or more kept: wait one segment; in between: the default.
    """
    if facts.get("loop") != "epoch":
        return None, ""
    judged = [r for r in facts["history"] if r["changes"] and r["outcome"] != "pending"]
    if len(judged) < 4:
        return None, ""
    share = sum(r["outcome"] == "improved" for r in judged) / len(judged)
    patience = 2 * PATIENCE if share < KEPT_FEW else 1 if share >= 0.5 else PATIENCE
    return patience, f"{share:.0%} of {len(judged)} mid-run changes kept: patience {patience}"


_EXPECTED = {"better": "a gain", "same": "no change", "worse": "a loss"}


def _calibration_lines(c: dict[str, Any] | None) -> list[str]:
    """Tell the Advisor whether its stated probabilities ran too high or too low."""
    if not c or c.get("brier") is None or c.get("scored", 0) < 3:
        return []
    gap = float(c["said"]) - float(c["came"])
    if abs(gap) < 0.15:
        return []
    which = "over-expect: state lower" if gap > 0 else "under-expect: state higher"
    return [
        f"Calibration: your stated probabilities averaged {c['said']:.0%} and {c['came']:.0%}"
        f" came true; you {which} probabilities."
    ]


def credited(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the changes a trial's gain or loss can be credited to.

    A change of model family changes what every other knob means: the family takes the
    credit, not the knobs that came with it (a CNN's first depth is not "depth up").
    """
    family = [c for c in changes if c["knob"] == "model"]
    return family or changes


def _label(change: dict[str, Any]) -> tuple[str, str]:
    old, new = change["old"], change["new"]
    numeric = isinstance(new, int | float) and not isinstance(new, bool)
    if numeric and isinstance(old, int | float) and not isinstance(old, bool):
        return change["knob"], "up" if new > old else "down"
    return change["knob"], f"={new}"


def _show(label: tuple[str, str]) -> str:
    knob, what = label
    return f"{knob}{what}" if what.startswith("=") else f"{knob} {what}"
