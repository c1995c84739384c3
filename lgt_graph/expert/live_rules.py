"""The heuristic expert's mid-run rules: what a practitioner changes between epochs, and why.

Each rule reads the run as a :class:`Line` — its curves so far, its configuration and its
place in the epoch budget — and returns the moves it calls for, each with its reason:

- a failed segment (a diverging loss) → a lower rate and gradient clipping;
- plain SGD → Nesterov momentum 0.9; SGD whose loss stalls early → Adam at its usual rate;
- a crawling loss, or validation that has not moved → a higher rate;
- the last third of the budget → anneal the rate;
- validation loss rising while training loss falls → dropout, augmentation (then cutout), a
  moving average of the weights, weight decay;
- validation no longer improving → decay the rate (late in the budget: or a larger batch);
- the first third, validation improving steadily → a bolder rate;
- a net trained on mirror images → score each image with its mirror (test-time flip).

The paired segment decides whether a move is kept, so a plausible move is worth trying.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lgt_graph.evaluation.metrics import better
from lgt_graph.expert.image_moves import ema_decay, more_varied
from lgt_graph.expert.moves import Candidate

STALL = 0.25
"""SGD has stalled early when the training loss fell by less than this share by epoch 3."""
RISE = 0.03
"""Validation loss this far above its best (as a share of it) means it is rising."""
DECAY = 0.3
"""The factor of a learning-rate decay step."""
CRAWL = 0.05
"""A training loss falling by less than this share an epoch, early on, crawls."""
PATIENCE = 2
"""Epochs without a better validation score that make a plateau (one is noise)."""
RECENT = 3
"""A change that lost its paired segment within this many segments is not tried again."""


def series(facts: dict[str, Any], name: str) -> list[float]:
    """Return one curve of the run's line from the Advisor's facts."""
    return [float(v) for v in facts["run"]["line"].get(name, [])]


def improving(values: list[float], maximize: bool) -> bool:
    """Say whether the last epoch set the best value of the line (the line still improves)."""
    if len(values) < 2:
        return True
    best_before = max(values[:-1]) if maximize else min(values[:-1])
    return better(values[-1], best_before, maximize)


def _epochs_since_best(values: list[float], maximize: bool) -> int:
    """Count the epochs since the line first reached its best value (ties do not count)."""
    if not values:
        return 0
    best = max(values) if maximize else min(values)
    return len(values) - 1 - values.index(best)


def _slow(train: list[float]) -> float | None:
    """Return the last epoch's relative drop of the training loss when it is slow, else None.

    Slow: the loss still falls, by less than ``CRAWL`` an epoch, and is above half of
    where it started: the rate is too low for this stage of training.
    """
    if len(train) < 2 or train[-2] <= 0:
        return None
    drop = (train[-2] - train[-1]) / train[-2]
    return drop if 0 <= drop < CRAWL and train[-1] > 0.5 * train[0] else None


@dataclass(frozen=True)
class Line:
    """The run as the rules read it: its curves so far, configuration and place in the budget."""

    config: dict[str, Any]
    primary: str
    maximize: bool
    train: list[float]
    val_loss: list[float]
    metric: list[float]
    spent: int
    budget: int
    failed: bool
    start_lr: float
    """The run's starting learning rate (the space's default)."""
    task: dict[str, Any]
    """The task's profile (the images' shape, the training examples)."""

    @classmethod
    def of(cls, facts: dict[str, Any]) -> Line:
        """Read the Advisor's facts."""
        task, run = facts["task"], facts["run"]
        primary = task["primary_metric"]
        return cls(
            config=facts["base"]["config"],
            primary=primary,
            maximize=task.get("direction", "maximize") == "maximize",
            train=series(facts, "train_loss"),
            val_loss=series(facts, "val_loss"),
            metric=series(facts, f"val_{primary}"),
            spent=int(run.get("epochs_trained", 0)),
            budget=max(1, int(run.get("budget", 1))),
            failed=((facts.get("last") or {}).get("summary") or {}).get("status") == "failed",
            start_lr=float(
                facts["space"].get("learning_rate", {}).get("default")
                or facts["base"]["config"].get("learning_rate", 0.01)
            ),
            task=task,
        )

    @property
    def lr(self) -> float:
        """Return the current learning rate."""
        return float(self.config.get("learning_rate", 0.01))

    @property
    def learned(self) -> bool:
        """Say whether validation ever moved from its first value."""
        return (
            len(self.metric) >= 2
            and _epochs_since_best(self.metric, self.maximize) < len(self.metric) - 1
        )


def diverged(line: Line) -> list[Candidate]:
    """Answer a failed segment (a diverging loss) with a lower rate and clipped gradients."""
    if not line.failed:
        return []
    why = "the last segment failed (a diverging loss): a lower rate, clipped gradients"
    return [Candidate({"learning_rate": line.lr * DECAY, "grad_clip": 1.0}, why, "divergence")]


def plain_sgd(line: Line) -> list[Candidate]:
    """Give plain SGD momentum 0.9; switch to Adam if its loss stalls early."""
    if line.config.get("optimizer") != "sgd" or not line.train:
        return []
    out = []
    if float(line.config.get("momentum", 0.0)) < 0.5:
        out.append(
            Candidate(
                {"momentum": 0.9, "nesterov": True},
                "plain SGD: Nesterov momentum 0.9 is the standard",
                "plain sgd",
            )
        )
    if 2 <= len(line.train) <= 3 and line.train[-1] > (1 - STALL) * line.train[0]:
        fell = 1 - line.train[-1] / line.train[0]
        out.append(
            Candidate(
                {"optimizer": "adam", "learning_rate": 0.001},
                f"SGD's training loss fell only {fell:.0%} in {len(line.train)} epochs: Adam"
                " adapts the step per weight",
                "sgd stalls",
            )
        )
    return out


def slow(line: Line) -> list[Candidate]:
    """Raise the rate when the loss crawls or validation has not moved at all."""
    crawl = _slow(line.train)
    if len(line.metric) < 2 or (crawl is None and line.learned):
        return []
    evidence = (
        f"the training loss fell only {crawl:.1%} in the last epoch and is still above half"
        " its first value"
        if crawl is not None
        else f"validation {line.primary} has not moved from its first value"
    )
    return [Candidate({"learning_rate": line.lr * 3}, f"{evidence}: a higher rate", "slow")]


def overfits(line: Line) -> list[Candidate]:
    """Regularise when validation loss rises from its best while training loss falls."""
    if len(line.val_loss) < 2 or len(line.train) < 2:
        return []
    best = min(line.val_loss)
    rise = (line.val_loss[-1] - best) / (abs(best) or 1.0)
    if rise <= RISE or line.train[-1] >= line.train[-2]:
        return []
    gap = (line.val_loss[-1] - line.train[-1]) / (abs(line.train[-1]) or 1.0)
    evidence = (
        f"validation loss {line.val_loss[-1]:.4f} rose {rise:.0%} above its best while training"
        f" loss fell ({gap:.0%} below it)"
    )
    out = []
    dropout = float(line.config.get("dropout", 0.0))
    if dropout < 0.5:
        out.append(Candidate({"dropout": dropout + 0.1}, f"{evidence}: more dropout", "overfits"))
    varied = more_varied(line.config, line.task) if "augmentation" in line.config else None
    if varied is not None:
        out.append(Candidate(varied[0], f"{evidence}: {varied[1]}", "overfits"))
    if "ema" in line.config and float(line.config["ema"]) == 0:
        why = f"{evidence}: score a moving average of the weights"
        out.append(Candidate({"ema": ema_decay(line.config, line.task)}, why, "overfits"))
    decay = float(line.config.get("weight_decay", 0.0))
    out.append(
        Candidate(
            {"weight_decay": max(decay * 10, 5e-4)},
            f"{evidence}: a stronger L2 penalty",
            "overfits",
        )
    )
    return out


def plateau(line: Line) -> list[Candidate]:
    """Decay the rate when validation stops improving (late in the budget: or a larger batch)."""
    stale = _epochs_since_best(line.metric, line.maximize)
    if not line.learned or stale < PATIENCE or _slow(line.train) is not None:
        return []
    if line.lr <= line.start_lr / 100:
        return []
    evidence = f"validation {line.primary} has not improved for {stale} epoch(s)"
    lower = Candidate(
        {"learning_rate": line.lr * DECAY}, f"{evidence}: decay the learning rate", "plateau"
    )
    batch = Candidate(
        {"batch_size": int(line.config.get("batch_size", 64)) * 2},
        f"{evidence}, late in the budget: a larger batch averages the gradient noise",
        "plateau",
    )
    return [lower, batch]


def anneal(line: Line) -> list[Candidate]:
    """In the last third of the budget, anneal the rate (down to a hundredth of the start)."""
    if not line.learned or line.spent < 2 * line.budget / 3 or line.lr <= line.start_lr / 100:
        return []
    why = "the last third of the budget: annealing the rate settles the weights"
    return [Candidate({"learning_rate": line.lr * DECAY}, why, "anneal")]


def bolder(line: Line) -> list[Candidate]:
    """In the first third, while validation improves steadily, try a bolder rate."""
    if not line.learned or line.spent >= line.budget / 3:
        return []
    if not improving(line.metric, line.maximize):
        return []
    why = "validation still improves steadily: a bolder rate may get there sooner"
    return [Candidate({"learning_rate": line.lr * 2}, why, "bolder")]


def mirror(line: Line) -> list[Candidate]:
    """Score each image with its mirror image once the net trains on mirrored ones."""
    if "flip" not in str(line.config.get("augmentation")) or line.config.get("test_time_flip"):
        return []
    if "test_time_flip" not in line.config:
        return []
    why = "the net trains on mirror images: averaging each image's and its mirror's outputs"
    return [Candidate({"test_time_flip": True}, why, "mirror")]


RULES = (diverged, plain_sgd, slow, anneal, overfits, plateau, bolder, mirror)
"""The mid-run rules, most urgent first; the first that applies leads the proposal. Late in
the budget the anneal comes before regularisation: a regulariser pays over many epochs,
seldom within one paired segment."""
REGULARISERS = frozenset(
    {"dropout", "weight_decay", "augmentation", "label_smoothing", "cutout", "ema"}
)
"""Knobs that regularise: when one lost its paired segment lately, none is tried for a while."""


def candidates(facts: dict[str, Any]) -> list[Candidate]:
    """Return the mid-run moves the curves call for, most urgent first."""
    line = Line.of(facts)
    return [candidate for rule in RULES for candidate in rule(line)]
