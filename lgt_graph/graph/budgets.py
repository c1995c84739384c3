"""A session's budgets — trials, epochs trained, seconds of training — and when they are spent.

Every method obeys the same budgets, so a comparison can be held at equal trials
(``--budget``), equal epochs (``--budget-epochs``) or equal compute (``--budget-seconds``):

- **trials**: trainings from scratch (the trial loop); the epoch-level loops count epochs.
- **epochs**: every epoch trained, over every trial: a segment's both branches, an inner
  run's every epoch, a net's epochs run (early stopping and pruning cut them); a tree
  ensemble's or a linear model's fit counts as one.
- **seconds**: the trials' own wall time, training and validation scoring; the agents'
  and searchers' thinking time is not counted (it is reported beside it).

The graph checks the budgets after every trial, so a session ends at the first trial that
reaches one: never past it by more than that one trial.
"""

from __future__ import annotations

from lgt_graph import history
from lgt_graph.context import TRIAL_CAP, Settings
from lgt_graph.state import State

__all__ = [
    "TRIAL_CAP",
    "describe",
    "epoch_horizon",
    "epochs_room",
    "epochs_spent",
    "exhausted",
    "left",
]


def epochs_spent(state: State, settings: Settings) -> int:
    """Return the epochs trained so far, every branch and every trial counted."""
    if settings.loop == "epoch":
        return int((state.get("run") or {}).get("epochs_trained", 0))
    return history.epochs_used(state)


def epochs_room(state: State, settings: Settings) -> int | None:
    """Return the epochs that may still be trained, or None when no budget counts epochs."""
    caps = [settings.budget] if settings.loop != "trial" else []
    if settings.budget_epochs is not None:
        caps.append(settings.budget_epochs)
    return min(caps) - epochs_spent(state, settings) if caps else None


def epoch_horizon(state: State, settings: Settings) -> int:
    """Return the epochs an epoch-level run will train in all, as far as can be told now.

    That is its epoch budget, or fewer when the seconds budget runs out first at the pace
    of the epochs trained so far (every branch counted): what the run's place in its
    budget (the live rules' "last third") is measured against.
    """
    spent = epochs_spent(state, settings)
    horizon = settings.budget
    used = history.seconds_used(state) if settings.budget_seconds is not None else 0.0
    if settings.budget_seconds is not None and spent > 0 and used > 0:
        affordable = int(max(settings.budget_seconds - used, 0.0) / (used / spent))
        horizon = min(horizon, spent + affordable)
    return horizon


def exhausted(state: State, settings: Settings) -> str | None:
    """Return why the session's budget is spent, in words, or None while some is left."""
    done = history.trials(state)
    if settings.loop == "trial" and len(done) >= settings.budget:
        return f"the budget of {settings.budget} trials is spent"
    if settings.loop == "trial" and settings.budget_epochs is None:
        epochs = 0  # no budget counts epochs
    else:
        epochs = epochs_spent(state, settings)
    if settings.loop != "trial" and epochs >= settings.budget:
        how = ", every branch counted" if settings.loop == "epoch" else f" over {len(done)} trials"
        return f"the budget of {settings.budget} epochs is spent ({epochs} trained{how})"
    if settings.budget_epochs is not None and epochs >= settings.budget_epochs:
        return (
            f"the budget of {settings.budget_epochs} epochs is spent ({epochs} trained over"
            f" {len(done)} trials)"
        )
    seconds = history.seconds_used(state) if settings.budget_seconds is not None else 0.0
    if settings.budget_seconds is not None and seconds >= settings.budget_seconds:
        return (
            f"the budget of {settings.budget_seconds:g} s of training is spent"
            f" ({seconds:.1f} s over {len(done)} trials)"
        )
    return None


def left(state: State, settings: Settings) -> tuple[float, str]:
    """Return what is left of the tightest budget and its unit (trials, epochs or seconds).

    The trial budget of a session budgeted in epochs or seconds alone is not a limit
    anyone chose, so it is not the one reported.
    """
    options: list[tuple[float, str]] = []
    needs_epochs = settings.loop != "trial" or settings.budget_epochs is not None
    epochs = epochs_spent(state, settings) if needs_epochs else 0
    if not _lifted(settings):
        if settings.loop == "trial":
            options.append((settings.budget - len(history.trials(state)), "trials"))
        else:
            options.append((settings.budget - epochs, "epochs"))
    if settings.budget_epochs is not None:
        options.append((settings.budget_epochs - epochs, "epochs"))
    if settings.budget_seconds is not None:
        options.append((round(settings.budget_seconds - history.seconds_used(state), 1), "seconds"))
    amount, unit = min(options, key=lambda option: _fraction(option, settings))
    return max(amount, 0), unit


def _fraction(option: tuple[float, str], settings: Settings) -> float:
    """Return what is left as a fraction of the whole, to compare budgets of other units."""
    amount, unit = option
    whole = {
        "trials": settings.budget,
        "epochs": (settings.budget_epochs or settings.budget)
        if settings.loop == "trial"
        else settings.budget,
        "seconds": settings.budget_seconds or 1.0,
    }[unit]
    return amount / max(float(whole), 1e-9)


def _other_budgets(settings: Settings) -> bool:
    return settings.budget_epochs is not None or settings.budget_seconds is not None


def _lifted(settings: Settings) -> bool:
    """Whether ``budget`` is only the cap that an epoch or seconds budget alone implies."""
    if settings.loop != "trial" and settings.budget_epochs is not None:
        return False  # the epoch-level loops' budget is then the epoch budget itself
    return settings.budget >= TRIAL_CAP and _other_budgets(settings)


def describe(settings: Settings) -> str:
    """Return the session's budgets in words: "10 trials", "60 s of training (trials: 1000)"."""
    parts = []
    unit = "trials" if settings.loop == "trial" else "epochs"
    if not _lifted(settings):
        parts.append(f"{settings.budget} {unit}")
    if settings.budget_epochs is not None and not (
        settings.loop != "trial" and settings.budget_epochs == settings.budget
    ):
        parts.append(f"{settings.budget_epochs} epochs trained")
    if settings.budget_seconds is not None:
        parts.append(f"{settings.budget_seconds:g} s of training")
    return ", ".join(parts)
