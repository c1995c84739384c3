"""The report as pages: markdown (figures beside it) and self-contained HTML."""

from __future__ import annotations

import base64
import html
from typing import Any

from lgt_graph.agents.predictions import calibration
from lgt_graph.report.load import SessionView


def _num(value: float | None) -> str:
    return "failed" if value is None else f"{value:.4f}"


def _change_text(changes: list[dict[str, Any]]) -> str:
    return ", ".join(f"{c['knob']} {c['old']} → {c['new']}" for c in changes) or "default"


def markdown(view: SessionView, images: dict[str, str]) -> str:
    """Render the report as markdown; ``images`` maps a figure to its file name."""
    lines = [
        f"# LGT session {view.run_id}",
        "",
        f"Task **{view.task}**, model `{view.llm}`, nodes `{view.nodes}`, {len(view.trials)}"
        f" trials, status {view.status}.",
        "",
    ]
    test = view.final.get("test", {})
    if test:
        best = view.final.get("trial")
        scores = ", ".join(f"{k} {v:.4f}" for k, v in test.items())
        lines += [f"**Best: trial {best}**; refit and scored once on the test split: {scores}.", ""]
        lines += [f"**{view.final['warning']}**", ""] if view.final.get("warning") else []
    lines += ["## Trajectory", "", f"![trajectory]({images['trajectory']})", ""]
    if view.rollbacks:
        lines += [f"Rolled back after trials {', '.join(map(str, view.rollbacks))}.", ""]
    if "line" in images:
        lines += [
            "## The training run, with every change",
            "",
            f"![run]({images['line']})",
            "",
            "Green dotted lines: a change kept after its paired segment; red crosses: a change"
            " whose branch lost, its weights rolled back.",
            "",
        ]
    lines += ["## Learning curves: initial and best", "", f"![curves]({images['curves']})", ""]
    lines += ["## Timeline", "", *_hit_rate(view), ""]
    for t in view.trials:
        head = (
            f"### Trial {t.index}: {_change_text(t.changes)} — val {view.primary} {_num(t.score)}"
        )
        lines += [head + (f" ({t.judged})" if t.outcome else ""), ""]
        for c in t.changes:
            lines.append(f"- **{c['knob']}** {c['old']} → {c['new']}: {c['reason']}")
        if t.rationale:
            lines += ["", f"Advisor: {t.rationale}"]
        if t.reason:
            lines += ["", f"Failed: {t.reason}"]
        if t.diagnosis:
            lines += ["", f"Evaluator: {t.diagnosis}"]
        if t.suggestions:
            lines += ["", "Suggested next: " + "; ".join(t.suggestions)]
        lines.append("")
    lines += ["## Prompt versions", ""]
    for p in view.prompts:
        after = f" (after trial {p['after_trial']})" if p["after_trial"] not in ("", "0") else ""
        lines += [f"### Version {p['version']}{after}", "", p["why"], ""]
        if p["changed"]:
            lines += ["```diff", *p["changed"], "```", ""]
    return "\n".join(lines) + "\n"


def html_page(view: SessionView, figures: dict[str, bytes]) -> str:
    """Render the report as one self-contained HTML page (figures embedded, text escaped)."""
    e = html.escape
    images = {
        name: "data:image/png;base64," + base64.b64encode(data).decode()
        for name, data in figures.items()
    }
    parts = [
        f"<h1>LGT session {e(view.run_id)}</h1>",
        f"<p>Task <b>{e(view.task)}</b>, model <code>{e(view.llm)}</code>, nodes"
        f" <code>{e(view.nodes)}</code>, {len(view.trials)} trials, status {e(view.status)}.</p>",
    ]
    test = view.final.get("test", {})
    if test:
        scores = ", ".join(f"{e(k)} {v:.4f}" for k, v in test.items())
        parts.append(
            f"<p class='best'><b>Best: trial {e(str(view.final.get('trial')))}</b>; refit and"
            f" scored once on the test split: {scores}.</p>"
        )
        if view.final.get("warning"):
            parts.append(f"<p class='failed'><b>{e(view.final['warning'])}</b></p>")
    parts += ["<h2>Trajectory</h2>", f"<img alt='trajectory' src='{images['trajectory']}'>"]
    if view.rollbacks:
        parts.append(f"<p>Rolled back after trials {', '.join(map(str, view.rollbacks))}.</p>")
    if "line" in images:
        parts += [
            "<h2>The training run, with every change</h2>",
            f"<img alt='training run' src='{images['line']}'>",
            "<p>Green dotted lines: a change kept after its paired segment; red crosses: a"
            " change whose branch lost, its weights rolled back.</p>",
        ]
    parts += [
        "<h2>Learning curves: initial and best</h2>",
        f"<img alt='learning curves' src='{images['curves']}'>",
        "<h2>Timeline</h2>",
        *(f"<p>{e(line)}</p>" for line in _hit_rate(view)),
    ]
    for t in view.trials:
        outcome = f" <span class='{e(t.outcome)}'>({e(t.judged)})</span>" if t.outcome else ""
        parts.append(
            f"<section class='trial' id='trial-{t.index}'><h3>Trial {t.index}:"
            f" {e(_change_text(t.changes))} — val {e(view.primary)} {_num(t.score)}{outcome}</h3>"
        )
        if t.changes:
            items = "".join(
                f"<li><b>{e(str(c['knob']))}</b> {e(str(c['old']))} → {e(str(c['new']))}:"
                f" {e(str(c['reason']))}</li>"
                for c in t.changes
            )
            parts.append(f"<ul>{items}</ul>")
        for label, text in (
            ("Advisor", t.rationale),
            ("Failed", t.reason),
            ("Evaluator", t.diagnosis),
            ("Suggested next", "; ".join(t.suggestions)),
        ):
            if text:
                parts.append(f"<p><b>{label}:</b> {e(text)}</p>")
        parts.append("</section>")
    parts.append("<h2>Prompt versions</h2>")
    for p in view.prompts:
        after = f" (after trial {e(p['after_trial'])})" if p["after_trial"] not in ("", "0") else ""
        parts.append(f"<h3>Version {p['version']}{after}</h3><p>{e(p['why'])}</p>")
        if p["changed"]:
            parts.append("<pre>" + e("\n".join(p["changed"])) + "</pre>")
    style = (
        "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;"
        "line-height:1.45;color:#222}img{max-width:100%}h3{margin-bottom:.3em}"
        "pre{background:#f6f8fa;padding:.6em;overflow-x:auto;white-space:pre-wrap}"
        ".improved{color:#2a7}.regressed,.failed{color:#c33}.trial{border-top:1px solid #eee}"
    )
    title = e(f"LGT session {view.run_id}")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def _hit_rate(view: SessionView) -> list[str]:
    """Say how often the Advisor's predictions came true (none: no line)."""
    checked = [t.hit for t in view.trials if t.hit is not None]
    if not checked:
        return []
    lines = [
        f"The Advisor's predictions came true in {sum(checked)} of {len(checked)} trials"
        f" ({sum(checked) / len(checked):.0%})."
    ]
    c = calibration([t.prediction for t in view.trials if t.prediction])
    if c["brier"] is not None:
        skill = f"{c['skill']:+.2f}"
        lines.append(
            f"Its stated probabilities: Brier score {c['brier']:.3f} over {c['scored']}"
            f" trials, against {c['reference']:.3f} for the base-rate forecast (each"
            f" verdict's share so far; skill {skill}, above 0 beats it;"
            f" {c['hindsight_skill']:+.2f} against the shares in hindsight); it said"
            f" {c['said']:.0%} on average, and {c['came']:.0%} came true."
        )
    return lines
