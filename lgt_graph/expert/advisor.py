"""The heuristic Advisor: turn diagnoses, the Evaluator's suggestions and guidance into a proposal.

Candidates come, in order, from the Evaluator's textual gradient (its ``knob=value``
suggestions), the expert's own reading of the base trial's curves, and an ordered
list of moves an experienced practitioner tries when nothing is wrong. The
Optimizer's guidance reorders them ("Prefer:", "Try next:") or rules them out
("Avoid:"); changes that regressed before and configurations already tried are
skipped.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

from lgt_graph.expert.findings import Knobs, diagnose

_ENTRY = re.compile(r"([a-z_]+)(?:\s*=\s*([\w.+-]+)|\s+(up|down)\b)?")


@dataclass
class Candidate:
    """A possible proposal: changes with a reason each, and where the idea came from."""

    changes: dict[str, Any]
    reason: str
    source: str
    evidence: str = ""
    reasons: dict[str, str] = field(default_factory=dict)


def digest(config: dict[str, Any]) -> str:
    """Fingerprint a configuration as lgt_graph.prompting.digest does."""
    key = json.dumps({k: config[k] for k in sorted(config)}, separators=(",", ":"))
    return hashlib.sha1(key.encode()).hexdigest()[:10]


def parse_guidance(text: str) -> dict[str, list[tuple[str, str | None]]]:
    """Read 'Prefer:', 'Avoid:' and 'Try next:' lines into (knob, value-or-direction) entries."""
    out: dict[str, list[tuple[str, str | None]]] = {"prefer": [], "avoid": [], "try": []}
    for line in text.splitlines():
        head, sep, body = line.strip().lstrip("-* ").partition(":")
        kind = {"prefer": "prefer", "avoid": "avoid", "try next": "try"}.get(head.strip().lower())
        if not sep or kind is None:
            continue
        for part in re.split(r"[;,]", body):
            match = _ENTRY.match(part.strip())
            if match:
                out[kind].append((match.group(1), match.group(2) or match.group(3)))
    return out


def _direction(old: Any, new: Any) -> str | None:
    if isinstance(new, bool) or not isinstance(new, int | float):
        return None
    if not isinstance(old, int | float) or isinstance(old, bool):
        return None
    return "up" if new > old else "down" if new < old else None


def _touches(candidate: Candidate, entries: list[tuple[str, str | None]], base: dict) -> bool:
    for knob, qualifier in entries:
        if knob not in candidate.changes:
            continue
        new = candidate.changes[knob]
        if qualifier is None:
            return True
        if qualifier in ("up", "down") and _direction(base.get(knob), new) == qualifier:
            return True
        if str(new).lower() == qualifier.lower():
            return True
    return False


def suggestions(verdict: dict[str, Any] | None) -> list[Candidate]:
    """Read the Evaluator's suggestions, written as ``knob=value: reason``."""
    out = []
    for text in (verdict or {}).get("suggestions", []):
        match = re.match(r"\s*([a-z_]+)\s*=\s*([^:\s]+)\s*:?\s*(.*)", text)
        if not match:
            continue
        knob, raw, reason = match.groups()
        out.append(
            Candidate({knob: _literal(raw)}, reason or "the Evaluator suggests it", "evaluator")
        )
    return out


def _literal(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


def portfolio(
    base: dict[str, Any], profile: dict[str, Any], knobs: Knobs, tried_models: set[str]
) -> list[Candidate]:
    """List the model families not tried yet, each set up as a practitioner would start it."""
    model = str(base.get("model"))
    ideas: list[tuple[dict[str, Any], str]] = []
    if profile["family"] == "image":
        if model == "mlp" and "cnn" not in tried_models:
            cnn = {"model": "cnn", "optimizer": "adam", "learning_rate": 0.001, "batch_norm": True}
            ideas.append(
                (
                    cnn,
                    "convolutions use the images' spatial structure, which an MLP on"
                    " flattened pixels ignores; Adam and batch normalisation make the new"
                    " net train quickly",
                )
            )
    else:
        if "gbm" not in tried_models and model != "gbm":
            leaf = min(20, max(1, int(profile.get("train_examples", 1000)) // 10))
            gbm = {
                "model": "gbm",
                "learning_rate": 0.1,
                "n_estimators": 200,
                "min_samples_leaf": leaf,
            }
            ideas.append(
                (
                    gbm,
                    "gradient-boosted trees are the strongest default on tabular data:"
                    " they need no scaling and find interactions themselves",
                )
            )
        if "random_forest" not in tried_models and model != "random_forest":
            forest = {"model": "random_forest", "n_estimators": 300, "min_samples_leaf": 1}
            ideas.append((forest, "a random forest averages deep trees and rarely needs tuning"))
        if "linear" not in tried_models and model != "linear":
            linear = {"model": "linear", "scaling": "standard", "l2_penalty": 1.0}
            ideas.append(
                (
                    linear,
                    "a regularised linear model on standardised features is a"
                    " strong baseline when the signal is mostly additive",
                )
            )
    return [
        Candidate({k: knobs.clip(k, v) for k, v in c.items() if knobs.has(k)}, r, "model family")
        for c, r in ideas
    ]


def fatigue(history: list[dict[str, Any]]) -> dict[str, int]:
    """Count, per knob, its changes since the last improvement (none of which improved)."""
    counts: dict[str, int] = {}
    for row in reversed(history):
        if row.get("outcome") == "improved":
            break
        for change in row.get("changes", []):
            counts[change["knob"]] = counts.get(change["knob"], 0) + 1
    return counts


def explorations(base: dict[str, Any], profile: dict[str, Any], knobs: Knobs) -> list[Candidate]:
    """List the moves worth trying when no symptom calls for one, best first for this model."""
    model = str(base.get("model"))
    lr = float(base.get("learning_rate", 0.01))
    ideas: list[tuple[dict[str, Any], str]] = []
    if profile["family"] == "image":
        if base.get("optimizer") == "sgd":
            ideas.append(
                (
                    {"optimizer": "adam", "learning_rate": 0.001},
                    "Adam adapts each weight's step and converges in fewer epochs",
                )
            )
        ideas += [
            ({"batch_norm": True}, "batch normalisation steadies and speeds up training"),
            ({"epochs": int(base.get("epochs", 5)) * 2}, "a longer schedule to converge"),
            ({"lr_schedule": "onecycle"}, "a one-cycle schedule warms up, then anneals"),
            ({"channels": int(base.get("channels", 16)) * 2}, "wider convolutions, more features"),
            (
                {"augmentation": "flip_shift" if profile.get("channels") == 3 else "shift"},
                "random shifts (and flips for photos) enlarge the training set",
            ),
            ({"width": int(base.get("width", 128)) * 2}, "a wider dense layer"),
            ({"depth": int(base.get("depth", 1)) + 1}, "one more block of capacity"),
            ({"dropout": 0.2}, "light dropout regularises"),
            ({"label_smoothing": 0.1}, "label smoothing calms overconfident outputs"),
            ({"input_normalization": "standardize"}, "per-channel standardised inputs"),
        ]
    else:
        regression = profile["problem"] == "regression"
        if model in ("mlp", "linear") and base.get("scaling") == "none":
            ideas.append(({"scaling": "standard"}, "standardised features train evenly"))
        leaf_cap = max(1, int(profile.get("train_examples", 1000)) // 10)
        if model == "gbm":
            n = int(base.get("n_estimators", 100))
            leaf = int(base.get("min_samples_leaf", 1))
            ideas += [
                (
                    {"learning_rate": lr / 2, "n_estimators": n * 2},
                    "smaller steps over more rounds generalise better",
                ),
                (
                    {"min_samples_leaf": min(max(leaf * 2, 20), leaf_cap)},
                    "larger leaves smooth the trees",
                ),
                ({"tree_max_depth": 4}, "shallow trees generalise on small data"),
                ({"min_samples_leaf": max(1, leaf // 4)}, "smaller leaves fit finer structure"),
                ({"learning_rate": lr * 2, "n_estimators": max(50, n // 2)}, "faster boosting"),
            ]
        if model == "random_forest":
            leaf = int(base.get("min_samples_leaf", 1))
            trees = int(base.get("n_estimators", 100))
            ideas += [
                ({"min_samples_leaf": leaf + 2}, "larger leaves average out noise"),
                ({"n_estimators": trees * 2}, "more trees, less variance"),
                ({"tree_max_depth": 8}, "limited depth regularises the trees"),
            ]
        if model == "mlp":
            ideas += [
                ({"width": int(base.get("width", 64)) * 2}, "more hidden units"),
                ({"depth": int(base.get("depth", 1)) + 1}, "a deeper net"),
                ({"batch_norm": True}, "batch normalisation steadies training"),
                ({"epochs": int(base.get("epochs", 30)) * 2}, "a longer schedule"),
                ({"learning_rate": lr * 3}, "larger steps"),
                ({"lr_schedule": "cosine"}, "anneal the learning rate"),
                ({"dropout": 0.1}, "light dropout"),
            ]
        if model == "linear":
            pen = float(base.get("l2_penalty", 1.0))
            ideas += [
                ({"l2_penalty": pen / 10}, "less shrinkage"),
                ({"l2_penalty": pen * 10}, "more shrinkage"),
            ]
        ideas += [
            ({"polynomial_degree": 2}, "pairwise products of features add interactions"),
            (
                {"feature_selection": "f_test", "selected_fraction": 0.7},
                "drop the least informative features",
            ),
            ({"imputation": "median"}, "medians resist outliers when filling gaps"),
        ]
        if regression and model == "mlp":
            ideas.append(({"target_transform": "standardize"}, "fit a standardised target"))
        if not regression:
            ideas.append(({"class_weighting": "balanced"}, "weight classes evenly"))
    out = []
    for changes, reason in ideas:
        clipped = {k: knobs.clip(k, v) for k, v in changes.items() if knobs.has(k)}
        if clipped:
            out.append(Candidate(clipped, reason, "exploration"))
    return out


def _anchor(facts: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Choose where to change from: the base, or the best once the base's branch stalls.

    After two trials without an improvement on a branch that left the best trial,
    a practitioner goes back to the best configuration and tries something else there.
    """
    base, best = facts["base"], facts.get("best")
    if not best or best.get("trial") in (None, base.get("trial")):
        return base, "current"
    since = [h for h in facts.get("history", []) if h["trial"] > best["trial"]]
    return (best, "best") if len(since) >= 2 else (base, "current")


def propose(facts: dict[str, Any], attempt: int = 1) -> dict[str, Any]:
    """Return a Proposal (as a dict) from the Advisor's facts; ``attempt`` > 1 skips ahead."""
    knobs = Knobs(facts["space"])
    profile = facts["task"]
    anchor, start_from = _anchor(facts)
    base = dict(anchor["config"])
    tried = set(facts.get("tried_digests", []))
    avoid = set(facts.get("avoid", []))
    guidance = parse_guidance(facts.get("guidance", ""))
    summary = anchor.get("summary") or (facts.get("last") or {}).get("summary")
    tried_models = {str(h.get("model")) for h in facts.get("history", [])}

    findings = diagnose(summary, base, profile, knobs) if summary else []
    urgent = [f for f in findings if f.changes and f.priority <= 20]
    other = [f for f in findings if f.changes and f.priority > 20]
    # Tiers: urgent fixes, untried model families, the Evaluator's textual gradient (when it
    # is about this branch), the other findings, then exploration. Guidance reorders within.
    tiers: list[list[Candidate]] = [
        [Candidate(f.changes, f.reason, f.name, f.evidence) for f in urgent],
        portfolio(base, profile, knobs, tried_models) if facts.get("budget_left", 2) >= 2 else [],
        suggestions(facts.get("verdict")) if start_from == "current" else [],
        [Candidate(f.changes, f.reason, f.name, f.evidence) for f in other],
        explorations(base, profile, knobs),
    ]
    preferred = guidance["prefer"] + guidance["try"]
    candidates = [
        c for tier in tiers for c in sorted(tier, key=lambda c: not _touches(c, preferred, base))
    ]
    tired = {k for k, n in fatigue(facts.get("history", [])).items() if n >= 2}
    urgent_names = {f.name for f in urgent}

    usable: list[tuple[Candidate, dict[str, Any]]] = []
    for candidate in candidates:
        changes = {k: knobs.clip(k, v) for k, v in candidate.changes.items() if knobs.has(k)}
        changes = {k: v for k, v in changes.items() if base.get(k) != v}
        config = {**base, **changes}
        model = str(config.get("model"))
        if (
            not changes
            or any(k != "model" and not knobs.reads(model, k) for k in changes)
            or any(f"{k}={v}" in avoid for k, v in changes.items())
            or _touches(Candidate(changes, "", ""), guidance["avoid"], base)
            or digest(config) in tried
            or (candidate.source not in urgent_names and bool(tired & set(changes)))
        ):
            continue
        if all(digest({**base, **c}) != digest(config) for _, c in usable):
            usable.append((candidate, changes))
    if len(usable) < attempt:
        usable += [_random_step(base, knobs, tried, len(facts.get("history", [])) + attempt)]
    candidate, changes = usable[min(attempt, len(usable)) - 1]
    lead = next((f for f in findings if f.name == candidate.source), None)
    evidence = lead.evidence if lead else candidate.evidence
    rationale = (
        f"{evidence}. " if evidence else ""
    ) + f"{candidate.reason[0].upper()}{candidate.reason[1:]} ({candidate.source})."
    if start_from == "best":
        rationale = (
            f"Two trials since the best (trial {anchor['trial']}) brought no gain: back to it. "
            + rationale
        )
    return {
        "changes": [
            {"knob": k, "value": v, "reason": candidate.reasons.get(k, candidate.reason)}
            for k, v in changes.items()
        ],
        "rationale": rationale,
        "expected_effect": _expected(candidate.source, facts),
        "start_from": start_from,
    }


def _random_step(
    base: dict[str, Any], knobs: Knobs, tried: set[str], seed: int
) -> tuple[Candidate, dict[str, Any]]:
    """Move one knob the model reads a little, at random, when every idea is used up."""
    rng = random.Random(seed)
    model = str(base.get("model"))
    names = [n for n, s in knobs.space.items() if n != "model" and knobs.reads(model, n)]
    for _ in range(200):
        name = rng.choice(names)
        spec = knobs.space[name]
        if spec["kind"] == "choice":
            value: Any = rng.choice(
                [c for c in spec["choices"] if c != base.get(name)] or spec["choices"]
            )
        elif spec["kind"] == "bool":
            value = not base.get(name)
        else:
            value = knobs.clip(
                name, float(base.get(name) or spec["low"] or 1) * rng.choice([0.5, 0.7, 1.5, 2.0])
            )
        changes = {name: value}
        if value != base.get(name) and digest({**base, **changes}) not in tried:
            return Candidate(
                changes, "every diagnosed change was tried: a small step nearby", "exploration"
            ), changes
    raise ValueError("no untried configuration found near the base")


def _expected(source: str, facts: dict[str, Any]) -> str:
    metric = facts["task"]["primary_metric"]
    effects = {
        "divergence": "a finite loss that falls steadily",
        "unscaled features": f"faster, steadier convergence and a better {metric}",
        "target scale": f"a lower validation loss within the same epochs and a better {metric}",
        "class imbalance": "a higher macro-F1, perhaps at a small cost in accuracy",
        "oscillation": "smoother validation curves that settle lower",
        "overfitting": "validation loss that stops rising; a smaller generalisation gap",
        "slow convergence": f"losses that reach lower values; a better {metric}",
        "plateau": "training loss that keeps falling past the old plateau",
        "boosting overfits": "a validation loss minimum later in boosting, and lower",
        "boosting unfinished": "validation loss that keeps falling over the extra rounds",
        "forest memorises": "a smaller gap between training and validation loss",
    }
    return effects.get(source, f"a better validation {metric}")
