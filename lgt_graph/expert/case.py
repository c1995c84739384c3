"""What the expert's rules read and write: the trial as a Case, the space as Knobs, a Finding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lgt_graph.evaluation.metrics import gain
from lgt_graph.space.knob import NEURAL_MODELS

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

    def reads(self, config: dict[str, Any], name: str) -> bool:
        """Say whether a configuration reads the knob: its model does, and the knob's ``when``."""
        spec = self.space.get(name)
        if spec is None or (spec["used_by"] and str(config.get("model")) not in spec["used_by"]):
            return False
        when = spec.get("when")  # (knob, values): momentum is read by sgd and rmsprop alone
        return not when or when[0] not in config or config[when[0]] in when[1]


@dataclass(frozen=True)
class Case:
    """One trial as the rules read it: the inputs, and the values several rules derive."""

    summary: dict[str, Any]
    config: Config
    profile: dict[str, Any]
    knobs: Knobs
    model: str
    neural: bool
    tabular: bool
    regression: bool
    lr: float
    """The configured learning rate, 0.01 when the configuration has none."""
    failed: bool
    failure: str
    """Why the trial failed (empty when it did not)."""
    primary: str
    validation: dict[str, Any]
    steps: int
    unit: str
    train_loss: dict[str, Any]
    val_loss: dict[str, Any]
    metric: dict[str, Any]
    """The summary of the primary metric's validation curve (empty when absent)."""
    gap: float
    rise: float
    """How far the final validation loss ended above its best, as a fraction of the best."""

    @classmethod
    def of(
        cls, summary: dict[str, Any], config: Config, profile: dict[str, Any], knobs: Knobs
    ) -> Case:
        """Read one trial's summary, configuration and task profile."""
        model = str(config.get("model"))
        primary = summary.get("primary", "accuracy")
        return cls(
            summary=summary,
            config=config,
            profile=profile,
            knobs=knobs,
            model=model,
            neural=model in NEURAL_MODELS,
            tabular=profile["family"] != "image",
            regression=profile["problem"] == "regression",
            lr=float(config.get("learning_rate", 0.01)),
            failed=summary["status"] != "ok",
            failure=summary.get("failure", ""),
            primary=primary,
            validation=summary.get("validation", {}),
            steps=int(summary.get("steps_run", 0)),
            unit=summary.get("step_unit", "epoch"),
            train_loss=summary.get("train_loss", {}),
            val_loss=summary.get("val_loss", {}),
            metric=summary.get(f"val_{primary}", {}),
            gap=float(summary.get("gap", 0.0)),
            rise=float(summary.get("val_loss_rise", 0.0)),
        )

    def clip(self, name: str, value: Any) -> Any:
        """Return the nearest value the space allows for this knob."""
        return self.knobs.clip(name, value)


LENGTH_KNOBS = ("epochs", "n_estimators")
"""Knobs that buy a better score with more compute: every step up multiplies a trial's cost."""
WORTH = 0.01
"""The share of the score a step up in length must buy for another step to be worth its cost."""


def lengthened(changes: list[dict[str, Any]]) -> bool:
    """Say whether these changes only lengthen training (more epochs or more trees)."""
    return bool(changes) and all(
        c["knob"] in LENGTH_KNOBS
        and isinstance(c["new"], int | float)
        and isinstance(c["old"], int | float)
        and c["new"] > c["old"]
        for c in changes
    )


def paid_off(bought: float, reference: float) -> bool:
    """Say whether a lengthening that gained ``bought`` on ``reference`` was worth its cost.

    Doubling the epochs doubles a trial's cost; once a doubling buys less than a
    hundredth of the score, training length no longer limits the model, and a
    practitioner turns to capacity or regularisation instead of doubling again.
    """
    return bought >= WORTH * max(abs(reference), 1e-12)


def shorter(trial: int | None, facts: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Return the length to go back to from ``trial``, and why; ({}, "") to stay.

    When the trial only lengthened its parent's training and that bought too little
    (:func:`~lgt_graph.expert.case.paid_off`), its configuration at the parent's length
    scores nearly as well for half the cost: the next changes are tried there.
    """
    rows = {row["trial"]: row for row in facts.get("history", [])}
    row = rows.get(trial)
    parent = rows.get(row.get("base")) if row else None
    if row is None or parent is None or not lengthened(row.get("changes", [])):
        return {}, ""
    if row.get("score") is None or parent.get("score") is None:
        return {}, ""
    bought = gain(row["score"], parent["score"], facts["task"].get("direction") != "minimize")
    if paid_off(bought, parent["score"]):
        return {}, ""
    moved = ", ".join(f"{c['knob']} {c['old']}" for c in row["changes"])
    return {c["knob"]: c["old"] for c in row["changes"]}, (
        f"trial {trial}'s longer training bought only {bought:+.4g} over trial"
        f" {parent['trial']}: back to {moved}, where a change costs half as much to try"
    )


def spent(history: list[dict[str, Any]], maximize: bool) -> set[str]:
    """Name the length knobs whose latest step up bought too little to take another.

    Only trials that changed nothing but the length count, against the trial they
    changed (its parent): there the gain is the length's alone.
    """
    scores = {row["trial"]: row.get("score") for row in history}
    out: set[str] = set()
    for row in history:
        parent = scores.get(row.get("base"))
        if not lengthened(row.get("changes", [])) or row.get("score") is None or parent is None:
            continue
        worth = paid_off(gain(row["score"], parent, maximize), parent)
        for change in row["changes"]:
            (out.discard if worth else out.add)(change["knob"])
    return out
