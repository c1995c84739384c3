"""One training run continued segment by segment: the trainer of the epoch-level loop.

A :class:`NeuralRun` is a net with its optimiser and random state. ``train`` runs the
next epochs under the configuration it was last given; ``save`` writes what a
continuation needs — the weights, the optimiser's state, the generator that orders
the batches and torch's global RNG (dropout), the epoch count and the configuration —
(and the weights' moving average under ``ema``) to one file
(:mod:`lgt_graph.training.checkpoints`), and :meth:`NeuralRun.load` rebuilds the run
from it, bit for bit. Between
segments only live knobs may change (:data:`lgt_graph.space.families.LIVE`): a new
optimiser starts over the same weights; the same optimiser keeps its moments and
takes the new rate, momentum and decay; an ``ema`` switched on starts averaging from
the current weights, one switched off drops its average. A run on a GPU also saves the GPU's RNG
(and, in float16, the gradient scaler); every tensor is saved on the CPU, so each
file loads on a machine without a GPU, onto whichever device the loading run uses.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lgt_graph.errors import ConfigError
from lgt_graph.space import NEURAL_MODELS, Config, config_key
from lgt_graph.space.families import LIVE
from lgt_graph.tasks.base import TaskData
from lgt_graph.training import available_threads, prepare_arrays
from lgt_graph.training.arrays import Arrays
from lgt_graph.training.averaging import WeightAverage
from lgt_graph.training.checkpoints import (
    FORMAT,
    CheckpointError,
    file_hash,
    load_model,
    read_checkpoint,
)
from lgt_graph.training.device import Placement, on_cpu, resolve_placement
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
from lgt_graph.training.nets import build_net, lay_out, set_dropout
from lgt_graph.training.neural import set_threads

__all__ = ["CheckpointError", "NeuralRun", "file_hash", "load_model", "read_checkpoint"]

_ARRAYS: dict[str, Arrays] = {}
"""The last prepared arrays, by data and the knobs that shape them (one entry)."""


def frozen_changes(old: Config, new: Config) -> list[str]:
    """Name the knobs that differ between two configurations and cannot change mid-run."""
    return [k for k in new if k not in LIVE and old.get(k) != new[k]]


def _arrays(config: Config, data: TaskData, with_test: bool) -> Arrays:
    shaping = {k: v for k, v in config.items() if k not in LIVE}
    key = f"{id(data)}:{with_test}:{config_key(shaping)}"
    if key not in _ARRAYS:
        _ARRAYS.clear()
        _ARRAYS[key] = prepare_arrays(config, data, with_test=with_test)
    return _ARRAYS[key]


class NeuralRun:
    """A net in training, continued one segment at a time, on one device."""

    def __init__(
        self, config: Config, arrays: Arrays, seed: int, placement: Placement | None = None
    ) -> None:
        if config["model"] not in NEURAL_MODELS:
            raise ConfigError(f"model {config['model']!r} has no epochs to continue")
        self.placement = placement or resolve_placement()
        torch.manual_seed(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.arrays = arrays
        self.X, self.y, self.X_val, self.y_val = (self.placement.put(t) for t in tensors(arrays))
        self.n_out = arrays.n_classes if arrays.classification else 1
        net = build_net(config, tuple(self.X.shape[1:]), self.n_out, live=True)
        self.model, (self.X, self.X_val) = lay_out(
            config, net.to(self.placement.device), [self.X, self.X_val]
        )
        self.optimizer = make_optimizer(config, self.model.parameters())
        self.scaler = self.placement.scaler()
        self.average = WeightAverage(self.model) if float(config.get("ema", 0)) > 0 else None
        self.config = dict(config)
        self.epoch = 0

    @property
    def scored(self) -> torch.nn.Module:
        """Return the net that is scored and kept: the averaged one under ``ema``."""
        return self.average.model if self.average is not None else self.model

    def _predict(self, X: torch.Tensor) -> torch.Tensor:
        flip = bool(self.config.get("test_time_flip"))
        return predict(self.scored, X, self.placement, flip)

    @classmethod
    def start(
        cls,
        config: Config,
        data: TaskData,
        seed: int,
        with_test: bool = False,
        placement: Placement | None = None,
    ) -> NeuralRun:
        """Begin a run of ``config`` on the task's training split (epoch 0), on ``placement``."""
        return cls(config, _arrays(config, data, with_test), seed, placement)

    def reconfigure(self, config: Config) -> None:
        """Take a new configuration for the next epochs; only live knobs may differ."""
        frozen = frozen_changes(self.config, config)
        if frozen:
            raise ConfigError(
                f"{', '.join(frozen)} cannot change in the middle of a training run: only the"
                f" live knobs can ({', '.join(sorted(LIVE))})"
            )
        if config["optimizer"] != self.config["optimizer"]:
            self.optimizer = make_optimizer(config, self.model.parameters())
        else:
            for group in self.optimizer.param_groups:
                group["lr"] = float(config["learning_rate"])
                group["weight_decay"] = float(config["weight_decay"])
                if "momentum" in group:
                    group["momentum"] = float(config["momentum"])
                if "nesterov" in group:
                    group["nesterov"] = bool(config.get("nesterov")) and group["momentum"] > 0
        set_dropout(self.model, float(config["dropout"]))
        if float(config.get("ema", 0)) <= 0:
            self.average = None
        elif self.average is None:
            self.average = WeightAverage(self.model)
        self.config = dict(config)

    def train(self, epochs: int, primary: str) -> dict[str, Any]:
        """Train the next ``epochs`` epochs; return their curves and the last validation metrics.

        Steps are the run's epoch numbers, so curves of successive segments join up.
        """
        config, arrays = self.config, self.arrays
        loss_fn = loss_function(config, arrays).to(self.placement.device)
        exploded = EXPLODED * max(
            constant_loss(loss_fn, self.y, arrays.classification, self.n_out), 1e-3
        )
        batches = Batches.of(config, len(self.X))
        # As a whole trial does: the same thread count in every process, so that a resumed
        # run repeats the float sums of an uninterrupted one.
        threads = set_threads(config, self.model, batches.size, available_threads())
        score = arrays.scorer(logits=True)
        curves: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
        if arrays.classification:
            curves["train_accuracy"] = []
        metrics: dict[str, float] = {}
        started = time.perf_counter()
        for _ in range(epochs):
            train_loss, accuracy = train_epoch(
                self.model,
                self.optimizer,
                loss_fn,
                self.X,
                self.y,
                batches,
                self.generator,
                arrays.classification,
                placement=self.placement,
                scaler=self.scaler,
                average=self.average,
            )
            self.epoch += 1
            out_val = self._predict(self.X_val)
            val_loss = float(loss_fn(out_val, self.y_val))
            check_losses(train_loss, val_loss, exploded, self.epoch)
            metrics = score(arrays.y_val, out_val.cpu().numpy())
            curves["train_loss"].append(train_loss)
            curves["val_loss"].append(val_loss)
            if arrays.classification:
                curves["train_accuracy"].append(accuracy)
            for name, value in metrics.items():
                curves.setdefault(f"val_{name}", []).append(value)
        seconds = time.perf_counter() - started
        outputs = None
        if epochs:  # the last epoch's validation outputs: a paired segment compares two runs'
            outputs = arrays.outputs(out_val.cpu().numpy(), logits=True).astype(np.float32)
        return {
            "validation": outputs,
            "curves": curves,
            "steps": list(range(self.epoch - epochs + 1, self.epoch + 1)),
            "metrics": metrics,
            "diagnostics": {
                "epochs_run": epochs,
                "end_epoch": self.epoch,
                "parameters": sum(p.numel() for p in self.model.parameters()),
                "seconds_per_epoch": seconds / max(epochs, 1),
                "threads": threads,
                **self.placement.tags(),
                "primary": primary,
            },
        }

    def test_metrics(self) -> dict[str, float]:
        """Score the net on the test split (the run must be started ``with_test``)."""
        arrays = self.arrays
        if arrays.X_test is None or arrays.y_test is None:
            raise RuntimeError("the run was started without the test split")
        out = self._predict(torch.from_numpy(arrays.X_test))
        return arrays.scorer(logits=True)(arrays.y_test, out.cpu().numpy())

    def val_metrics(self) -> dict[str, float]:
        """Score the net on the validation split."""
        out = self._predict(self.X_val).cpu().numpy()
        return self.arrays.scorer(logits=True)(self.arrays.y_val, out)

    def save(self, path: Path) -> dict[str, Any]:
        """Write the run to ``path`` (atomically); return its reference: path, hash, epoch."""
        state = {
            "format": FORMAT,
            "config": self.config,
            "epoch": self.epoch,
            "input_shape": list(self.X.shape[1:]),
            "n_out": self.n_out,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
        }
        if self.average is not None:
            state["average"] = self.average.state_dict()
        if self.placement.cuda:
            state["cuda_rng"] = torch.cuda.get_rng_state(self.placement.device)  # dropout's
            if self.scaler is not None:
                state["scaler"] = self.scaler.state_dict()
            state = on_cpu(state)  # loadable where there is no GPU
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
        return {"path": str(path), "sha256": file_hash(path), "epoch": self.epoch}

    @classmethod
    def load(
        cls,
        ref: dict[str, Any],
        data: TaskData,
        seed: int,
        with_test: bool = False,
        placement: Placement | None = None,
    ) -> NeuralRun:
        """Rebuild the run a checkpoint reference names, after checking the file's hash.

        The run continues on ``placement``, whichever device wrote the file.
        """
        state = read_checkpoint(ref)
        run = cls.start(state["config"], data, seed, with_test, placement)
        run.model.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])  # its moments follow the weights
        if run.average is not None and "average" in state:
            run.average.load_state_dict(state["average"])
        run.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if run.placement.cuda and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"], run.placement.device)
        if run.scaler is not None and "scaler" in state:
            run.scaler.load_state_dict(state["scaler"])
        run.epoch = int(state["epoch"])
        return run
