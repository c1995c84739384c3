"""Whose turn it is in a hybrid study: the classical sampler's, or the agents'.

A classical sampler (TPE by default) drives. The agents propose on a set share of the
trials, spread evenly (a share of 0.25 gives trials 1, 5, 9 …); whenever the sampler's
own trials have not improved the best ``stall`` times in a row since the agents last
proposed; and, with ``follow``, on the trial after one of theirs that improved the best: a
textual gradient that pays is followed up while it pays, as LGT alone would, and the
sampler takes over at its first miss. Every trial, whoever proposed it, is in the study
the sampler models, so it is told every result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from optuna.trial import FrozenTrial, TrialState

from lgt_graph.errors import UserError
from lgt_graph.evaluation.metrics import better

AGENTS = "lgt"
"""How a trial the agents proposed is marked (its ``lgt_proposed_by`` attribute)."""
MODES = ("lgt", "hybrid")
SHARE = 0.25
"""The share of the trials the agents propose in a hybrid study, unless told otherwise."""
STALL = 5
"""A hybrid study's sampler trials without improvement, in a row, that hand the agents a turn."""


def checked_share(mode: str, llm_share: float | None, stall: int | None) -> float:
    """Return the agents' share of the trials in ``mode``; refuse a wrong mode, share or stall."""
    if mode not in MODES:
        raise UserError(f"LGTSampler mode must be one of {', '.join(MODES)}, got {mode!r}")
    share = 1.0 if mode == "lgt" else SHARE if llm_share is None else llm_share
    if not 0 < share <= 1:
        raise UserError(f"llm_share must be in (0, 1], got {llm_share}")
    if stall is not None and stall < 1:
        raise UserError(f"stall must be at least 1 trial (or None), got {stall}")
    return share


def on_share(number: int, share: float) -> bool:
    """Say whether trial ``number`` falls on the agents' share (evenly spread from trial 1)."""
    after = number - 1  # trials after the first
    if after < 0:
        return False
    return after == 0 or math.floor(after * share + 1e-9) > math.floor((after - 1) * share + 1e-9)


def stalled(trials: Sequence[FrozenTrial], number: int, maximize: bool) -> int:
    """Count the sampler's trials before ``number`` that did not improve the best, in a row.

    The count starts again after an improvement (by anyone) and after a trial the agents
    proposed, so a stall hands the agents one turn, not every turn after it.
    """
    best: float | None = None
    count = 0
    for trial in sorted(trials, key=lambda t: t.number):
        if trial.number >= number or trial.state not in (TrialState.COMPLETE, TrialState.FAIL):
            continue
        value = trial.value if trial.state == TrialState.COMPLETE else None
        if value is not None and math.isfinite(value) and better(value, best, maximize):
            best, count = value, 0
        elif trial.user_attrs.get("lgt_proposed_by") == AGENTS:
            count = 0
        else:
            count += 1
    return count


def last_gain(trials: Sequence[FrozenTrial], number: int, maximize: bool) -> FrozenTrial | None:
    """Return the last finished trial before ``number`` if it improved the best, else None."""
    best: float | None = None
    last: FrozenTrial | None = None
    for trial in sorted(trials, key=lambda t: t.number):
        if trial.number >= number or trial.state not in (TrialState.COMPLETE, TrialState.FAIL):
            continue
        value = trial.value if trial.state == TrialState.COMPLETE else None
        gained = value is not None and math.isfinite(value) and better(value, best, maximize)
        # the first trial to score sets the best; it beats nothing
        last = trial if gained and best is not None else None
        if gained:
            best = value
    return last


def turn(
    trials: Sequence[FrozenTrial],
    number: int,
    share: float,
    stall: int | None,
    maximize: bool,
    follow: bool = False,
) -> tuple[bool, str]:
    """Return whether the agents propose trial ``number``, and why (or why not)."""
    if share >= 1:
        return True, "every trial is the agents'"
    if on_share(number, share):
        return True, f"the agents' share ({share:g} of the trials)"
    if follow:
        gain = last_gain(trials, number, maximize)
        if gain is not None and gain.user_attrs.get("lgt_proposed_by") == AGENTS:
            return True, f"the agents' trial {gain.number} improved the best: they follow it up"
    if stall is not None:
        waited = stalled(trials, number, maximize)
        if waited >= stall:
            return True, f"the sampler has not improved the best in {waited} trials"
    return False, f"the sampler's turn (the agents propose {share:g} of the trials)"
