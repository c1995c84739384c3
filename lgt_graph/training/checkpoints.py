"""A continued run's checkpoint file: its layout, its integrity, and loading its net.

:meth:`lgt_graph.training.segments.NeuralRun.save` writes the file (weights, optimiser,
random state, configuration; the weights' moving average when ``ema`` is on); a file
that is missing, altered since (its SHA-256) or of another layout is refused with
:class:`CheckpointError`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from lgt_graph.errors import UserError
from lgt_graph.space import Config
from lgt_graph.training.nets import build_net

FORMAT = 1
"""The layout of a checkpoint file; a file of another layout is refused."""


class CheckpointError(UserError):
    """A checkpoint file is missing, altered or of another layout."""


def file_hash(path: Path) -> str:
    """Return the SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    it expects inputs prepared as the configuration's feature knobs say. Under ``ema`` it
    holds the averaged weights, as the run scored; under ``test_time_flip`` average its
    outputs for each image and its mirror image, as the run did.
    """
    state = read_checkpoint({"path": str(path)})
    config = state["config"]
    model = build_net(config, tuple(state["input_shape"]), int(state["n_out"]), live=True)
    average = state.get("average")
    model.load_state_dict(average["model"] if average is not None else state["model"])
    model.eval()
    return model, config
