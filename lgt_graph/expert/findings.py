"""The heuristic expert's diagnoses: rules that read a curve summary like a practitioner.

Each rule looks at one symptom (divergence, unscaled features, a skewed target,
imbalance, oscillation, overfitting, slow convergence, a plateau), states the
evidence in numbers, and maps it to changes with a written reason. ``diagnose``
runs the declared rules: ``FAILURES`` (here) for a failed trial, ``RULES`` (the
symptoms of ``lgt_graph.expert.symptoms``) for a finished one. The Evaluator
writes these findings as its textual gradient; the Advisor turns them into
proposals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lgt_graph.expert.case import Case, Config, Finding, Knobs
from lgt_graph.expert.degenerate import degenerate_model
from lgt_graph.expert.shapes import long_tailed_target, zero_sentinels
from lgt_graph.expert.symptoms import (
    boosting_overfits,
    boosting_unfinished,
    class_imbalance,
    forest_memorises,
    oscillation,
    overfitting,
    plateau,
    slow_convergence,
    target_scale,
    unscaled_features,
)

__all__ = ["FAILURES", "RULES", "Config", "Finding", "Knobs", "Rule", "diagnose"]

Rule = Callable[[Case], Finding | None]


def divergence(case: Case) -> Finding | None:
    """Lower and bound the steps of a trial whose loss blew up."""
    if "diverged" not in case.failure:
        return None
    changes: dict[str, Any] = {"learning_rate": case.clip("learning_rate", case.lr / 10)}
    if case.neural and case.knobs.has("grad_clip") and not case.config.get("grad_clip"):
        changes["grad_clip"] = 1.0
    if case.regression and case.config.get("target_transform") == "none":
        changes["target_transform"] = "standardize"
    return Finding(
        "divergence",
        f"the trial failed: {case.failure}",
        changes,
        "the loss blew up to NaN/inf: steps are too large for the scale of the"
        " gradients, so lower the learning rate and bound the steps",
        0,
    )


def too_many_features(case: Case) -> Finding | None:
    """Drop the polynomial expansion that made a trial fail."""
    # A divergence explains the failure first.
    if "polynomial" not in case.failure or "diverged" in case.failure:
        return None
    return Finding(
        "too many features",
        f"the trial failed: {case.failure}",
        {"polynomial_degree": 1},
        "the polynomial expansion is too large",
        0,
    )


def failure(case: Case) -> Finding:
    """Report a failed trial that no failure rule explains."""
    return Finding("failure", f"the trial failed: {case.failure}", {}, "", 0)


def sound(case: Case) -> Finding | None:
    """Report a finished trial that shows no symptom, when its primary metric was recorded."""
    if not case.metric:
        return None
    return Finding(
        "sound",
        f"{case.primary} {case.metric.get('last')} with no sign of over- or underfitting",
        {},
        "",
        90,
    )


FAILURES: tuple[Rule, ...] = (divergence, too_many_features)
"""Rules that explain a failed trial; ``failure`` reports it when none does."""

RULES: tuple[Rule, ...] = (
    degenerate_model,
    unscaled_features,
    target_scale,
    long_tailed_target,
    zero_sentinels,
    class_imbalance,
    oscillation,
    overfitting,
    slow_convergence,
    plateau,
    boosting_overfits,
    boosting_unfinished,
    forest_memorises,
)
"""Rules that read a finished trial; ``sound`` reports it when none applies."""


def diagnose(
    summary: dict[str, Any], config: Config, profile: dict[str, Any], knobs: Knobs
) -> list[Finding]:
    """Return the findings the curves of one trial support, most urgent first."""
    case = Case.of(summary, config, profile, knobs)
    rules, otherwise = (FAILURES, failure) if case.failed else (RULES, sound)
    found = [finding for rule in rules if (finding := rule(case)) is not None]
    if not found and (finding := otherwise(case)) is not None:
        found.append(finding)
    return sorted(found, key=lambda f: f.priority)
