"""Where a net trains: ``--device`` (auto, cpu, cuda) and ``--amp``, resolved once per session.

A net on CUDA gets its splits copied to the device once, from pinned host memory and
without blocking; batches are sliced there, and only the validation outputs come back
to the CPU, where the metrics are computed as on a CPU run. The generator that shuffles
the batches stays on the CPU, so a run visits its batches in the same order on either
device. Mixed precision autocasts the forward pass to bfloat16 where the device has it
(every CPU, CUDA GPUs from Ampere on), else to float16 with a gradient scaler.
Scikit-learn models (linear, gbm, random_forest) always fit on the CPU.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import torch

from lgt_graph.context import DEVICES
from lgt_graph.errors import UserError

__all__ = ["CPU", "Placement", "on_cpu", "resolve_placement", "warm_up"]


@dataclass(frozen=True)
class Placement:
    """The device a net trains on, and the precision of its forward pass."""

    device: str = "cpu"
    """torch's name of the device: ``cpu`` or ``cuda:N``."""
    amp: str | None = None
    """The autocast dtype under ``--amp`` (``bfloat16`` or ``float16``); None: float32."""
    name: str = "cpu"
    """The device as a person reads it: ``cpu``, ``cuda:0 (NVIDIA H200)``."""

    @property
    def cuda(self) -> bool:
        """Say whether the device is a CUDA GPU."""
        return self.device.startswith("cuda")

    def put(self, tensor: torch.Tensor) -> torch.Tensor:
        """Return ``tensor`` on the device: on CUDA, copied from pinned memory without blocking."""
        if not self.cuda or tensor.device.type == "cuda":
            return tensor
        return tensor.pin_memory().to(self.device, non_blocking=True)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """Return the context of a forward pass: autocast under ``--amp``, else nothing."""
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.split(":")[0], dtype=getattr(torch, self.amp))

    def scaler(self) -> torch.amp.GradScaler | None:
        """Return a gradient scaler when the forward pass is float16, else None.

        float16 gradients underflow without one; bfloat16 has float32's range.
        """
        return torch.amp.GradScaler("cuda") if self.amp == "float16" else None

    def tags(self) -> dict[str, str]:
        """Return what a run records about where it trained: the device and the precision."""
        return {"device": self.name, "amp": self.amp or "off"}


CPU = Placement()
"""A net on the CPU, in float32."""


def resolve_placement(device: str = "auto", amp: bool = False) -> Placement:
    """Resolve ``--device`` and ``--amp`` to a placement; a CUDA device torch cannot see is refused.

    auto is the first CUDA device when torch sees one, else the CPU.
    """
    if device not in DEVICES:
        raise UserError(f"--device must be one of {', '.join(DEVICES)}, got {device!r}")
    found = torch.cuda.is_available()
    if device == "cuda" and not found:
        build = (
            "a CPU-only build"
            if torch.version.cuda is None
            else f"built for CUDA {torch.version.cuda}"
        )
        raise UserError(
            f"--device cuda: torch {torch.__version__} ({build}) sees no CUDA device; use"
            " --device cpu (or auto), or install the torch build for your CUDA version"
        )
    if device == "cpu" or not found:
        return Placement("cpu", "bfloat16" if amp else None, "cpu")
    index = torch.cuda.current_device()
    half = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    name = f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return Placement(f"cuda:{index}", half if amp else None, name)


def on_cpu(value: Any) -> Any:
    """Return ``value`` with every tensor in it (in dicts, lists, tuples) copied to the CPU.

    What is saved must load on a machine without a GPU.
    """
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: on_cpu(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(on_cpu(v) for v in value)
    return value


def warm_up() -> None:
    """Build a throwaway optimizer, once per process, before any trial is timed.

    The first optimizer a process builds makes torch import its compiler (``torch._dynamo``,
    about 3 s on this project's CPU machine); without this, the session's first net trial
    would be charged those seconds against ``--budget-seconds``.
    """
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
