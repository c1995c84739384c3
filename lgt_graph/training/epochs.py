"""The pieces of one epoch of a net's training, shared by whole trials and continued runs.

Batches are slices of a shuffled index into tensors that already hold the whole
split (on the net's device), so the hot loop has no per-example Python. The random
draws (order, augmentation) come from a CPU generator on every device. A loss that turns NaN or
infinite, or explodes to ``EXPLODED`` times the loss of a constant prediction,
raises ``Diverged``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from lgt_graph.space import Config
from lgt_graph.training.arrays import Arrays
from lgt_graph.training.augment import Augment, augment
from lgt_graph.training.averaging import WeightAverage
from lgt_graph.training.device import CPU, Placement
from lgt_graph.training.nets import convolutional, has_batch_norm
from lgt_graph.training.result import Diverged

EVAL_BATCH = 4096
EXPLODED = 1000.0
"""A training loss this many times that of the best constant prediction means the weights
blew up (exploding gradients), even while it stays finite."""


def make_optimizer(config: Config, params: Any) -> torch.optim.Optimizer:
    """Return the optimiser the configuration names."""
    lr = float(config["learning_rate"])
    decay = float(config["weight_decay"])
    momentum = float(config["momentum"])
    name = config["optimizer"]
    if name == "sgd":
        nesterov = bool(config.get("nesterov")) and momentum > 0  # torch refuses it at 0
        return torch.optim.SGD(
            params, lr=lr, momentum=momentum, weight_decay=decay, nesterov=nesterov
        )
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=decay)
    return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=decay)


def tensors(data: Arrays) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return the training inputs and targets, and the validation ones, as the net fits them.

    On the CPU: :meth:`~lgt_graph.training.device.Placement.put` moves them to the net's device.
    """
    X = torch.from_numpy(data.X_train)
    y_fit = data.y_train_fit
    y = torch.from_numpy(y_fit if data.classification else y_fit.astype(np.float32)[:, None])
    X_val = torch.from_numpy(data.X_val)
    y_val_fit = (
        torch.from_numpy(data.y_val)
        if data.classification
        else torch.from_numpy(data.target.forward(data.y_val).astype(np.float32)[:, None])
    )
    return X, y, X_val, y_val_fit


@dataclass(frozen=True)
class Batches:
    """How an epoch slices its batches: their size, the lone-example rule, transforms, clipping.

    ``ema``: the decay of the weights' moving average that each step updates (0: none);
    ``channels_last``: lay each batch out channels-last, as a convolutional net runs.
    """

    size: int
    drop_last: bool
    augmentation: Augment
    clip: float
    ema: float = 0.0
    channels_last: bool = False

    @classmethod
    def of(cls, config: Config, n: int) -> Batches:
        """Read the configuration's batches for a training split of ``n`` examples."""
        size = min(int(config["batch_size"]), n)
        return cls(
            size,
            # a lone example in the last batch breaks batch norm's training statistics
            has_batch_norm(config) and n % size == 1,
            Augment.of(config),
            float(config["grad_clip"]),
            float(config.get("ema", 0.0)),
            convolutional(config),
        )


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    batches: Batches,
    generator: torch.Generator,
    classification: bool,
    batch_scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    placement: Placement = CPU,
    scaler: torch.amp.GradScaler | None = None,
    average: WeightAverage | None = None,
) -> tuple[float, float]:
    """Train one epoch over a shuffled order; return the mean training loss and accuracy.

    ``X``, ``y`` and the model are on ``placement``'s device; the forward pass runs under
    its autocast, and ``scaler`` (float16 only) scales the loss before the backward pass.
    ``average``, when given, follows the weights after every step (decay ``batches.ema``).
    """
    model.train()
    n = len(X)
    # the CPU generator draws the order on every device: the same batches on CPU and GPU
    order = torch.randperm(n, generator=generator).to(X.device)
    # the sums stay on the device: one transfer per epoch, not one per batch
    total = torch.zeros((), dtype=torch.float64, device=X.device)
    correct = torch.zeros((), dtype=torch.int64, device=X.device)
    seen = 0
    draws = (
        batches.augmentation.draw(n, tuple(X.shape[1:]), generator, X.device)
        if batches.augmentation
        else None
    )
    for start in range(0, n, batches.size):
        index = order[start : start + batches.size]
        if batches.drop_last and len(index) == 1:
            continue
        xb, yb = X[index], y[index]
        if draws is not None:
            xb = augment(xb, batches.augmentation, draws.take(start, start + len(index)))
        if batches.channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with placement.autocast():
            out = model(xb)
            loss = loss_fn(out, yb)
        optimizer.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            if batches.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), batches.clip)
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            if batches.clip > 0:
                scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
                nn.utils.clip_grad_norm_(model.parameters(), batches.clip)
            scaler.step(optimizer)  # skipped when a scaled gradient overflowed
            scaler.update()
        if average is not None:
            average.update(model, batches.ema)
        if batch_scheduler is not None:
            batch_scheduler.step()
        total += loss.detach() * len(index)
        if classification:
            correct += (out.detach().argmax(1) == yb).sum()
        seen += len(index)
    return float(total) / max(seen, 1), float(correct) / max(seen, 1)


def check_losses(train_loss: float, val_loss: float, exploded: float, epoch: int) -> None:
    """Raise Diverged when a loss is not finite or the training loss exploded."""
    if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
        bad = "training" if not math.isfinite(train_loss) else "validation"
        raise Diverged(
            f"{bad} loss became {train_loss if bad == 'training' else val_loss} at epoch {epoch}"
        )
    if train_loss > exploded:
        raise Diverged(
            f"training loss exploded to {train_loss:.3g} at epoch {epoch}, over"
            f" {EXPLODED:.0f}x that of a constant prediction ({exploded / EXPLODED:.3g}):"
            " exploding gradients"
        )


def loss_function(config: Config, data: Arrays) -> nn.Module:
    """Return the training loss: weighted, smoothed cross-entropy; MSE or L1 for regression."""
    if not data.classification:
        absolute = config.get("regression_loss") == "absolute_error"
        return nn.L1Loss() if absolute else nn.MSELoss()
    weight = None
    if config.get("class_weighting") == "balanced":
        counts = np.bincount(data.y_train, minlength=data.n_classes).astype(np.float64)
        weight = torch.tensor(
            len(data.y_train) / (data.n_classes * np.maximum(counts, 1)), dtype=torch.float32
        )
    return nn.CrossEntropyLoss(
        weight=weight, label_smoothing=float(config.get("label_smoothing", 0))
    )


@torch.inference_mode()
def constant_loss(loss_fn: nn.Module, y: torch.Tensor, classification: bool, n_out: int) -> float:
    """Return the loss of the best constant prediction: class log-priors, or the mean target."""
    if classification:
        counts = torch.bincount(y, minlength=n_out).double() + 1e-3
        logits = (counts / counts.sum()).log().float().expand(len(y), n_out)
        return float(loss_fn(logits, y))
    return float(loss_fn(y.mean(0, keepdim=True).expand_as(y), y))


@torch.inference_mode()
def predict(
    model: nn.Module, X: torch.Tensor, placement: Placement = CPU, flip: bool = False
) -> torch.Tensor:
    """Return the model's float32 outputs for ``X``, in evaluation mode, in large batches.

    The outputs stay on ``placement``'s device (where the model is); ``X`` may be on the
    CPU, and goes over a batch at a time. ``flip`` (test-time augmentation) averages the
    outputs for each image and its mirror image.
    """
    model.eval()
    outs = []
    with placement.autocast():
        for i in range(0, len(X), EVAL_BATCH):
            xb = placement.put(X[i : i + EVAL_BATCH])
            out = model(xb).float()
            if flip:
                out = (out + model(xb.flip(3)).float()) / 2
            outs.append(out)
    return torch.cat(outs)
