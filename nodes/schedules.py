"""The epoch-level baselines' Advisors: a fixed rate, a cosine schedule, ReduceLROnPlateau.

Each continues the one training run segment by segment (``--loop epoch``, unpaired, no
judging), changing at most the learning rate, as a practitioner's schedule would:

- ``keep``: NoTuning — the default configuration trains for the whole epoch budget.
- ``cosine``: the rate follows a cosine from the default down to 0 over the budget.
- ``Plateau`` (``plateau``): PyTorch's ``ReduceLROnPlateau`` on the validation metric
  (factor 0.1, patience 3 segments by default), and early stopping after ``stop`` (8)
  segments without a better score.

They read everything from the state, so a resumed session asks them the same.
"""

from __future__ import annotations

import math
from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context
from lgt_graph.epoch.loop import spent
from lgt_graph.evaluation.metrics import better
from lgt_graph.proposals import next_trial, proposal_update, start_of
from lgt_graph.state import ChangeRecord, State


def _set_rate(
    state: State, ctx: Context, rate: float | None, reason: str, status: str
) -> dict[str, Any]:
    base = start_of(state, ctx)
    config = dict(base["config"]) if base else ctx.space.default()
    changes: list[ChangeRecord] = []
    if rate is not None:
        knob = ctx.space["learning_rate"]
        new = float(f"{min(max(rate, knob.low), knob.high):.4g}")
        if new != config["learning_rate"]:
            changes.append(
                ChangeRecord(
                    knob="learning_rate", old=config["learning_rate"], new=new, reason=reason
                )
            )
            config["learning_rate"] = new
    return proposal_update(base, config, changes, reason, "unknown", status, next_trial(state))


def keep(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Continue the run unchanged: the default configuration for the whole budget."""
    return _set_rate(state, runtime.context, None, "NoTuning: the run continues unchanged", "keep")


def cosine(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Set the rate of the next segment on a cosine from the default to 0 over the budget."""
    ctx = runtime.context
    start = float(ctx.space.default()["learning_rate"])
    done = spent(state)
    rate = 0.5 * start * (1 + math.cos(math.pi * done / ctx.settings.budget))
    why = f"cosine schedule: epoch {done + 1} of {ctx.settings.budget}"
    return _set_rate(state, ctx, rate, why, "cosine")


class Plateau:
    """PyTorch's ReduceLROnPlateau on the segments' validation scores, with early stopping."""

    def __init__(self, factor: str = "0.1", patience: str = "3", stop: str = "8") -> None:
        self.factor, self.patience, self.stop = float(factor), int(patience), int(stop)

    def __call__(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Replay the scores into the scheduler; stop early, or set the rate it gives."""
        import torch

        ctx = runtime.context
        start = float(ctx.space.default()["learning_rate"])
        weight = torch.zeros(1, requires_grad=True)
        optimizer = torch.optim.SGD([weight], lr=start)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="max" if ctx.maximize else "min",
            factor=self.factor,
            patience=self.patience,
        )
        best, since = None, 0
        for trial in history.trials(state):
            score = trial["score"]
            if score is None:
                continue
            scheduler.step(score)
            if better(score, best, ctx.maximize):
                best, since = score, 0
            else:
                since += 1
        if since >= self.stop:
            return {
                "exhausted": f"early stopping: {since} segments without a better validation score"
            }
        rate = float(optimizer.param_groups[0]["lr"])
        why = (
            f"ReduceLROnPlateau (factor {self.factor:g}, patience {self.patience}): rate {rate:.3g}"
        )
        return _set_rate(state, ctx, rate, why, "plateau")
