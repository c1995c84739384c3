"""The Advisor's moves when no symptom calls for one: untried model families, then each family's.

Each function lists the moves for one model family, best first, as (changes, reason)
pairs; ``explorations`` chains them for the base configuration and clips them into
the space.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lgt_graph.expert.case import Knobs
from lgt_graph.expert.image_moves import family_starts, image_moves

Move = tuple[dict[str, Any], str]


@dataclass
class Candidate:
    """A possible proposal: changes with a reason each, and where the idea came from."""

    changes: dict[str, Any]
    reason: str
    source: str
    evidence: str = ""
    reasons: dict[str, str] = field(default_factory=dict)


def portfolio(
    base: dict[str, Any], profile: dict[str, Any], knobs: Knobs, tried_models: set[str]
) -> list[Candidate]:
    """List the model families not tried yet, each set up as a practitioner would start it.

    None for a space without a model family (an Optuna study's own parameters).
    """
    if not knobs.has("model"):
        return []
    model = str(base.get("model"))
    ideas: list[Move] = []
    if profile["family"] == "image":
        ideas += family_starts(base, profile, tried_models)
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


def gbm_moves(base: dict[str, Any], profile: dict[str, Any]) -> list[Move]:
    """List the moves for gradient boosting: step size against rounds, then leaf size and depth."""
    lr = float(base.get("learning_rate", 0.01))
    n = int(base.get("n_estimators", 100))
    leaf = int(base.get("min_samples_leaf", 1))
    leaf_cap = max(1, int(profile.get("train_examples", 1000)) // 10)
    return [
        (
            {"learning_rate": lr / 2, "n_estimators": n * 2},
            "smaller steps over more rounds generalise better",
        ),
        ({"min_samples_leaf": min(max(leaf * 2, 20), leaf_cap)}, "larger leaves smooth the trees"),
        ({"tree_max_depth": 4}, "shallow trees generalise on small data"),
        ({"min_samples_leaf": max(1, leaf // 4)}, "smaller leaves fit finer structure"),
        ({"learning_rate": lr * 2, "n_estimators": max(50, n // 2)}, "faster boosting"),
    ]


def random_forest_moves(base: dict[str, Any], profile: dict[str, Any]) -> list[Move]:
    """List the moves for a random forest: larger leaves, more trees, limited depth."""
    leaf = int(base.get("min_samples_leaf", 1))
    trees = int(base.get("n_estimators", 100))
    return [
        ({"min_samples_leaf": leaf + 2}, "larger leaves average out noise"),
        ({"n_estimators": trees * 2}, "more trees, less variance"),
        (
            {"randomized_splits": not base.get("randomized_splits", False)},
            "extremely randomised trees draw their split thresholds at random: less"
            " correlated trees average into a smoother forest"
            if not base.get("randomized_splits", False)
            else "searched split thresholds fit sharper boundaries than random ones",
        ),
        ({"tree_max_depth": 8}, "limited depth regularises the trees"),
    ]


def mlp_moves(base: dict[str, Any], profile: dict[str, Any]) -> list[Move]:
    """List the moves for an MLP on tabular data: capacity first, then the schedule."""
    lr = float(base.get("learning_rate", 0.01))
    return [
        ({"width": int(base.get("width", 64)) * 2}, "more hidden units"),
        ({"depth": int(base.get("depth", 1)) + 1}, "a deeper net"),
        ({"batch_norm": True}, "batch normalisation steadies training"),
        ({"epochs": int(base.get("epochs", 30)) * 2}, "a longer schedule"),
        ({"learning_rate": lr * 3}, "larger steps"),
        ({"lr_schedule": "cosine"}, "anneal the learning rate"),
        ({"dropout": 0.1}, "light dropout"),
    ]


def linear_moves(base: dict[str, Any], profile: dict[str, Any]) -> list[Move]:
    """List the moves for a linear model: a tenth or ten times the shrinkage."""
    pen = float(base.get("l2_penalty", 1.0))
    return [
        ({"l2_penalty": pen / 10}, "less shrinkage"),
        ({"l2_penalty": pen * 10}, "more shrinkage"),
    ]


TABULAR_MOVES: dict[str, Callable[[dict[str, Any], dict[str, Any]], list[Move]]] = {
    "gbm": gbm_moves,
    "random_forest": random_forest_moves,
    "mlp": mlp_moves,
    "linear": linear_moves,
}
"""The moves of each model family on tabular data, after scaling and before the features'."""


def scaling_moves(base: dict[str, Any], profile: dict[str, Any]) -> list[Move]:
    """List standardising the features, first, for a model that reads their raw scale."""
    if str(base.get("model")) in ("mlp", "linear") and base.get("scaling") == "none":
        return [({"scaling": "standard"}, "standardised features train evenly")]
    return []


def loss_moves(base: dict[str, Any], profile: dict[str, Any]) -> list[Move]:
    """List matching a regression model's loss to an absolute-error metric, first."""
    if (
        profile["problem"] == "regression"
        and profile.get("primary_metric") == "mae"
        and str(base.get("model")) in ("mlp", "gbm")
        and base.get("regression_loss", "squared_error") != "absolute_error"
    ):
        return [
            (
                {"regression_loss": "absolute_error"},
                "the task is scored by the mean absolute error, which the median minimises:"
                " fitting absolute error matches the loss to the metric and resists the"
                " target's outliers",
            )
        ]
    return []


def feature_moves(base: dict[str, Any], profile: dict[str, Any]) -> list[Move]:
    """List the moves any tabular model can take: features, imputation, target or class weights."""
    moves: list[Move] = [
        ({"polynomial_degree": 2}, "pairwise products of features add interactions"),
        (
            {"feature_selection": "f_test", "selected_fraction": 0.7},
            "drop the least informative features",
        ),
        ({"imputation": "median"}, "medians resist outliers when filling gaps"),
    ]
    if profile["problem"] == "regression":
        if str(base.get("model")) == "mlp" and base.get("target_transform") == "none":
            moves.append(({"target_transform": "standardize"}, "fit a standardised target"))
    else:
        moves.append(({"class_weighting": "balanced"}, "weight classes evenly"))
    return moves


def explorations(base: dict[str, Any], profile: dict[str, Any], knobs: Knobs) -> list[Candidate]:
    """List the moves worth trying when no symptom calls for one, best first for this model."""
    if profile["family"] == "image":
        moves = image_moves(base, profile)
    else:
        family = TABULAR_MOVES.get(str(base.get("model")))
        moves = [
            *scaling_moves(base, profile),
            *loss_moves(base, profile),
            *(family(base, profile) if family else []),
            *feature_moves(base, profile),
        ]
    out = []
    for changes, reason in moves:
        clipped = {k: knobs.clip(k, v) for k, v in changes.items() if knobs.has(k)}
        if clipped:
            out.append(Candidate(clipped, reason, "exploration"))
    return out
