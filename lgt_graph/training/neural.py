"""The PyTorch training loop of one trial: a fresh net trained for its epochs, read top to bottom.

The epoch itself (:mod:`lgt_graph.training.epochs`) is shared with the epoch-level
loop's continued runs (:mod:`lgt_graph.training.segments`). A loss that turns NaN or
infinite, or explodes, stops the trial at the end of that epoch with ``Diverged``. The
net trains where its :class:`~lgt_graph.training.device.Placement` says (``--device``,
``--amp``); the metrics are computed on the CPU, as scikit-learn's models' are.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from lgt_graph.evaluation.metrics import better
from lgt_graph.space import Config
from lgt_graph.training.arrays import Arrays
from lgt_graph.training.averaging import WeightAverage
from lgt_graph.training.device import Placement, resolve_placement
from lgt_graph.training.epochs import (
    EXPLODED,
    Batches,
    check_losses,
    constant_loss,
    loss_function,
    make_optimizer,
    predict,
    tensors,
    train_epoch,
)
from lgt_graph.training.nets import build_net, convolutional, lay_out
from lgt_graph.training.result import Progress, Pruned
from lgt_graph.training.threads import free_threads

__all__ = ["EXPLODED", "fit_neural", "make_schedule", "predict", "set_threads"]

SMALL_WORK = 2_000_000
"""Below this many weight-examples per batch, extra intra-op threads only spin."""


def set_threads(config: Config, model: nn.Module, batch_size: int, available: int) -> int:
    """Give the trial one thread when its batches are tiny, else the CPUs other jobs leave free.

    OpenMP workers of a tiny MLP busy-wait on their cores, taking them from the
    MLflow writer process for no speed-up; on a core that another job keeps busy they
    wait for each other (:func:`~lgt_graph.training.threads.free_threads`).
    ``OMP_NUM_THREADS`` set by the user wins.
    """
    if "OMP_NUM_THREADS" in os.environ:
        return torch.get_num_threads()
    work = sum(p.numel() for p in model.parameters()) * batch_size
    threads = 1
    if convolutional(config) or work >= SMALL_WORK:
        threads = min(available, free_threads()) if available > 1 else available
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def make_schedule(
    config: Config, optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int
) -> tuple[torch.optim.lr_scheduler.LRScheduler | None, bool]:
    """Return the learning-rate scheduler and whether it steps per batch (else per epoch)."""
    kind = config["lr_schedule"]
    sched = torch.optim.lr_scheduler
    if kind == "step":
        milestones = sorted({max(1, epochs // 2), max(1, (3 * epochs) // 4)})
        return sched.MultiStepLR(optimizer, milestones, gamma=0.1), False
    if kind == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=max(1, epochs)), False
    if kind == "onecycle":
        total = max(1, epochs * steps_per_epoch)
        return sched.OneCycleLR(optimizer, float(config["learning_rate"]), total_steps=total), True
    return None, False


def fit_neural(
    config: Config,
    data: Arrays,
    primary: str,
    maximize: bool,
    seed: int,
    progress: Progress | None = None,
    threads: int = 1,
    placement: Placement | None = None,
) -> dict[str, Any]:
    """Train the configuration's net; return curves, final validation metrics and the model.

    With early stopping on, training stops after ``early_stopping_patience``
    epochs without a better validation ``primary`` and the best epoch's weights
    are kept; otherwise the last epoch's weights are. The net trains on
    ``placement`` (None: ``--device auto``) and is returned there. Under ``ema`` the
    moving average of the weights is what is scored, kept and returned; under
    ``test_time_flip`` each image is scored with its mirror image.
    """
    placement = placement or resolve_placement()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    X, y, X_val, y_val_fit = (placement.put(t) for t in tensors(data))
    n_out = data.n_classes if data.classification else 1
    # initialised on the CPU by the seeded CPU RNG, then moved: the same start on every device
    model = build_net(config, tuple(X.shape[1:]), n_out).to(placement.device)
    model, (X, X_val) = lay_out(config, model, [X, X_val])
    batches = Batches.of(config, len(X))
    average = WeightAverage(model) if batches.ema > 0 else None
    scored = average.model if average is not None else model
    flip = bool(config.get("test_time_flip"))
    optimizer = make_optimizer(config, model.parameters())
    scaler = placement.scaler()
    threads = set_threads(config, model, batches.size, threads)
    steps = math.ceil(len(X) / batches.size)
    epochs = int(config["epochs"])
    scheduler, per_batch = make_schedule(config, optimizer, epochs, steps)
    loss_fn = loss_function(config, data).to(placement.device)
    exploded = EXPLODED * max(constant_loss(loss_fn, y, data.classification, n_out), 1e-3)
    patience = int(config["early_stopping_patience"])
    score = data.scorer(logits=True)

    curves: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
    if data.classification:
        curves["train_accuracy"] = []
    best_value: float | None = None
    best_epoch = 0
    best_state: dict[str, torch.Tensor] | None = None
    final_metrics: dict[str, float] = {}
    final_out: np.ndarray | None = None  # the kept epoch's validation output
    best_out: np.ndarray | None = None
    epoch_times: list[float] = []
    stopped_early = False
    pruned_at: int | None = None
    pruned_by = ""
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        train_loss, accuracy = train_epoch(
            model,
            optimizer,
            loss_fn,
            X,
            y,
            batches,
            generator,
            data.classification,
            scheduler if per_batch else None,
            placement,
            scaler,
            average,
        )
        if scheduler is not None and not per_batch:
            scheduler.step()
        out_val = predict(scored, X_val, placement, flip)
        val_loss = float(loss_fn(out_val, y_val_fit))
        epoch_times.append(time.perf_counter() - started)
        check_losses(train_loss, val_loss, exploded, epoch)
        out_host = out_val.cpu().numpy()
        metrics = score(data.y_val, out_host)
        curves["train_loss"].append(train_loss)
        curves["val_loss"].append(val_loss)
        if data.classification:
            curves["train_accuracy"].append(accuracy)
        for name, value in metrics.items():
            curves.setdefault(f"val_{name}", []).append(value)
        if progress is not None:
            try:
                progress(
                    {
                        "epoch": epoch,
                        "epochs": epochs,
                        "primary": primary,
                        "train_loss": train_loss,
                        "val_loss": val_loss,
                        **{f"val_{k}": v for k, v in metrics.items()},
                    }
                )
            except Pruned as stop:  # a pruner, or the seconds budget, stops it here
                pruned_at, pruned_by = epoch, stop.by
        value = metrics[primary]
        improved = better(value, best_value, maximize)
        if improved:
            best_value, best_epoch = value, epoch
            if patience > 0:
                best_state = {k: v.detach().clone() for k, v in scored.state_dict().items()}
                best_out = out_host
        final_metrics, final_out = metrics, out_host
        if pruned_at is not None:
            break
        if patience > 0 and epoch - best_epoch >= patience:
            stopped_early = epoch < epochs
            break
    if best_state is not None:
        scored.load_state_dict(best_state)
        final_metrics = {
            k[4:]: v[best_epoch - 1] for k, v in curves.items() if k.startswith("val_")
        }
        final_metrics.pop("loss", None)
        final_out = best_out
    return {
        "model": scored,  # the averaged weights under ema: what was scored is what is kept
        "curves": curves,
        "steps": list(range(1, len(curves["train_loss"]) + 1)),
        "metrics": final_metrics,
        "val_output": final_out,
        "diagnostics": {
            "epochs_run": len(curves["train_loss"]),
            "best_epoch": best_epoch,
            "kept_epoch": best_epoch if best_state is not None else len(curves["train_loss"]),
            "stopped_early": stopped_early,
            "parameters": sum(p.numel() for p in model.parameters()),
            "seconds_per_epoch": float(np.mean(epoch_times)) if epoch_times else 0.0,
            "threads": threads,
            **placement.tags(),
            **({"pruned_at": pruned_at, "pruned_by": pruned_by} if pruned_at is not None else {}),
        },
    }
