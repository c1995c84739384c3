"""A model that learned nothing useful: it predicts one class, or nearly the same value, for all.

Such a model can still score well on a skewed metric (accuracy on 1 % positives), so the
Evaluator names it as degenerate rather than neutral, the Advisor acts on it first, and a
session that ends on one says so (:func:`degenerate_line`). The signs are read from the
trial's validation outputs (``predicted_classes``, ``prediction_spread``: the spread of
its predictions over the spread of the targets), never from a dataset's name.
"""

from __future__ import annotations

from typing import Any

from lgt_graph.expert.case import Case, Finding

CONSTANT = 0.05
"""A regression whose predictions spread less than this share of the targets' is constant."""


def degenerate_sign(summary: dict[str, Any], problem: str) -> str | None:
    """Say how a finished trial is degenerate, from its summary; None when it is not."""
    if problem == "classification":
        if summary.get("predicted_classes") == 1:
            return "it predicts one class for every validation example"
        return None
    spread = summary.get("prediction_spread")
    if spread is not None and spread < CONSTANT:
        return f"its predictions spread {spread:.1%} as much as the targets: nearly a constant"
    return None


def degenerate_model(case: Case) -> Finding | None:
    """Act first on a model that predicts one class or a constant: reweight, or switch family."""
    sign = degenerate_sign(case.summary, case.profile["problem"])
    if sign is None:
        return None
    changes: dict[str, Any] = {}
    weighted = case.config.get("class_weighting") == "balanced"
    if not case.regression and case.knobs.has("class_weighting") and not weighted:
        changes["class_weighting"] = "balanced"
    if not changes and case.knobs.has("model"):
        changes["model"] = "gbm" if case.model != "gbm" else "random_forest"
    raw = case.config.get("target_transform") == "none"
    if case.regression and case.neural and case.knobs.has("target_transform") and raw:
        changes = {"target_transform": "standardize"}
    return Finding(
        "degenerate model",
        sign,
        changes,
        "a model that predicts one answer for everything has learned nothing useful, whatever"
        " its score: weight the rare classes, or try a family that can separate them",
        5,
    )


def degenerate_line(final: dict[str, Any] | None, summary: dict[str, Any], problem: str) -> str:
    """Return the session's closing warning when its chosen model is degenerate, else ''."""
    sign = degenerate_sign(summary, problem)
    if not final or sign is None:
        return ""
    return (
        f"Warning: the chosen model (trial {final.get('trial')}) is degenerate — {sign}; its"
        " score says little. Try --metric balanced_accuracy or macro_f1, class weights, or a"
        " longer budget."
    )
