"""The story of a session, from the MLflow store: an HTML page and its markdown twin.

``write_report`` reads a session run, its nested trial runs (curves, proposals,
verdicts) and its prompt versions, and writes ``report.html`` (self-contained: the
plots are embedded) and ``report.md`` (the plots beside it as PNG files).
"""

from __future__ import annotations

import base64
import difflib
import html
import io
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lgt_graph.errors import UserError


@dataclass
class TrialView:
    """One trial as the report shows it."""

    index: int
    score: float | None
    status: str
    reason: str
    changes: list[dict[str, Any]]
    rationale: str
    outcome: str
    diagnosis: str
    suggestions: list[str]
    curves: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class SessionView:
    """A session as the report shows it."""

    run_id: str
    task: str
    llm: str
    nodes: str
    primary: str
    maximize: bool
    trials: list[TrialView]
    rollbacks: list[int]
    """Trials after which the graph rolled back to the best configuration."""
    prompts: list[dict[str, Any]]
    final: dict[str, Any]
    status: str


def load_session(uri: str, run_id: str) -> SessionView:
    """Read a session run and everything under it from the MLflow store at ``uri``."""
    with tempfile.TemporaryDirectory(prefix="lgt-report-") as folder:
        return _load_session(uri, run_id, folder)


def _load_session(uri: str, run_id: str, folder: str) -> SessionView:
    from lgt_graph.tracking import open_client

    client = open_client(uri)
    try:
        parent = client.get_run(run_id)
    except Exception:
        raise UserError(f"report {run_id}: no such run in the MLflow store {uri}") from None
    if parent.data.tags.get("kind") != "session":
        raise UserError(f"report {run_id}: not a tuning session run (see `run`)")
    names = {a.path for a in client.list_artifacts(run_id)}

    def artifact(run: str, name: str, present: set[str] | None = None) -> Any:
        if present is not None and name not in present:
            return None
        return json.loads(Path(client.download_artifacts(run, name, folder)).read_text())

    final = artifact(run_id, "final.json", names) or {}
    transitions = (artifact(run_id, "transitions.json", names) or {}).get("transitions", [])
    primary = next(
        (k.split("/", 1)[1][4:] for k in parent.data.metrics if k.startswith("trial/val_")), ""
    )
    children = client.search_runs(
        [parent.info.experiment_id],
        f"tags.mlflow.parentRunId = '{run_id}'",
        max_results=5000,
    )
    trials = []
    for child in sorted(children, key=lambda r: int(r.data.tags.get("lgt.trial", 0))):
        present = {a.path for a in client.list_artifacts(child.info.run_id)}
        proposal = artifact(child.info.run_id, "proposal.json", present) or {}
        verdict = artifact(child.info.run_id, "verdict.json", present) or {}
        curves = {
            key[len("curve/") :]: [
                m.value
                for m in sorted(
                    client.get_metric_history(child.info.run_id, key), key=lambda m: m.step
                )
            ]
            for key in child.data.metrics
            if key in (f"curve/val_{primary}", "curve/train_loss", "curve/val_loss")
        }
        trials.append(
            TrialView(
                index=int(child.data.tags["lgt.trial"]),
                score=child.data.metrics.get(f"val_{primary}"),
                status=child.data.tags.get("status", ""),
                reason=child.data.tags.get("failure_reason", ""),
                changes=list(proposal.get("changes", [])),
                rationale=str(proposal.get("rationale", "")),
                outcome=str(verdict.get("outcome", "")),
                diagnosis=str(verdict.get("diagnosis", "")),
                suggestions=list(verdict.get("suggestions", [])),
                curves=curves,
            )
        )
    prompts = []
    prompt_uri = parent.data.tags.get("lgt.prompt", "")
    if prompt_uri.startswith("prompts:/"):
        name = prompt_uri.split("/")[1]
        versions = sorted(client.search_prompt_versions(name), key=lambda v: int(v.version))
        previous = ""
        for v in versions:
            changed = [
                line
                for line in difflib.unified_diff(
                    previous.splitlines(), v.template.splitlines(), lineterm="", n=0
                )
                if line[:1] in "+-" and not line.startswith(("+++", "---"))
            ]
            prompts.append(
                {
                    "version": int(v.version),
                    "why": v.commit_message or "",
                    "after_trial": (v.tags or {}).get("lgt.after_trial", ""),
                    "changed": changed if previous else [],
                }
            )
            previous = v.template
    return SessionView(
        run_id=run_id,
        task=parent.data.tags.get("task", ""),
        llm=parent.data.tags.get("llm", ""),
        nodes=parent.data.tags.get("nodes", ""),
        primary=primary,
        maximize=primary not in ("mae", "rmse"),
        trials=trials,
        rollbacks=sorted({int(t["iteration"]) for t in transitions if t["target"] == "rollback"}),
        prompts=prompts,
        final=final,
        status=parent.info.status,
    )


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def plot_trajectory(view: SessionView) -> bytes:
    """Plot the validation metric per trial, the best so far, failed trials and rollbacks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    done = [(t.index, t.score) for t in view.trials if t.score is not None]
    ax.plot([i for i, _ in done], [s for _, s in done], "o-", color="#888", label="trial")
    best: list[tuple[int, float]] = []
    for index, score in done:
        if not best or (score > best[-1][1] if view.maximize else score < best[-1][1]):
            best.append((index, float(score)))
        else:
            best.append((index, best[-1][1]))
    if best:
        ax.step(*zip(*best, strict=True), where="post", color="#1f77b4", lw=2, label="best so far")
    low = min((s for _, s in done), default=0.0)
    failed = [t.index for t in view.trials if t.score is None]
    if failed:
        ax.plot(failed, [low] * len(failed), "x", color="#d62728", ms=9, label="failed trial")
    for i, index in enumerate(view.rollbacks):
        ax.axvline(index + 0.5, color="#ff7f0e", ls=":", label="rollback" if i == 0 else None)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {view.primary}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def plot_learning_curves(view: SessionView) -> bytes:
    """Plot loss and validation metric per epoch of the first and the best configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best = view.final.get("trial")
    shown = [t for t in view.trials if t.index in (1, best) and t.curves]
    fig, (loss, metric) = plt.subplots(1, 2, figsize=(9, 3.4))
    for t, color in zip(shown, ("#888", "#1f77b4"), strict=False):
        label = "initial" if t.index == 1 else f"best (trial {t.index})"
        for key, style in (("train_loss", "--"), ("val_loss", "-")):
            if t.curves.get(key):
                loss.plot(range(1, len(t.curves[key]) + 1), t.curves[key], style, color=color,
                          label=f"{label}, {key.replace('_', ' ')}")  # fmt: skip
        values = t.curves.get(f"val_{view.primary}")
        if values:
            metric.plot(range(1, len(values) + 1), values, "-", color=color, label=label)
    loss.set_xlabel("epoch (boosting round for trees)")
    loss.set_ylabel("loss")
    metric.set_xlabel("epoch (boosting round for trees)")
    metric.set_ylabel(f"validation {view.primary}")
    for ax in (loss, metric):
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no per-epoch curves (a tree model)", ha="center",
                    transform=ax.transAxes)  # fmt: skip
    fig.tight_layout()
    return _png(fig)


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
    lines += ["## Trajectory", "", f"![trajectory]({images['trajectory']})", ""]
    if view.rollbacks:
        lines += [f"Rolled back after trials {', '.join(map(str, view.rollbacks))}.", ""]
    lines += ["## Learning curves: initial and best", "", f"![curves]({images['curves']})", ""]
    lines += ["## Timeline", ""]
    for t in view.trials:
        head = (
            f"### Trial {t.index}: {_change_text(t.changes)} — val {view.primary} {_num(t.score)}"
        )
        lines += [head + (f" ({t.outcome})" if t.outcome else ""), ""]
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
    parts += ["<h2>Trajectory</h2>", f"<img alt='trajectory' src='{images['trajectory']}'>"]
    if view.rollbacks:
        parts.append(f"<p>Rolled back after trials {', '.join(map(str, view.rollbacks))}.</p>")
    parts += [
        "<h2>Learning curves: initial and best</h2>",
        f"<img alt='learning curves' src='{images['curves']}'>",
        "<h2>Timeline</h2>",
    ]
    for t in view.trials:
        outcome = f" <span class='{e(t.outcome)}'>({e(t.outcome)})</span>" if t.outcome else ""
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
        ".improved{color:#2a7}.regressed{color:#c33}.trial{border-top:1px solid #eee}"
    )
    title = e(f"LGT session {view.run_id}")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def write_report(uri: str, run_id: str, out: Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` (with its PNGs) for a session into ``out``."""
    view = load_session(uri, run_id)
    figures = {"trajectory": plot_trajectory(view), "curves": plot_learning_curves(view)}
    out.mkdir(parents=True, exist_ok=True)
    for name, data in figures.items():
        (out / f"{name}.png").write_bytes(data)
    md_path = out / "report.md"
    md_path.write_text(markdown(view, {name: f"{name}.png" for name in figures}))
    html_path = out / "report.html"
    html_path.write_text(html_page(view, figures))
    return html_path, md_path


def report_dir(uri: str, run_id: str) -> Path:
    """Return the default report folder: ``lgt_reports/RUN_ID`` beside a SQLite store."""
    base = Path(uri[len("sqlite:///") :]).parent if uri.startswith("sqlite:///") else Path()
    return base / "lgt_reports" / run_id


def publish_report(uri: str, run_id: str) -> Path | None:
    """Write a finished session's report and attach the page to its MLflow run.

    A report is an aid: when it cannot be written, say why and return None.
    """
    import logging

    try:
        html_path, _ = write_report(uri, run_id, report_dir(uri, run_id))
        from lgt_graph.tracking import open_client

        open_client(uri).log_artifact(run_id, str(html_path))
    except Exception as exc:
        logging.getLogger(__name__).warning("the report was not written: %s", exc)
        return None
    return html_path
