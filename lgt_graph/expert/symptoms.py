"""The symptoms a practitioner reads in a finished trial, one rule each.

Each rule looks at one symptom of the data or the curves, states the evidence in
numbers, and returns the Finding that fixes it, or None when the trial does not
show it. Priorities order them: data scaling first, then the fit.
"""

from __future__ import annotations

from typing import Any

from lgt_graph.expert.case import Case, Finding
from lgt_graph.expert.image_moves import capacity, image_regularisers


def _pct(x: float) -> str:
    return f"{x:+.0%}"


def unscaled_features(case: Case) -> Finding | None:
    """Scale raw features that a net or a linear model reads unevenly."""
    ratio = float(case.profile.get("feature_std_ratio", 1.0))
    abs_mean = float(case.profile.get("feature_abs_mean_max", 0.0))
    unscaled = (
        case.tabular and case.model in ("mlp", "linear") and case.config.get("scaling") == "none"
    )
    if not (unscaled and (ratio > 2 or abs_mean > 2)):
        return None
    kind = "quantile" if case.profile.get("skewed_features", 0) >= 2 else "standard"
    return Finding(
        "unscaled features",
        f"feature standard deviations differ by a factor of {ratio:.0f} and means reach"
        f" {abs_mean:.0f}",
        {"scaling": kind},
        f"{case.model} weights see raw magnitudes, so the large features dominate the"
        " gradients; scale them",
        10,
    )


def target_scale(case: Case) -> Finding | None:
    """Normalise a large or skewed target that a net regresses."""
    if not (case.regression and case.neural and case.config.get("target_transform") == "none"):
        return None
    std = float(case.profile.get("target_std", 1.0))
    mean = abs(float(case.profile.get("target_mean", 0.0)))
    skew = float(case.profile.get("target_skew", 0.0))
    if not (std > 5 or mean > 5 or skew > 1):
        return None
    log_ok = float(case.profile.get("target_min", 0.0)) > -1 and skew > 0.75
    return Finding(
        "target scale",
        f"the target has mean {mean:.3g}, std {std:.3g} and skew {skew:.2f}",
        {"target_transform": "log" if log_ok else "standardize"},
        "a net regressing a large or skewed target starts far from it and fits it"
        " slowly; fit a normalised target and map predictions back",
        12,
    )


def class_imbalance(case: Case) -> Finding | None:
    """Weight the classes when macro-F1 trails accuracy on skewed classes."""
    profile, validation = case.profile, case.validation
    if not (
        profile["problem"] == "classification"
        and case.config.get("class_weighting") == "none"
        and float(profile.get("smallest_class_share", 1)) * int(profile.get("classes", 2)) < 0.8
        and validation.get("macro_f1", 1) < validation.get("accuracy", 0) - 0.05
    ):
        return None
    return Finding(
        "class imbalance",
        f"the smallest class is {profile['smallest_class_share']:.0%} of the examples and"
        f" macro-F1 ({validation['macro_f1']:.3f}) trails accuracy"
        f" ({validation['accuracy']:.3f})",
        {"class_weighting": "balanced"},
        "the model favours the majority class; weight the classes by inverse frequency",
        20,
    )


def _net_curves(case: Case) -> bool:
    """Say whether a net ran enough epochs for its curves to show a trend."""
    return case.neural and case.steps >= 4


def oscillation(case: Case) -> Finding | None:
    """Lower and decay the learning rate when the validation loss zigzags.

    Not while the net overfits: a validation loss that climbs from its best zigzags on
    the way, and regularising it (:func:`overfitting`) comes first.
    """
    if not _net_curves(case) or _memorises(case):
        return None
    turns = int(case.val_loss.get("direction_changes", 0))
    swing = float(case.val_loss.get("swing", 0.0))
    if not (turns >= max(3, int(0.5 * case.steps)) and swing > 0.08):
        return None
    changes: dict[str, Any] = {"learning_rate": case.clip("learning_rate", case.lr / 3)}
    if case.config.get("lr_schedule") == "constant":
        changes["lr_schedule"] = "cosine"
    return Finding(
        "oscillation",
        f"validation loss changed direction {turns} times in {case.steps} {case.unit}s, moving"
        f" {swing:.0%} a step on average",
        changes,
        "the steps overshoot: a smaller learning rate, decayed over training, settles it",
        25,
    )


def _memorises(case: Case) -> bool:
    """Say whether validation loss rose well above its best while training loss fell below it."""
    return (
        _net_curves(case)
        and case.rise > 0.08
        and case.gap > 0.25
        and case.val_loss.get("best_at", case.steps) < case.steps
    )


def overfitting(case: Case) -> Finding | None:
    """Regularise a net whose validation loss rose from its best while training loss fell."""
    val_loss, config = case.val_loss, case.config
    if not _memorises(case):
        return None
    evidence = (
        f"validation loss bottomed at {case.unit} {val_loss['best_at']} ({val_loss['best']})"
        f" and rose {case.rise:.0%} by the end, while training loss fell to"
        f" {case.train_loss['last']}"
    )
    # The first two remedies that apply, in the order a practitioner reaches for them:
    # on images, more (varied) data and averaged weights before a smaller net.
    options: list[dict[str, Any]] = (
        image_regularisers(config, case.profile) if case.profile["family"] == "image" else []
    )
    dropout = float(config.get("dropout", 0))
    if dropout < 0.5:
        options.append({"dropout": case.clip("dropout", round(dropout + 0.2, 2))})
    if int(config.get("early_stopping_patience", 0)) == 0:
        options.append({"early_stopping_patience": 3})
    wd = float(config.get("weight_decay", 0))
    options.append({"weight_decay": case.clip("weight_decay", max(5e-4, wd * 10))})
    return Finding(
        "overfitting",
        evidence,
        {k: v for option in options[:2] for k, v in option.items()},
        "the net memorises the training split; regularise it and keep the best epoch",
        30,
    )


def _still_falling(case: Case) -> bool:
    """Say whether the validation loss was still falling, at its best, when training stopped."""
    tail = float(case.val_loss.get("tail_change", 0.0))
    return tail < -0.03 and case.val_loss.get("best_at", 0) >= case.steps - 1


def slow_convergence(case: Case) -> Finding | None:
    """Take larger or more steps when training stopped before the loss settled."""
    if not (_net_curves(case) and _still_falling(case)):
        return None
    config = case.config
    changes: dict[str, Any] = {}
    if config.get("optimizer") == "sgd" and float(config.get("momentum", 0)) == 0:
        changes["momentum"] = 0.9
    elif int(config.get("epochs", 1)) < 40:
        changes["epochs"] = case.clip("epochs", int(config["epochs"]) * 2)
    else:
        changes["learning_rate"] = case.clip("learning_rate", case.lr * 2)
    tail = float(case.val_loss.get("tail_change", 0.0))
    return Finding(
        "slow convergence",
        f"validation loss was still falling at the end ({_pct(tail)} over the last"
        f" third, best at the last {case.unit})",
        changes,
        "training stopped before it converged; take larger or more steps",
        35,
    )


def plateau(case: Case) -> Finding | None:
    """Widen a net whose training and validation losses stalled together."""
    if not (
        _net_curves(case)
        and not _still_falling(case)
        and abs(float(case.train_loss.get("tail_change", 0.0))) < 0.01
        and case.gap < 0.05
        and case.steps >= 5
    ):
        return None
    return Finding(
        "plateau",
        f"training loss flattened at {case.train_loss.get('last')} with validation loss"
        f" {case.val_loss.get('last')} right beside it",
        capacity(case.config, case.profile, case.clip),
        "both losses stalled together: the model lacks capacity",
        45,
    )


def _boosting_curves(case: Case) -> bool:
    """Say whether gradient boosting ran enough iterations for its curves to show a trend."""
    return case.model == "gbm" and case.steps >= 4


def _rounds(case: Case) -> tuple[int, int]:
    """Return the iteration with the lowest validation loss, and the rounds configured."""
    return int(case.val_loss.get("best_at", case.steps)), int(case.config.get("n_estimators", 100))


def _bottomed_early(case: Case) -> bool:
    """Say whether boosting's validation loss was lowest early and rose after."""
    best_at, n = _rounds(case)
    return best_at < 0.6 * n and case.rise > 0.02


def boosting_overfits(case: Case) -> Finding | None:
    """Shrink boosting's steps and enlarge its leaves when later trees fit noise."""
    if not (_boosting_curves(case) and _bottomed_early(case)):
        return None
    best_at, n = _rounds(case)
    # Leaves larger than a tenth of the training split starve the trees.
    cap = max(1, int(case.profile.get("train_examples", 1000)) // 10)
    leaf = min(max(5, int(case.config.get("min_samples_leaf", 1)) * 4), cap)
    return Finding(
        "boosting overfits",
        f"validation loss was lowest at iteration {best_at} of {n} and rose {case.rise:.0%} after",
        {
            "learning_rate": case.clip("learning_rate", case.lr / 2),
            "min_samples_leaf": case.clip("min_samples_leaf", leaf),
        },
        "later trees fit noise; shrink each tree's step and require larger leaves",
        30,
    )


def boosting_unfinished(case: Case) -> Finding | None:
    """Add boosting rounds while the validation loss still falls at the last one."""
    if not _boosting_curves(case) or _bottomed_early(case):
        return None
    best_at, n = _rounds(case)
    tail = float(case.val_loss.get("tail_change", 0))
    if not (best_at >= n - max(2, n // 20) and tail < -0.01):
        return None
    return Finding(
        "boosting unfinished",
        f"validation loss still fell at the last iteration ({_pct(tail)} over the last third)",
        {"n_estimators": case.clip("n_estimators", n * 2)},
        "more boosting rounds will keep reducing the error",
        35,
    )


def forest_memorises(case: Case) -> Finding | None:
    """Enlarge a random forest's leaves when validation loss far exceeds training loss."""
    if not (case.model == "random_forest" and case.gap > 1.0):
        return None
    leaf = int(case.config.get("min_samples_leaf", 1))  # the forest's, not boosting's
    return Finding(
        "forest memorises",
        f"validation loss is {case.gap:.0%} above training loss",
        {"min_samples_leaf": case.clip("min_samples_leaf", max(3, leaf * 3))},
        "fully grown trees fit noise; larger leaves smooth them",
        40,
    )
