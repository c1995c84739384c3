"""The agents' messages in the epoch-level loop: the run's curves, live knobs, paired deltas.

The Advisor reads the run's curves so far, the live knobs and their current values,
and the history of changes with their paired deltas. The same facts block ends every
prompt, so the heuristic expert reads what a language model reads (``"loop": "epoch"``
tells it which moves apply).
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import BaseMessage

from lgt_graph import history
from lgt_graph.agents.prompting import (
    INITIAL_GUIDANCE,
    changes_text,
    knob_facts,
    messages,
    task_line,
)
from lgt_graph.context import Context
from lgt_graph.epoch import guards as epoch_guards
from lgt_graph.epoch.loop import kept, line_of, run_of, spent
from lgt_graph.evaluation.curves import describe, summarize
from lgt_graph.graph import budgets
from lgt_graph.llm.fitting import FULL, Fit, facts_json, recent
from lgt_graph.state import State, Trial

RECENT = 3
"""A change rolled back within this many segments is not proposed again."""
LINE_TAIL = 30
"""The run's last epochs shown to the agents, one line each."""


def _space(ctx: Context, config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    knobs = [k for k in ctx.space.active(config) if k.live]
    text = "\n".join(f"- {k.describe()}" for k in knobs)
    return text, knob_facts(knobs)


def _span(trial: Trial) -> str:
    segment = trial["segment"]
    return f"{segment['start_epoch'] + 1}-{segment['start_epoch'] + segment['epochs']}"


def history_facts(state: State) -> tuple[str, list[dict[str, Any]]]:
    """Return the run's segments as the agents read them: one line each, and as facts."""
    rows, facts = [], []
    for item in history.trials(state):
        if "segment" not in item:
            continue
        verdict = history.verdict_for(state, item["index"])
        outcome = verdict["outcome"] if verdict else "pending"
        delta = verdict["delta"] if verdict else 0.0
        segment = item["segment"]
        score = "failed" if item["score"] is None else f"{item['score']:.4f}"
        against = f" vs {segment['reference_is']}" if segment["reference_is"] != "none" else ""
        floor = verdict.get("floor") if verdict else None
        within = f", floor ±{floor:.4f}" if floor is not None else ""
        kept_now = kept(item, outcome) if verdict else None
        fate = (
            ""
            if kept_now is None or not item["changes"]
            else (", kept" if kept_now else ", rolled back")
        )
        rows.append(
            f"segment {item['index']} (epochs {_span(item)}):"
            f" {changes_text(item['changes']) if item['changes'] else 'no change'} -> {score}"
            f" ({outcome}{against}, {delta:+.4f}{within}{fate})"
        )
        facts.append(
            {
                "trial": item["index"],
                "epochs": _span(item),
                "changes": [
                    {"knob": c["knob"], "old": c["old"], "new": c["new"]} for c in item["changes"]
                ],
                "score": item["score"],
                "outcome": outcome,
                "kept": kept_now,
                "delta": delta,
                "floor": floor,
                "paired": segment["paired"],
                "model": item["config"].get("model"),
            }
        )
    return "\n".join(rows) or "(none yet)", facts


def recently_rolled_back(state: State) -> list[str]:
    """Return the changes rolled back within the last few segments (lost, or no better)."""
    out: list[str] = []
    done = history.trials(state)
    for item in done[-RECENT:]:
        verdict = history.verdict_for(state, item["index"])
        if verdict is not None and not kept(item, verdict["outcome"]):
            out += [history.change_key(c) for c in item["changes"]]
    return out


def _line_text(line: dict[str, Any], primary: str) -> tuple[str, dict[str, list[float]]]:
    steps = line["steps"][-LINE_TAIL:]
    curves = {k: v[-LINE_TAIL:] for k, v in line["curves"].items()}
    names = [n for n in ("train_loss", "val_loss", f"val_{primary}") if n in curves]
    rows = [
        f"epoch {step}: " + ", ".join(f"{n} {curves[n][i]:.4f}" for n in names)
        for i, step in enumerate(steps)
    ]
    return "\n".join(rows) or "(no epoch yet)", {"steps": steps, **curves}  # type: ignore[dict-item]


def advisor_messages(
    state: State, ctx: Context, base: Trial | None, fit: Fit = FULL
) -> list[BaseMessage]:
    """Build the Advisor's messages between two segments of the run (``fit``: what to leave out)."""
    run = run_of(state)
    current = run.get("current")
    line = line_of(state, current)
    line_summary = summarize(line, ctx.primary, ctx.maximize) if line["steps"] else {}
    last = history.last_trial(state)
    verdict = history.verdict_for(state, last["index"]) if last else None
    prompt = history.current_prompt(state)
    guidance = prompt["guidance"] if prompt else INITIAL_GUIDANCE
    base_config = dict(base["config"]) if base else ctx.space.default()
    space_text, space_facts = _space(ctx, base_config)
    history_text, past = history_facts(state)
    line_text, line_facts = _line_text(line, ctx.primary)
    avoid = recently_rolled_back(state)
    keep = epoch_guards.kept_recently(past)
    patience = epoch_guards.patience_of(prompt)
    horizon = budgets.epoch_horizon(state, ctx.settings)  # a seconds budget may come first
    budget_left = horizon - spent(state)
    best = run.get("best")
    epoch = int(current["epoch"]) if current else 0
    last_summary = summarize(last["result"], ctx.primary, ctx.maximize) if last else {}
    facts = {
        "agent": "advisor",
        "loop": "epoch",
        "task": ctx.profile,
        "space": space_facts,
        "base": {
            "trial": base["index"] if base else None,
            "config": base_config,
            "score": current["score"] if current else None,
            "summary": line_summary or None,
        },
        "best": dict(best) if best else None,
        "last": {
            "trial": last["index"],
            "changes": [dict(c) for c in last["changes"]],
            "summary": last_summary,
        }
        if last
        else None,
        "verdict": dict(verdict) if verdict else None,
        "history": past,
        "avoid": avoid,
        "do_not_reverse": keep,
        "patience": patience,
        "guidance": guidance,
        "budget_left": budget_left,
        "run": {
            "epoch": epoch,
            "epochs_trained": spent(state),
            "budget": horizon,
            "segment": ctx.settings.segment,
            "line": line_facts,
        },
        "tried_digests": [],
    }
    return messages(
        "advisor_epoch",
        guidance=guidance,
        task=ctx.profile,
        task_line=task_line(ctx.profile),
        space_text=space_text,
        epoch=epoch,
        base_config=json.dumps(base_config),
        line_text=line_text,
        line_summary=describe(line_summary) if line_summary else "no epoch yet",
        last_title=f"segment {last['index']}" if last else "none yet",
        last_line=history_text.splitlines()[-1] if last else "none yet",
        textual_gradient=(
            verdict["diagnosis"] + "".join(f"\n- {s}" for s in verdict["suggestions"])
            if verdict
            else "(none yet)"
        ),
        history_text="\n".join(recent(history_text.splitlines(), fit, "segments")),
        avoid_text=", ".join(avoid) or "none",
        keep_text=", ".join(keep) or "none",
        budget_left=budget_left,
        segment=ctx.settings.segment,
        facts_json=facts_json(facts, fit),
    )


def evaluator_messages(
    state: State, ctx: Context, trial: Trial, fit: Fit = FULL
) -> list[BaseMessage]:
    """Build the Evaluator's messages for one segment: candidate against its reference."""
    segment = trial["segment"]
    summary = summarize(trial["result"], ctx.primary, ctx.maximize)
    line = line_of(state, run_of(state).get("current"))
    line_summary = summarize(line, ctx.primary, ctx.maximize) if line["steps"] else {}
    score = trial["score"]
    reference = segment["reference"]
    floor = segment.get("floor") if ctx.settings.tolerance is None else None
    facts = {
        "agent": "evaluator",
        "loop": "epoch",
        "task": ctx.profile,
        "trial": {
            "index": trial["index"],
            "changes": [dict(c) for c in trial["changes"]],
            "config": trial["config"],
            "score": score,
            "summary": summary,
        },
        "parent": None,
        "best_before": {"index": segment["reference_is"], "score": reference}
        if reference is not None
        else None,
        "reference_is": segment["reference_is"],
        "tolerance": ctx.settings.tolerance_fraction,
        "floor": floor,
        "maximize": ctx.maximize,
        "primary": ctx.primary,
    }
    return messages(
        "evaluator_epoch",
        primary=ctx.primary,
        tolerance=ctx.settings.tolerance_fraction,
        task=ctx.profile,
        index=trial["index"],
        span=_span(trial),
        changes_text=changes_text(trial["changes"]) if trial["changes"] else "nothing",
        candidate_line="failed" if score is None else f"{ctx.primary} {score:.4f}",
        reference_line=(
            "none (no change to judge)"
            if reference is None
            else f"{ctx.primary} {reference:.4f} ({segment['reference_is']})"
        ),
        floor_line=(
            f"±{floor:.4f}: the standard error of the two branches' difference on the same"
            " validation rows"
            if floor is not None
            else "none (the tolerance decides)"
        ),
        trial_summary=describe(summary),
        line_summary=describe(line_summary) if line_summary else "no epoch yet",
        facts_json=facts_json(facts, fit),
    )
