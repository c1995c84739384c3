"""Project a session's state into MLflow and onto the screen, each item once.

The graph's checkpointed state is the record of truth. The mirror writes what the
state holds that it has not written yet — trial runs, verdicts, prompt versions,
transitions — with writes that a resumed session replays without duplicates, and
prints a line per trial.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lgt_graph import history
from lgt_graph.agents.prompting import advisor_system
from lgt_graph.context import Context
from lgt_graph.epoch.loop import kept
from lgt_graph.history import trial_epochs, trial_seconds
from lgt_graph.state import State

Echo = Callable[[str], None]
TABLE_EVERY = 5
"""Rewrite the transition and agent-call tables in MLflow every this many trials (at first:
the spacing grows with the session, so the rewrites stay linear in the budget)."""


@dataclass
class Mirror:
    """Project the session's state into MLflow and onto the screen, each item once."""

    ctx: Context
    parent: str
    echo: Echo
    seen: dict[str, int] = field(default_factory=dict)

    def _new(self, values: State, key: str) -> list[Any]:
        items: list[Any] = list(values.get(key, []))  # type: ignore[call-overload]
        start = self.seen.get(key, 0)
        self.seen[key] = len(items)
        return items[start:]

    def sync(self, values: State) -> None:
        """Write and print whatever the state holds that was not mirrored yet."""
        ctx, tracker = self.ctx, self.ctx.tracker
        session = ctx.session_id
        for version in self._new(values, "prompts"):
            tracker.submit(
                "session_prompt",
                parent=self.parent,
                session=session,
                version=dict(version),
                text=advisor_system(version["guidance"], ctx.settings.loop),
            )
        proposals = {p["for_trial"]: p for p in values.get("proposals", [])}
        for trial in self._new(values, "trials"):
            best = history.best_trial(values, ctx.maximize, before=trial["index"] + 1)
            tracker.submit(
                "session_trial",
                parent=self.parent,
                session=session,
                trial=dict(trial),
                proposal=proposals.get(trial["index"]),
                primary=ctx.primary,
                best=best["score"] if best else None,
                prompt_version=trial["prompt_version"],
                tags={
                    "task": ctx.data.task.name,
                    "family": ctx.data.task.family,
                    "seed": str(ctx.settings.seed),
                },
            )
        verdicts = self._new(values, "verdicts")
        for verdict in verdicts:
            trial = history.trial(values, verdict["trial"])
            stamp = trial["timestamp"] if trial else int(time.time() * 1000)
            tracker.submit(
                "session_verdict", parent=self.parent, verdict=dict(verdict), stamp=stamp
            )
            if trial is not None:
                self.echo(self.line(trial, verdict, proposals.get(trial["index"])))
        finished = bool(values.get("final")) and not self.seen.get("final")
        if verdicts or finished:
            self.seen["final"] = int(finished)
            judged = len(values.get("verdicts", []))
            tracker.submit(
                "session_progress",
                parent=self.parent,
                transitions=[dict(t) for t in values.get("transitions", [])],
                calls=[dict(c) for c in values.get("agent_calls", [])],
                stamp=int(time.time() * 1000),
                # the tables are rewritten whole: every few trials and at the end
                tables=finished or judged % (TABLE_EVERY * max(1, judged // 50)) == 1,
            )

    def line(self, trial: Any, verdict: Any, proposal: Any) -> str:
        """Format one trial: metric, verdict, then the change and its reason."""
        settings = self.ctx.settings
        head = f"trial {trial['index']:>3}/{settings.budget}"
        if settings.loop == "both":  # the budget counts epochs: say what this one cost
            head = f"trial {trial['index']:>3} ({trial_epochs(trial)} ep)"
        elif settings.budget_seconds is not None:  # equal compute: say what this one cost
            head = f"trial {trial['index']:>3} ({trial_seconds(trial):.1f} s)"
        elif settings.budget_epochs is not None:
            head = f"trial {trial['index']:>3} ({trial_epochs(trial)} ep)"
        score = "failed" if trial["score"] is None else f"{trial['score']:.4f}"
        if trial["changes"]:
            change = ", ".join(f"{c['knob']} {c['old']} -> {c['new']}" for c in trial["changes"])
            reason = trial["changes"][0]["reason"]
            change = f"{change} ({reason})"
        else:
            change = "default configuration"
        if proposal is not None and proposal["status"] not in ("ok", "random"):
            change += f" [{proposal['status'][:40]}]"
        if history.pruned(trial):  # a pruner or the seconds budget stopped it: say when
            by = trial["result"]["diagnostics"].get("pruned_by", "pruner")
            what = "pruned" if by == "pruner" else "cut by the seconds budget"
            unit = trial["result"].get("step_unit", "epoch")
            at = (
                f"epoch {trial_epochs(trial)}"
                if unit == "epoch"
                else f"{history.cut_at(trial)} {unit}"
            )
            change = f"[{what} after {at}] {change}"
        if trial.get("segment") is not None:
            text = segment_line(trial, verdict, self.ctx.primary, change)
        else:
            text = (
                f"{head}  val_{self.ctx.primary} {score:>8}"
                f"  {verdict['outcome']:<9} {verdict['delta']:+.4f}  {change}"
            )
        return text if len(text) <= 160 else text[:157] + "..."


def segment_line(trial: Any, verdict: Any, primary: str, change: str | None = None) -> str:
    """Format one segment of the epoch-level loop: its epochs, metric, verdict and change."""
    segment = trial["segment"]
    if change is None:
        change = ", ".join(f"{c['knob']} {c['old']} -> {c['new']}" for c in trial["changes"])
    change = change.replace("default configuration", "no change") or "no change"
    score = "failed" if trial["score"] is None else f"{trial['score']:.4f}"
    first = segment["start_epoch"] + 1
    last = segment["start_epoch"] + segment["epochs"]
    span = f"epoch {last}" if first == last else f"epochs {first}-{last}"
    against = " vs control" if segment["paired"] else ""
    if verdict.get("floor") is not None:
        against += f" ±{verdict['floor']:.4f}"
    if segment["control"] is not None and not kept(trial, verdict["outcome"]):
        change = f"[control {_score(segment['control']['score'])} kept] {change}"
    text = (
        f"segment {trial['index']:>3} {span:<11} val_{primary} {score:>8}"
        f"  {verdict['outcome']:<9} {verdict['delta']:+.4f}{against}  {change}"
    )
    return text if len(text) <= 160 else text[:157] + "..."


def _score(value: float | None) -> str:
    return "failed" if value is None else f"{value:.4f}"


def summary_markdown(values: Any, ctx: Context) -> str:
    """Render the session's trials and final result as a markdown summary."""
    primary = ctx.primary
    lines = [
        f"# LGT session {ctx.session_id} on {ctx.data.task.name}",
        "",
        f"| {'segment' if ctx.settings.loop == 'epoch' else 'trial'} | val_{primary} | verdict"
        " | changes |",
        "|---|---|---|---|",
    ]
    for trial in history.trials(values):
        verdict = history.verdict_for(values, trial["index"])
        score = _score(trial["score"])
        changes = ", ".join(f"{c['knob']}: {c['old']} -> {c['new']}" for c in trial["changes"])
        outcome = verdict["outcome"] if verdict else "-"
        segment = trial.get("segment")
        control = segment["control"] if segment is not None else None
        if control is not None:  # a paired segment: both branches, and the one the run kept
            score += f" (control {_score(control['score'])})"
            if verdict and not kept(trial, outcome):
                outcome += ", control kept"
        lines.append(f"| {trial['index']} | {score} | {outcome} | {changes or 'default'} |")
    final = values.get("final", {})
    lines.append("")
    if final.get("status") == "ok":
        changed = ctx.space.changed(final["config"])
        how = f"Best: trial {final['trial']}; refit on train, scored once on the test split:"
        picked = final.get("selection", {})
        if picked.get("best_trial") not in (None, final["trial"]):
            how = (
                f"Chosen: trial {final['trial']}, within one standard error"
                f" ({picked['standard_error']:.4g}) of trial {picked['best_trial']}, the best on"
                " validation; refit on train, scored once on the test split:"
            )
        if picked.get("rule") == "ensemble" and len(picked.get("weights", {})) > 1:
            parts = ", ".join(f"{i} ({w:.2f})" for i, w in picked["weights"].items())
            how = (
                f"Ensemble of trials {parts}, weighted greedily on validation; each refit on"
                " train, their weighted outputs scored once on the test split:"
            )
        if "checkpoint" in final and ctx.settings.loop == "both":
            how = (
                f"Best: trial {final['trial']}, its run's checkpoint after epoch {final['epoch']}"
                " (no refit), scored once on the test split:"
            )
        elif "checkpoint" in final:
            how = (
                f"Best: the run's checkpoint after epoch {final['epoch']} (segment"
                f" {final['trial']}, {final['branch']} branch), scored once on the test split:"
            )
        lines += [
            how,
            "",
            "| split | " + " | ".join(final["val"]) + " |",
            "|---|" + "---|" * len(final["val"]),
            "| validation | " + " | ".join(f"{v:.4f}" for v in final["val"].values()) + " |",
            "| test | " + " | ".join(f"{v:.4f}" for v in final["test"].values()) + " |",
            "",
            "Changed from the default: " + (", ".join(map(str, changed)) or "nothing"),
        ]
        lines += ["", final["warning"]] if final.get("warning") else []
    else:
        lines.append(f"No final result: {final.get('reason', 'the session did not finish')}")
    return "\n".join(lines) + "\n"


def print_summary(values: Any, ctx: Context, echo: Echo) -> None:
    """Print the table of trials and the final result."""
    for line in summary_markdown(values, ctx).splitlines()[2:]:
        echo(line)
