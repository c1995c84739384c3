"""Prediction accountability: whether the Advisor's expected effect came true.

Each proposal says what it expects (``expected_effect``, and ``expected_gain``: the gain
over its base trial, positive for better; not said means better). When the trial is
judged, the expectation is checked against the verdict — better against *improved*, no
change against *neutral*, worse against *regressed* or *failed* — and, where a size was
given and the trial improved, whether the gain over the base was within a factor of
three of it. The share of hits is the Advisor's hit rate; the Optimizer reads the misses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lgt_graph.metrics import gain
from lgt_graph.state import ProposalRecord, State, Trial, VerdictRecord

OBSERVED = {"improved": "better", "neutral": "same", "regressed": "worse", "failed": "worse"}
SIZE_FACTOR = 3.0
"""A size came true when the gain is within this factor of the expected one."""


def proposal_for(state: State, index: int) -> ProposalRecord | None:
    """Return the proposal the trial ``index`` trained, if the agents made one."""
    for proposal in state.get("proposals", []):
        if proposal["for_trial"] == index:
            return proposal
    return None


def check(
    state: State, trial: Trial, outcome: str, maximize: bool, hits: Sequence[bool] = ()
) -> dict[str, Any] | None:
    """Return the check of the trial's proposal against its verdict, or None.

    None for a trial with no language proposal to hold to account (the first trial, a
    baseline's searcher, a random fallback). ``hits``: the earlier checks' outcomes, for
    the hit rate so far.
    """
    proposal = proposal_for(state, trial["index"])
    if (
        proposal is None
        or not proposal["changes"]
        or proposal["expected_effect"] == "unknown"
        or str(proposal["status"]).startswith(("fallback", "random"))
    ):
        return None
    expected_gain = proposal.get("expected_gain")
    expected = (
        "better"
        if expected_gain is None or expected_gain > 0
        else "same"
        if expected_gain == 0
        else "worse"
    )
    observed = OBSERVED.get(outcome, "worse")
    base = next((t for t in state.get("trials", []) if t["index"] == proposal["base"]), None)
    over_base = None
    if base is not None and base["score"] is not None and trial["score"] is not None:
        over_base = gain(trial["score"], base["score"], maximize)
    size = None
    if expected_gain and expected_gain > 0 and observed == "better" and over_base is not None:
        ratio = over_base / expected_gain
        size = "right" if 1 / SIZE_FACTOR <= ratio <= SIZE_FACTOR else "off"
    hit = expected == observed and size != "off"
    done = [*hits, hit]
    return {
        "expected": expected,
        "expected_gain": expected_gain,
        "observed": observed,
        "gain_over_base": over_base,
        "size": size,
        "hit": hit,
        "hit_rate": sum(done) / len(done),
        "expected_effect": proposal["expected_effect"],
    }


def hits_of(verdicts: Sequence[VerdictRecord]) -> list[bool]:
    """Return the checked predictions' outcomes, oldest first."""
    return [bool(v["prediction"]["hit"]) for v in verdicts if v.get("prediction")]


def misses(state: State, limit: int = 5) -> list[dict[str, Any]]:
    """Return the latest predictions that did not come true, for the Optimizer."""
    out = []
    for verdict in state.get("verdicts", []):
        prediction = verdict.get("prediction")
        if prediction and not prediction["hit"]:
            proposal = proposal_for(state, verdict["trial"])
            out.append(
                {
                    "trial": verdict["trial"],
                    "changes": [
                        f"{c['knob']} {c['old']} -> {c['new']}"
                        for c in (proposal["changes"] if proposal else [])
                    ],
                    "expected": prediction["expected_effect"],
                    "expected_gain": prediction["expected_gain"],
                    "observed": f"{verdict['outcome']} ({verdict['delta']:+.4g})",
                }
            )
    return out[-limit:]


def misses_text(missed: Sequence[dict[str, Any]]) -> str:
    """Write the misses as lines for the Optimizer's prompt."""
    lines = [
        f"trial {m['trial']}: {', '.join(m['changes'])}: expected {m['expected']};"
        f" got {m['observed']}"
        for m in missed
    ]
    return "\n".join(lines) or "(none)"
