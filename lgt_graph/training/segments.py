"""One training run continued segment by segment: the trainer of the epoch-level loop.

A :class:`NeuralRun` is a net with its optimiser and random state. ``train`` runs the
next epochs under the configuration it was last given; ``save`` writes what a
continuation needs — the weights, the optimiser's state, the generator that orders
the batches and torch's global RNG (dropout), the epoch count and the configuration —
to one file, and :meth:`NeuralRun.load` rebuilds the run from it, bit for bit. Between
segments only live knobs may change (:data:`lgt_graph.space.families.LIVE`): a new
optimiser starts over the same weights; the same optimiser keeps its moments and
takes the new rate, momentum and decay. A run on a GPU also saves the GPU's RNG
(and, in float16, the gradient scaler); every tensor is saved on the CPU, so each
file loads on a machine without a GPU, onto whichever device the loading run uses.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lgt_graph.errors import ConfigError, UserError
from lgt_graph.space import Config, config_key
from lgt_graph.space.families import LIVE
from lgt_graph.tasks.base import TaskData
from lgt_graph.training import available_threads, prepare_arrays
from lgt_graph.training.arrays import Arrays
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
from lgt_graph.training.nets import build_net, set_dropout
from lgt_graph.training.neural import set_threads

FORMAT = 1
"""The layout of a checkpoint file; a file of another layout is refused."""
_ARRAYS: dict[str, Arrays] = {}
"""The last prepared arrays, by data and the knobs that shape them (one entry)."""


class CheckpointError(UserError):
    """A checkpoint file is missing, altered or of another layout."""


def file_hash(path: Path) -> str:
    """Return the SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
        if config["model"] not in ("mlp", "cnn"):
            raise ConfigError(f"model {config['model']!r} has no epochs to continue")
        self.placement = placement or resolve_placement()
        torch.manual_seed(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.arrays = arrays
        self.X, self.y, self.X_val, self.y_val = (self.placement.put(t) for t in tensors(arrays))
        self.n_out = arrays.n_classes if arrays.classification else 1
        net = build_net(config, tuple(self.X.shape[1:]), self.n_out, live=True)
        self.model = net.to(self.placement.device)
        self.optimizer = make_optimizer(config, self.model.parameters())
        self.scaler = self.placement.scaler()
        self.config = dict(config)
        self.epoch = 0

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
        set_dropout(self.model, float(config["dropout"]))
        self.config = dict(config)

    def train(self, epochs: int, primary: str) -> dict[str, Any]:
        """Train the next ``epochs`` epochs; return their curves and the last validation metrics.

        Steps are the run's epoch numbers, so curves of successive segments join up.
        """
        config, arrays = self.config, self.arrays
        loss_fn = loss_function(config, arrays).to(self.placement.device)
        n = len(self.X)
        batch_size = min(int(config["batch_size"]), n)
        exploded = EXPLODED * max(
            constant_loss(loss_fn, self.y, arrays.classification, self.n_out), 1e-3
        )
        batches = Batches(
            batch_size,
            bool(config["batch_norm"]) and n % batch_size == 1,
            str(config.get("augmentation", "none")),
            float(config["grad_clip"]),
        )
        # As a whole trial does: the same thread count in every process, so that a resumed
        # run repeats the float sums of an uninterrupted one.
        threads = set_threads(config, self.model, batch_size, available_threads())
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
            )
            self.epoch += 1
            out_val = predict(self.model, self.X_val, self.placement)
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
        out = predict(self.model, torch.from_numpy(arrays.X_test), self.placement)
        return arrays.scorer(logits=True)(arrays.y_test, out.cpu().numpy())

    def val_metrics(self) -> dict[str, float]:
        """Score the net on the validation split."""
        out = predict(self.model, self.X_val, self.placement).cpu().numpy()
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
        run.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if run.placement.cuda and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"], run.placement.device)
        if run.scaler is not None and "scaler" in state:
            run.scaler.load_state_dict(state["scaler"])
        run.epoch = int(state["epoch"])
        return run


def read_checkpoint(ref: dict[str, Any]) -> dict[str, Any]:
    """Read a checkpoint file, refusing one that is missing, altered or of another layout."""
    path = Path(ref["path"])
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is missing: the session cannot continue its run")
    if ref.get("sha256") and file_hash(path) != ref["sha256"]:
        raise CheckpointError(f"checkpoint {path} changed since it was written (hash mismatch)")
    # onto the CPU, as the file holds it: the loading run moves the tensors to its device
    state: dict[str, Any] = torch.load(path, weights_only=True, map_location="cpu")
    if state.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} has layout {state.get('format')}, not {FORMAT}")
    return state


def load_model(path: str | Path) -> tuple[torch.nn.Module, Config]:
    """Load a session's saved net (e.g. its best checkpoint) for inference: (model, config).

    The model is on the CPU, whichever device trained it (``model.to("cuda")`` moves it);
    it expects inputs prepared as the configuration's feature knobs say.
    """
    state = read_checkpoint({"path": str(path)})
    config = state["config"]
    model = build_net(config, tuple(state["input_shape"]), int(state["n_out"]), live=True)
    model.load_state_dict(state["model"])
    model.eval()
    return model, config
