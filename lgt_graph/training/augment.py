"""Random training-time transforms of an image batch: flip, crop after padding, cutout.

Every draw comes from a CPU generator (the same images on every device) and moves to
the batch's device; the batch itself never leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lgt_graph.space import Config


@dataclass(frozen=True)
class Augment:
    """What an epoch does to each training batch of images."""

    flip: bool = False
    """Mirror each image left-right with probability 1/2."""
    pad: int = 0
    """Pad by this many pixels (reflected) and crop back at a random offset; 0: no crop."""
    cutout: int = 0
    """Zero a square of this side at a random centre (it may overhang the edge); 0: none."""

    @classmethod
    def of(cls, config: Config) -> Augment:
        """Read the configuration's augmentation knobs (absent ones are off)."""
        kind = str(config.get("augmentation", "none"))
        shift = kind in ("shift", "flip_shift")
        return cls(
            flip=kind in ("flip", "flip_shift"),
            pad=int(config.get("crop_padding", 2)) if shift else 0,
            cutout=int(config.get("cutout", 0)),
        )

    def __bool__(self) -> bool:
        return self.flip or self.pad > 0 or self.cutout > 0


def augment(x: torch.Tensor, spec: Augment, generator: torch.Generator) -> torch.Tensor:
    """Return the batch ``x`` (N, C, H, W) transformed as ``spec`` says, with fresh draws."""
    device = x.device
    n, _, h, w = x.shape
    if spec.flip:
        flip = (torch.rand(n, generator=generator) < 0.5).to(device)
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    pad = min(spec.pad, h - 1, w - 1)  # reflection needs a pad smaller than the image
    if pad > 0:
        padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        dy = torch.randint(-pad, pad + 1, (n, 1), generator=generator).to(device)
        dx = torch.randint(-pad, pad + 1, (n, 1), generator=generator).to(device)
        rows = torch.arange(h, device=device)[None, :] + pad + dy
        cols = torch.arange(w, device=device)[None, :] + pad + dx
        batch = torch.arange(n, device=device)[:, None, None]
        x = padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    if spec.cutout > 0:
        side = spec.cutout
        top = (torch.randint(0, h, (n, 1, 1), generator=generator) - side // 2).to(device)
        left = (torch.randint(0, w, (n, 1, 1), generator=generator) - side // 2).to(device)
        rows = torch.arange(h, device=device)[None, :, None]
        cols = torch.arange(w, device=device)[None, None, :]
        inside = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
        x = x.masked_fill(inside[:, None], 0.0)
    return x
