"""The PyTorch training loop: tensors in memory, read top to bottom.

Batches are slices of a shuffled index into tensors that already hold the whole
split, so the hot loop has no per-example Python. A loss that turns NaN or
infinite, or explodes to ``EXPLODED`` times the loss of a constant prediction,
stops the trial at the end of that epoch with ``Diverged``.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lgt_graph.metrics import better
from lgt_graph.space import Config
from lgt_graph.training.arrays import Arrays
from lgt_graph.training.nets import build_net
from lgt_graph.training.result import Diverged, Progress

EVAL_BATCH = 4096
EXPLODED = 1000.0
"""A training loss this many times that of the best constant prediction means the weights
blew up (exploding gradients), even while it stays finite."""
SMALL_WORK = 2_000_000
"""Below this many weight-examples per batch, extra intra-op threads only spin."""


def set_threads(config: Config, model: nn.Module, batch_size: int, available: int) -> int:
    """Give the trial one thread when its batches are tiny, else every available CPU.

    OpenMP workers of a tiny MLP busy-wait on their cores, taking them from the
    MLflow writer process for no speed-up; ``OMP_NUM_THREADS`` set by the user wins.
    """
    if "OMP_NUM_THREADS" in os.environ:
        return torch.get_num_threads()
    work = sum(p.numel() for p in model.parameters()) * batch_size
    threads = available if config["model"] == "cnn" or work >= SMALL_WORK else 1
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def make_optimizer(config: Config, params: Any) -> torch.optim.Optimizer:
    """Return the optimiser the configuration names."""
    lr = float(config["learning_rate"])
    decay = float(config["weight_decay"])
    momentum = float(config["momentum"])
    name = config["optimizer"]
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=decay)
    return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=decay)


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


def augment(x: torch.Tensor, kind: str, generator: torch.Generator) -> torch.Tensor:
    """Randomly flip images horizontally and/or shift them by up to 2 pixels."""
    if kind in ("flip", "flip_shift"):
        flip = torch.rand(x.shape[0], generator=generator) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if kind in ("shift", "flip_shift"):
        n, _, h, w = x.shape
        pad = 2
        padded = F.pad(x, (pad, pad, pad, pad))
        dy = torch.randint(-pad, pad + 1, (n, 1), generator=generator)
        dx = torch.randint(-pad, pad + 1, (n, 1), generator=generator)
        rows = torch.arange(h)[None, :] + pad + dy
        cols = torch.arange(w)[None, :] + pad + dx
        batch = torch.arange(n)[:, None, None]
        x = padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    return x


def _loss_function(config: Config, data: Arrays) -> nn.Module:
    if not data.classification:
        return nn.MSELoss()
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
def predict(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Return the model's outputs for ``X``, in evaluation mode, in large batches."""
    model.eval()
    return torch.cat([model(X[i : i + EVAL_BATCH]) for i in range(0, len(X), EVAL_BATCH)])


def fit_neural(
    config: Config,
    data: Arrays,
    primary: str,
    maximize: bool,
    seed: int,
    progress: Progress | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Train the configuration's net; return curves, final validation metrics and the model.

    With early stopping on, training stops after ``early_stopping_patience``
    epochs without a better validation ``primary`` and the best epoch's weights
    are kept; otherwise the last epoch's weights are.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    X = torch.from_numpy(data.X_train)
    y_fit = data.y_train_fit
    y = torch.from_numpy(y_fit if data.classification else y_fit.astype(np.float32)[:, None])
    X_val = torch.from_numpy(data.X_val)
    y_val_fit = (
        torch.from_numpy(data.y_val)
        if data.classification
        else torch.from_numpy(data.target.forward(data.y_val).astype(np.float32)[:, None])
    )
    n_out = data.n_classes if data.classification else 1
    model = build_net(config, tuple(X.shape[1:]), n_out)
    optimizer = make_optimizer(config, model.parameters())
    n = len(X)
    batch_size = min(int(config["batch_size"]), n)
    threads = set_threads(config, model, batch_size, threads)
    steps = math.ceil(n / batch_size)
    epochs = int(config["epochs"])
    scheduler, per_batch = make_schedule(config, optimizer, epochs, steps)
    loss_fn = _loss_function(config, data)
    exploded = EXPLODED * max(constant_loss(loss_fn, y, data.classification, n_out), 1e-3)
    clip = float(config["grad_clip"])
    augmentation = str(config.get("augmentation", "none"))
    patience = int(config["early_stopping_patience"])
    # A lone example in the last batch breaks batch norm's training statistics.
    drop_last = bool(config["batch_norm"]) and n % batch_size == 1
    score = data.scorer()

    curves: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
    if data.classification:
        curves["train_accuracy"] = []
    best_value: float | None = None
    best_epoch = 0
    best_state: dict[str, torch.Tensor] | None = None
    final_metrics: dict[str, float] = {}
    epoch_times: list[float] = []
    stopped_early = False
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=generator)
        total = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.int64)
        seen = 0
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            if drop_last and len(index) == 1:
                continue
            xb, yb = X[index], y[index]
            if augmentation != "none":
                xb = augment(xb, augmentation, generator)
            out = model(xb)
            loss = loss_fn(out, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            if scheduler is not None and per_batch:
                scheduler.step()
            total += loss.detach() * len(index)
            if data.classification:
                correct += (out.detach().argmax(1) == yb).sum()
            seen += len(index)
        if scheduler is not None and not per_batch:
            scheduler.step()
        train_loss = float(total) / max(seen, 1)
        out_val = predict(model, X_val)
        val_loss = float(loss_fn(out_val, y_val_fit))
        epoch_times.append(time.perf_counter() - started)
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            bad = "training" if not math.isfinite(train_loss) else "validation"
            raise Diverged(
                f"{bad} loss became {train_loss if bad == 'training' else val_loss} at epoch"
                f" {epoch}"
            )
        if train_loss > exploded:
            raise Diverged(
                f"training loss exploded to {train_loss:.3g} at epoch {epoch}, over"
                f" {EXPLODED:.0f}x that of a constant prediction ({exploded / EXPLODED:.3g}):"
                " exploding gradients"
            )
        metrics = score(data.y_val, out_val.numpy())
        curves["train_loss"].append(train_loss)
        curves["val_loss"].append(val_loss)
        if data.classification:
            curves["train_accuracy"].append(float(correct) / max(seen, 1))
        for name, value in metrics.items():
            curves.setdefault(f"val_{name}", []).append(value)
        if progress is not None:
            progress(
                {
                    "epoch": epoch,
                    "epochs": epochs,
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                    **{f"val_{k}": v for k, v in metrics.items()},
                }
            )
        value = metrics[primary]
        improved = better(value, best_value, maximize)
        if improved:
            best_value, best_epoch = value, epoch
            if patience > 0:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        final_metrics = metrics
        if patience > 0 and epoch - best_epoch >= patience:
            stopped_early = epoch < epochs
            break
    if best_state is not None:
        model.load_state_dict(best_state)
        final_metrics = {
            k[4:]: v[best_epoch - 1] for k, v in curves.items() if k.startswith("val_")
        }
        final_metrics.pop("loss", None)
    return {
        "model": model,
        "curves": curves,
        "steps": list(range(1, len(curves["train_loss"]) + 1)),
        "metrics": final_metrics,
        "diagnostics": {
            "epochs_run": len(curves["train_loss"]),
            "best_epoch": best_epoch,
            "kept_epoch": best_epoch if best_state is not None else len(curves["train_loss"]),
            "stopped_early": stopped_early,
            "parameters": sum(p.numel() for p in model.parameters()),
            "seconds_per_epoch": float(np.mean(epoch_times)) if epoch_times else 0.0,
            "threads": threads,
        },
    }
