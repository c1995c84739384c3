"""The heuristic expert's diagnoses: rules that read a curve summary like a practitioner.

Each rule looks at one symptom (divergence, unscaled features, a skewed target,
imbalance, oscillation, overfitting, slow convergence, a plateau), states the
evidence in numbers, and maps it to changes with a written reason. The
Evaluator writes these findings as its textual gradient; the Advisor turns them
into proposals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Config = dict[str, Any]


@dataclass
class Finding:
    """A diagnosis: its name, the evidence, and the changes it calls for."""

    name: str
    evidence: str
    changes: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    priority: int = 50
    """Lower runs first: failures, then data scaling, then fit, then exploration."""


class Knobs:
    """The space as the facts describe it: clip values into ranges, check what a model reads.

    Without a space (the Evaluator's facts carry none) values pass unclipped, rounded
    to three significant digits; the Advisor clips them when it proposes.
    """

    def __init__(self, space: dict[str, dict[str, Any]] | None = None) -> None:
        self.space = space or {}

    def has(self, name: str) -> bool:
        """Say whether the space has this knob (always, without a space)."""
        return not self.space or name in self.space

    def clip(self, name: str, value: Any) -> Any:
        """Return the nearest allowed value, in the knob's type."""
        spec = self.space.get(name)
        if spec is not None and spec["kind"] in ("int", "float"):
            value = min(max(value, spec["low"]), spec["high"])
            return round(value) if spec["kind"] == "int" else float(f"{value:.3g}")
        return float(f"{value:.3g}") if isinstance(value, float) else value

    def reads(self, model: str, name: str) -> bool:
        """Say whether a configuration with this model reads the knob."""
        spec = self.space.get(name)
        return spec is not None and (not spec["used_by"] or model in spec["used_by"])


def _pct(x: float) -> str:
    return f"{x:+.0%}"


def diagnose(
    summary: dict[str, Any], config: Config, profile: dict[str, Any], knobs: Knobs
) -> list[Finding]:
    """Return the findings the curves of one trial support, most urgent first."""
    model = str(config.get("model"))
    neural = model in ("mlp", "cnn")
    tabular = profile["family"] != "image"
    regression = profile["problem"] == "regression"
    lr = float(config.get("learning_rate", 0.01))
    found: list[Finding] = []

    if summary["status"] != "ok":
        failure = summary.get("failure", "")
        if "diverged" in failure:
            changes: dict[str, Any] = {"learning_rate": knobs.clip("learning_rate", lr / 10)}
            if neural and knobs.has("grad_clip") and not config.get("grad_clip"):
                changes["grad_clip"] = 1.0
            if regression and config.get("target_transform") == "none":
                changes["target_transform"] = "standardize"
            found.append(
                Finding(
                    "divergence",
                    f"the trial failed: {failure}",
                    changes,
                    "the loss blew up to NaN/inf: steps are too large for the scale of the"
                    " gradients, so lower the learning rate and bound the steps",
                    0,
                )
            )
        elif "polynomial" in failure:
            found.append(
                Finding(
                    "too many features",
                    f"the trial failed: {failure}",
                    {"polynomial_degree": 1},
                    "the polynomial expansion is too large",
                    0,
                )
            )
        else:
            found.append(Finding("failure", f"the trial failed: {failure}", {}, "", 0))
        return found

    # --- data scale: features and target ------------------------------------
    ratio = float(profile.get("feature_std_ratio", 1.0))
    abs_mean = float(profile.get("feature_abs_mean_max", 0.0))
    unscaled = tabular and model in ("mlp", "linear") and config.get("scaling") == "none"
    if unscaled and (ratio > 2 or abs_mean > 2):
        kind = "quantile" if profile.get("skewed_features", 0) >= 2 else "standard"
        found.append(
            Finding(
                "unscaled features",
                f"feature standard deviations differ by a factor of {ratio:.0f} and means reach"
                f" {abs_mean:.0f}",
                {"scaling": kind},
                f"{model} weights see raw magnitudes, so the large features dominate the"
                " gradients; scale them",
                10,
            )
        )
    if regression and neural and config.get("target_transform") == "none":
        std = float(profile.get("target_std", 1.0))
        mean = abs(float(profile.get("target_mean", 0.0)))
        skew = float(profile.get("target_skew", 0.0))
        if std > 5 or mean > 5 or skew > 1:
            log_ok = float(profile.get("target_min", 0.0)) > -1 and skew > 0.75
            transform = "log" if log_ok else "standardize"
            found.append(
                Finding(
                    "target scale",
                    f"the target has mean {mean:.3g}, std {std:.3g} and skew {skew:.2f}",
                    {"target_transform": transform},
                    "a net regressing a large or skewed target starts far from it and fits it"
                    " slowly; fit a normalised target and map predictions back",
                    12,
                )
            )

    validation = summary.get("validation", {})
    primary = summary.get("primary", "accuracy")
    if (
        profile["problem"] == "classification"
        and config.get("class_weighting") == "none"
        and float(profile.get("smallest_class_share", 1)) * int(profile.get("classes", 2)) < 0.8
        and validation.get("macro_f1", 1) < validation.get("accuracy", 0) - 0.05
    ):
        found.append(
            Finding(
                "class imbalance",
                f"the smallest class is {profile['smallest_class_share']:.0%} of the examples and"
                f" macro-F1 ({validation['macro_f1']:.3f}) trails accuracy"
                f" ({validation['accuracy']:.3f})",
                {"class_weighting": "balanced"},
                "the model favours the majority class; weight the classes by inverse frequency",
                20,
            )
        )

    steps = int(summary.get("steps_run", 0))
    val_loss = summary.get("val_loss", {})
    train_loss = summary.get("train_loss", {})
    metric = summary.get(f"val_{primary}", {})
    unit = summary.get("step_unit", "epoch")

    if neural and steps >= 4:
        turns = int(val_loss.get("direction_changes", 0))
        swing = float(val_loss.get("swing", 0.0))
        if turns >= max(3, int(0.5 * steps)) and swing > 0.08:
            changes = {"learning_rate": knobs.clip("learning_rate", lr / 3)}
            if config.get("lr_schedule") == "constant":
                changes["lr_schedule"] = "cosine"
            found.append(
                Finding(
                    "oscillation",
                    f"validation loss changed direction {turns} times in {steps} {unit}s, moving"
                    f" {swing:.0%} a step on average",
                    changes,
                    "the steps overshoot: a smaller learning rate, decayed over training,"
                    " settles it",
                    25,
                )
            )

        rise = float(summary.get("val_loss_rise", 0.0))
        gap = float(summary.get("gap", 0.0))
        if rise > 0.08 and gap > 0.25 and val_loss.get("best_at", steps) < steps:
            evidence = (
                f"validation loss bottomed at {unit} {val_loss['best_at']} ({val_loss['best']})"
                f" and rose {rise:.0%} by the end, while training loss fell to {train_loss['last']}"
            )
            options: list[dict[str, Any]] = []
            dropout = float(config.get("dropout", 0))
            if dropout < 0.5:
                options.append({"dropout": knobs.clip("dropout", round(dropout + 0.2, 2))})
            if int(config.get("early_stopping_patience", 0)) == 0:
                options.append({"early_stopping_patience": 3})
            if profile["family"] == "image" and config.get("augmentation") == "none":
                options.append(
                    {"augmentation": "flip_shift" if profile.get("channels") == 3 else "shift"}
                )
            wd = float(config.get("weight_decay", 0))
            options.append({"weight_decay": knobs.clip("weight_decay", max(5e-4, wd * 10))})
            changes = {k: v for option in options[:2] for k, v in option.items()}
            found.append(
                Finding(
                    "overfitting",
                    evidence,
                    changes,
                    "the net memorises the training split; regularise it and keep the best epoch",
                    30,
                )
            )

        tail = float(val_loss.get("tail_change", 0.0))
        still = tail < -0.03 and val_loss.get("best_at", 0) >= steps - 1
        if still:
            changes = {}
            if config.get("optimizer") == "sgd" and float(config.get("momentum", 0)) == 0:
                changes["momentum"] = 0.9
            elif int(config.get("epochs", 1)) < 40:
                changes["epochs"] = knobs.clip("epochs", int(config["epochs"]) * 2)
            else:
                changes["learning_rate"] = knobs.clip("learning_rate", lr * 2)
            found.append(
                Finding(
                    "slow convergence",
                    f"validation loss was still falling at the end ({_pct(tail)} over the last"
                    f" third, best at the last {unit})",
                    changes,
                    "training stopped before it converged; take larger or more steps",
                    35,
                )
            )
        elif abs(float(train_loss.get("tail_change", 0.0))) < 0.01 and gap < 0.05 and steps >= 5:
            width = int(config.get("width", 64))
            found.append(
                Finding(
                    "plateau",
                    f"training loss flattened at {train_loss.get('last')} with validation loss"
                    f" {val_loss.get('last')} right beside it",
                    {"width": knobs.clip("width", width * 2)},
                    "both losses stalled together: the model lacks capacity",
                    45,
                )
            )

    if model == "gbm" and steps >= 4:
        best_at = int(val_loss.get("best_at", steps))
        n = int(config.get("n_estimators", 100))
        # Leaves larger than a tenth of the training split starve the trees.
        cap = max(1, int(profile.get("train_examples", 1000)) // 10)
        leaf = min(max(5, int(config.get("min_samples_leaf", 1)) * 4), cap)
        if best_at < 0.6 * n and float(summary.get("val_loss_rise", 0.0)) > 0.02:
            found.append(
                Finding(
                    "boosting overfits",
                    f"validation loss was lowest at iteration {best_at} of {n} and rose"
                    f" {summary['val_loss_rise']:.0%} after",
                    {
                        "learning_rate": knobs.clip("learning_rate", lr / 2),
                        "min_samples_leaf": knobs.clip("min_samples_leaf", leaf),
                    },
                    "later trees fit noise; shrink each tree's step and require larger leaves",
                    30,
                )
            )
        elif best_at >= n - max(2, n // 20) and float(val_loss.get("tail_change", 0)) < -0.01:
            found.append(
                Finding(
                    "boosting unfinished",
                    "validation loss still fell at the last iteration"
                    f" ({_pct(val_loss['tail_change'])} over the last third)",
                    {"n_estimators": knobs.clip("n_estimators", n * 2)},
                    "more boosting rounds will keep reducing the error",
                    35,
                )
            )
    if model == "random_forest" and float(summary.get("gap", 0.0)) > 1.0:
        leaf = int(config.get("min_samples_leaf", 1))  # the forest's, not boosting's
        found.append(
            Finding(
                "forest memorises",
                f"validation loss is {summary['gap']:.0%} above training loss",
                {"min_samples_leaf": knobs.clip("min_samples_leaf", max(3, leaf * 3))},
                "fully grown trees fit noise; larger leaves smooth them",
                40,
            )
        )
    if metric and not found:
        found.append(
            Finding(
                "sound",
                f"{primary} {metric.get('last')} with no sign of over- or underfitting",
                {},
                "",
                90,
            )
        )
    return sorted(found, key=lambda f: f.priority)
