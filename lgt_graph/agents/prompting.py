"""The agents' messages: prompt files rendered strictly, with the session's facts.

Each template in ``prompts/`` has a system part and a user part, split by a
``==== user ====`` line, and is rendered with Jinja2's ``StrictUndefined`` so a
missing variable fails loudly. The user part ends with the same facts as JSON,
which the built-in heuristic model reads (a language model may read either).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from lgt_graph import history
from lgt_graph.agents.experience import experience_text
from lgt_graph.context import Context
from lgt_graph.evaluation.curves import describe, summarize
from lgt_graph.graph import budgets
from lgt_graph.llm.fitting import FULL, Fit, facts_json, recent
from lgt_graph.space import Config, config_key, diff
from lgt_graph.space.knob import Knob
from lgt_graph.state import State, Trial

SPLIT = "==== user ===="
INITIAL_GUIDANCE = "No history yet: follow the evidence of the curves."
BUDGET_UNITS = {"trials": "Trials", "epochs": "Epochs", "seconds": "Seconds of training"}
"""How the Advisor's prompt names the unit of its tightest budget."""
_FACTS = re.compile(r"```json\s*(\{.*\})\s*```", re.DOTALL)


@cache
def template(name: str) -> str:
    """Return the text of ``prompts/<name>.md``, as installed with the package."""
    return resources.files("lgt_graph.prompts").joinpath(f"{name}.md").read_text("utf-8")


@cache
def _environment() -> Any:
    from jinja2 import Environment, StrictUndefined

    return Environment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


@cache
def _compiled(name: str, part: str = "all") -> Any:
    text = template(name)
    return _environment().from_string(text if part == "all" else text.partition(SPLIT)[0])


def render(name: str, **variables: Any) -> tuple[str, str]:
    """Render a prompt file; return its (system, user) parts."""
    text = _compiled(name).render(**variables)
    system, _, user = text.partition(SPLIT)
    return system.strip(), user.strip()


def messages(name: str, **variables: Any) -> list[BaseMessage]:
    """Render a prompt file into the system and user messages of one agent call."""
    system, user = render(name, **variables)
    return [SystemMessage(system), HumanMessage(user)]


def extract_facts(text: str) -> dict[str, Any]:
    """Return the JSON facts block of a rendered prompt."""
    found = _FACTS.findall(text)
    if not found:
        raise ValueError("no facts block in the prompt")
    return dict(json.loads(found[-1]))


def advisor_system(guidance: str, loop: str = "trial") -> str:
    """Return the Advisor's system prompt for a guidance: what each prompt version holds."""
    name = "advisor_epoch" if loop == "epoch" else "advisor"
    return str(_compiled(name, "system").render(guidance=guidance)).strip()


def digest(config: Config) -> str:
    """Return a short fingerprint of a configuration."""
    return hashlib.sha1(config_key(config).encode()).hexdigest()[:10]


def knob_facts(knobs: Sequence[Knob]) -> dict[str, Any]:
    """Return the knobs as the facts block states them: kind, range or choices, default, users."""
    return {
        k.name: {
            "dimension": k.dimension,
            "kind": k.kind,
            **({"choices": list(k.choices)} if k.kind == "choice" else {}),
            **({"low": k.low, "high": k.high, "log": k.log} if k.kind in ("int", "float") else {}),
            "default": k.default,
            "used_by": list(k.used_by),
            **({"when": [k.when[0], list(k.when[1])]} if k.when else {}),
        }
        for k in knobs
    }


def _space(ctx: Context, config: Config, fit: Fit = FULL) -> tuple[str, dict[str, Any]]:
    knobs = ctx.space.active(config) if fit.in_use else list(ctx.space.knobs.values())
    text = "\n".join(
        f"- {k.name}: {k.allowed()}; default {k.default}"
        if fit.brief
        else f"- {k.describe()} [{k.dimension}]"
        for k in knobs
    )
    facts = knob_facts(knobs)
    if fit.in_use:
        left = len(ctx.space.knobs) - len(knobs)
        text += f"\n({left} knobs the base configuration does not read left out, to fit the window)"
    return text, facts


def _in_use(ctx: Context, config: Config, fit: Fit) -> Config:
    """Return the configuration, or at a tight ``fit`` only the knobs its model reads."""
    if not fit.in_use:
        return config
    return {k.name: config[k.name] for k in ctx.space.active(config) if k.name in config}


def changes_text(changes: Sequence[Mapping[str, Any]]) -> str:
    """Write changes as ``knob old -> new``, comma-separated."""
    return ", ".join(f"{c['knob']} {c['old']} -> {c['new']}" for c in changes) or "(default start)"


def history_rows(state: State, ctx: Context, fit: Fit = FULL) -> tuple[str, list[dict[str, Any]]]:
    """Return the session's trials as the agents read them: one line each, and as facts."""
    rows, facts = [], []
    for item in history.trials(state):
        verdict = history.verdict_for(state, item["index"])
        outcome = verdict["outcome"] if verdict else "pending"
        delta = verdict["delta"] if verdict else 0.0
        score = "failed" if item["score"] is None else f"{item['score']:.4f}"
        rows.append(
            f"trial {item['index']}: {changes_text(item['changes'])} -> {score}"
            f" ({outcome}, {delta:+.4f})"
        )
        facts.append(
            {
                "trial": item["index"],
                "base": item["base"],
                "changes": [
                    {"knob": c["knob"], "old": c["old"], "new": c["new"]} for c in item["changes"]
                ],
                "score": item["score"],
                "outcome": outcome,
                "delta": delta,
                "floor": verdict.get("floor") if verdict else None,
                "model": item["config"].get("model"),
            }
        )
    return "\n".join(recent(rows, fit, "trials")) or "(none yet)", facts


def _configs(trial: Trial) -> list[Config]:
    """Return a trial's configuration, and the one proposed when its run changed it."""
    proposed = ((trial.get("result") or {}).get("diagnostics") or {}).get("proposed_config")
    return [trial["config"], *([proposed] if proposed else [])]


def _changes(base: Config, config: Config) -> list[dict[str, Any]]:
    return [{"knob": c.knob, "old": c.old, "new": c.new} for c in diff(base, config)]


def task_line(profile: dict[str, Any]) -> str:
    """Write the data profile's facts on one line."""
    skip = {"task", "family", "problem", "primary_metric", "direction"}
    return ", ".join(f"{k} {v}" for k, v in profile.items() if k not in skip)


def trial_summary(trial: Trial, ctx: Context) -> dict[str, Any]:
    """Summarise a trial's curves for the agents."""
    return summarize(trial["result"], ctx.primary, ctx.maximize)


def advisor_messages(
    state: State, ctx: Context, base: Trial | None, round_size: int = 1, fit: Fit = FULL
) -> list[BaseMessage]:
    """Build the Advisor's messages: the evidence, the history and the current guidance.

    ``round_size`` above 1 asks for that many distinct proposals (``--workers``); ``fit``
    says what to leave out for a small context window (:mod:`lgt_graph.llm.fitting`).
    """
    latest = history.last_round(state)  # a parallel round: its best trial stands for it
    last = history.round_best(latest, ctx.maximize) if latest else None
    best = history.best_trial(state, ctx.maximize)
    prompt = history.current_prompt(state)
    guidance = prompt["guidance"] if prompt else INITIAL_GUIDANCE
    base_config = base["config"] if base else ctx.space.default()
    space_text, space_facts = _space(ctx, base_config, fit)
    history_text, history_facts = history_rows(state, ctx, fit)
    verdict = history.verdict_for(state, last["index"]) if last else None
    summary = trial_summary(last, ctx) if last else {}
    avoid = history.regressed_changes(state)
    taken = state.get("taken", [])  # running beside this proposal: no result yet
    budget_left, unit = budgets.left(state, ctx.settings)  # the tightest of the budgets
    facts = {
        "agent": "advisor",
        "task": ctx.profile,
        "space": space_facts,
        "base": {
            "trial": base["index"] if base else None,
            "config": base_config,
            "score": base["score"] if base else None,
            "summary": trial_summary(base, ctx) if base else None,
        },
        "best": {
            "trial": best["index"],
            "score": best["score"],
            "config": best["config"],
            "summary": trial_summary(best, ctx),
        }
        if best
        else None,
        "last": {
            "trial": last["index"],
            "config": last["config"],
            "changes": [dict(c) for c in last["changes"]],
            "summary": summary,
        }
        if last
        else None,
        "verdict": dict(verdict) if verdict else None,
        "history": history_facts,
        "avoid": avoid,
        "guidance": guidance,
        "budget_left": budget_left,
        "budget_unit": unit,
        "tried_digests": sorted(
            {digest(c) for t in history.trials(state) for c in _configs(t)}
            | {digest(t["config"]) for t in taken}
        ),
    }
    if ctx.experience:  # lessons of similar tables (lgt_graph.agents.experience), nearest first
        facts["experience"] = [
            {k: v for k, v in lesson.items() if k != "guidance"} for lesson in ctx.experience
        ]
    if taken:
        facts["taken"] = [
            {"trial": t["trial"], "why": t["why"], "changes": _changes(base_config, t["config"])}
            for t in taken
        ]
    if round_size > 1:
        facts["round_size"] = round_size
    changed = ctx.space.changed(base_config)
    return messages(
        "advisor",
        guidance=guidance,
        task=ctx.profile,
        task_line=task_line(ctx.profile),
        space_text=space_text,
        base_trial=base["index"] if base else "none: the default configuration",
        base_is_best=bool(base and best and base["index"] == best["index"]),
        best_line=(
            f"trial {best['index']}, {ctx.primary} {best['score']:.4f}" if best else "none yet"
        ),
        best_config=json.dumps(_in_use(ctx, best["config"], fit)) if best else "none yet",
        base_config=json.dumps(_in_use(ctx, base_config, fit))
        + (
            "\n(differs from the default in: " + ", ".join(map(str, changed)) + ")"
            if changed
            else ""
        ),
        last_title=f"trial {last['index']}" if last else "none yet",
        last_summary=describe(summary) if last else "no trial yet",
        textual_gradient=(
            verdict["diagnosis"] + "".join(f"\n- {s}" for s in verdict["suggestions"])
            if verdict
            else "(none: the Evaluator wrote no diagnosis)"
        ),
        history_text=history_text,
        avoid_text=", ".join(avoid) or "none",
        taken_text="\n".join(
            f"trial {t['trial']} ({t['why']}): {changes_text(_changes(base_config, t['config']))}"
            for t in taken
        ),
        budget_left=budget_left,
        budget_unit=BUDGET_UNITS[unit],
        round_size=round_size,
        experience_text=experience_text(ctx.experience) if fit.lessons else "",
        facts_json=facts_json(facts, fit),
    )
