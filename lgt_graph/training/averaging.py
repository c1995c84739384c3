"""An exponential moving average of a net's weights: the ``ema`` knob.

After every optimiser step the average moves toward the live weights by ``1 - decay``;
batch-norm statistics are averaged the same way (their counters copied). The first
updates use a smaller decay, ``(1 + t) / (10 + t)`` at update ``t``, so that an average
switched on mid-run (``--loop epoch``) does not drag the initial weights along. Scoring
and the saved model then use the averaged net, which is smoother than the last step's
weights (Polyak averaging; the fast CIFAR-10 trainings keep one).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


class WeightAverage:
    """The moving average of a net's weights, as a net of the same shape (``model``)."""

    def __init__(self, model: nn.Module) -> None:
        self.model = copy.deepcopy(model)
        self.model.requires_grad_(False)
        self.model.eval()
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module, decay: float) -> None:
        """Move the average toward ``model``'s current weights."""
        self.updates += 1
        weight = 1.0 - min(decay, (1 + self.updates) / (10 + self.updates))
        for mine, theirs in zip(self.model.parameters(), model.parameters(), strict=True):
            mine.lerp_(theirs.detach(), weight)
        for buffer, live in zip(self.model.buffers(), model.buffers(), strict=True):
            if buffer.dtype.is_floating_point:
                buffer.lerp_(live, weight)
            else:
                buffer.copy_(live)

    def state_dict(self) -> dict[str, Any]:
        """Return what a checkpoint keeps: the averaged weights and the update count."""
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the average a checkpoint kept."""
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])
