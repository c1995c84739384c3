"""The session's records as readable markdown: proposals, verdicts and transitions."""

from __future__ import annotations

import json
from typing import Any


def proposal_markdown(proposal: dict[str, Any]) -> str:
    """Render a proposal as readable markdown."""
    lines = [
        f"# Proposal for trial {proposal['for_trial']}",
        "",
        f"Base: trial {proposal['base']}  ",
        f"Status: {proposal['status']}",
        "",
        "| knob | from | to | reason |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {c['knob']} | {c['old']} | {c['new']} | {_cell(c['reason'])} |"
        for c in proposal["changes"]
    ]
    lines += [
        "",
        f"**Rationale.** {proposal['rationale']}",
        "",
        f"**Expected effect.** {proposal['expected_effect']}",
    ]
    if proposal.get("expected_outcome"):
        p = proposal.get("probability")
        lines += [
            "",
            f"**Expected verdict.** {proposal['expected_outcome']}"
            + (f", probability {p:.2f}" if p is not None else "")
            + (" (exploratory)" if proposal.get("exploratory") else ""),
        ]
    return "\n".join(lines) + "\n"


def verdict_markdown(verdict: dict[str, Any]) -> str:
    """Render a verdict as readable markdown."""
    lines = [
        f"# Verdict on trial {verdict['trial']}: {verdict['outcome']} ({verdict['delta']:+.4g})",
        "",
        f"Status: {verdict['status']}  ",
        (
            f"Noise floor: ±{verdict['floor']:.4g} (a gain inside it is neutral)"
            if verdict.get("floor") is not None
            else "Noise floor: none (the fixed --tolerance rule)"
        ),
        *_prediction_lines(verdict.get("prediction")),
        "",
        "## Diagnosis (textual gradient)",
        "",
        verdict["diagnosis"],
        "",
        "## Suggestions",
        "",
    ]
    lines += [f"- {s}" for s in verdict["suggestions"]] or ["(none)"]
    return "\n".join(lines) + "\n"


def transitions_markdown(transitions: list[dict[str, Any]]) -> str:
    """Render the graph's transitions as a markdown table."""
    lines = ["| # | trial | from | to | why |", "|---|---|---|---|---|"]
    lines += [
        f"| {n} | {t['iteration']} | {t['source']} | {t['target']} | {_cell(t['why'])} |"
        for n, t in enumerate(transitions, 1)
    ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return json.dumps(str(text))[1:-1].replace("|", "\\|")


def _prediction_lines(prediction: dict[str, Any] | None) -> list[str]:
    if not prediction:
        return []
    size = f", size {prediction['size']}" if prediction.get("size") else ""
    said = prediction.get("expected_gain")
    gain_text = f" (gain {said:+.4g})" if said is not None else ""
    if prediction.get("probability") is not None:
        gain_text += (
            f" with probability {prediction['probability']:.2f}"
            f" (Brier score {prediction['brier']:.3f})"
        )
    return [
        "",
        f"Prediction: {'came true' if prediction['hit'] else 'missed'} — expected"
        f" {prediction['expected']}{gain_text}, observed {prediction['observed']}{size};"
        f" the Advisor's hit rate so far {prediction['hit_rate']:.0%}",
    ]
