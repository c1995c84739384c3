"""Random training-time transforms of an image batch: flip, crop after padding, cutout.

An epoch draws every random number its transforms need at once, from a CPU generator
(the same images on every device), and moves them to the device in one copy; each
batch then takes its slice, so no batch waits on a host-to-device copy, and the images
never leave the device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lgt_graph.space import Config


@dataclass(frozen=True)
class Draws:
    """One epoch's random numbers, one row per example in the epoch's order."""

    flip: torch.Tensor | None
    """Whether to mirror each example (bool)."""
    shift: torch.Tensor | None
    """Each example's crop offset (dy, dx), each in [-pad, pad]."""
    centre: torch.Tensor | None
    """Each example's cutout centre (row, column)."""

    def take(self, start: int, stop: int) -> Draws:
        """Return the draws of the examples at positions ``start:stop`` of the epoch."""
        return Draws(
            *(None if t is None else t[start:stop] for t in (self.flip, self.shift, self.centre))
        )


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

    def draw(
        self, n: int, shape: tuple[int, ...], generator: torch.Generator, device: torch.device
    ) -> Draws:
        """Draw an epoch's random numbers for ``n`` images of ``shape`` (C, H, W)."""
        h, w = shape[-2], shape[-1]
        pad = self.padding(h, w)
        flip = torch.rand(n, generator=generator) < 0.5 if self.flip else None
        shift = torch.randint(-pad, pad + 1, (n, 2), generator=generator) if pad else None
        centre = None
        if self.cutout:
            rows = torch.randint(0, h, (n, 1), generator=generator)
            centre = torch.cat([rows, torch.randint(0, w, (n, 1), generator=generator)], 1)
        return Draws(
            *(None if t is None else t.to(device, non_blocking=True) for t in (flip, shift, centre))
        )

    def padding(self, h: int, w: int) -> int:
        """Return the padding a crop uses: reflection needs one smaller than the image."""
        return min(self.pad, h - 1, w - 1)


def augment(x: torch.Tensor, spec: Augment, draws: Draws) -> torch.Tensor:
    """Return the batch ``x`` (N, C, H, W) transformed as ``spec`` says, by its ``draws``."""
    device = x.device
    n, _, h, w = x.shape
    if draws.flip is not None:
        x = torch.where(draws.flip[:, None, None, None], x.flip(3), x)
    if draws.shift is not None:
        pad = spec.padding(h, w)
        padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        rows = torch.arange(h, device=device)[None, :] + pad + draws.shift[:, :1]
        cols = torch.arange(w, device=device)[None, :] + pad + draws.shift[:, 1:]
        batch = torch.arange(n, device=device)[:, None, None]
        x = padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    if draws.centre is not None:
        top = (draws.centre[:, 0] - spec.cutout // 2)[:, None, None]
        left = (draws.centre[:, 1] - spec.cutout // 2)[:, None, None]
        rows = torch.arange(h, device=device)[None, :, None]
        cols = torch.arange(w, device=device)[None, None, :]
        inside = (rows >= top) & (rows < top + spec.cutout)
        inside = inside & (cols >= left) & (cols < left + spec.cutout)
        x = x.masked_fill(inside[:, None], 0.0)
    return x
