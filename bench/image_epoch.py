"""What one epoch of an image net costs: the space's CNN and ResNet shapes on CIFAR-10.

Each configuration trains as a session's run does (``NeuralRun``: data placed on the
device once, channels-last convolutions, the epoch's random draws in one copy) for
``--batches`` batches of 256 after a warm-up pass over the same batches; the figure is the
time per batch times the batches of an epoch of the 45,000 training images, plus one
validation pass (timed), so a slow net is measured without training it for minutes. Each
plain net is also timed in PyTorch's default layout, to show what channels-last buys.
``--device cuda --amp`` on a GPU.

    python -m bench.image_epoch [--device auto] [--amp] [--batches 8] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace
from pathlib import Path

import torch

from bench.common import machine
from lgt_graph.space import space_for
from lgt_graph.tasks import TASKS, load_task_data
from lgt_graph.training.device import resolve_placement
from lgt_graph.training.epochs import Batches, loss_function, train_epoch
from lgt_graph.training.segments import NeuralRun

RECIPE = {"batch_norm": True, "momentum": 0.9, "nesterov": True, "batch_size": 256}
SHAPES = {
    "cnn, 3 blocks of 1 conv, 16 channels (the old CNN)": {"model": "cnn", "depth": 3},
    "cnn, 3 blocks of 2 convs, 32 channels": {
        "model": "cnn", "depth": 3, "convs_per_block": 2, "channels": 32,
    },
    "cnn, 3 blocks of 2 convs, 64 channels": {
        "model": "cnn", "depth": 3, "convs_per_block": 2, "channels": 64,
    },
    "resnet, 4 stages of 1 block, 16 channels": {"model": "resnet", "stages": 4},
    "ResNet-18: 4 stages of 2 blocks, 64 channels": {
        "model": "resnet", "stages": 4, "depth": 2, "channels": 64,
    },
}  # fmt: skip
AUGMENTED = {"augmentation": "flip_shift", "cutout": 8, "ema": 0.99, "test_time_flip": True}


def epoch_seconds(
    config: dict, data, placement, batches: int, channels_last: bool = True
) -> dict[str, float]:
    """Time ``batches`` training batches and one validation pass; extrapolate to an epoch.

    The batches are the run's own epoch loop (:func:`~lgt_graph.training.epochs.train_epoch`)
    over the first ``batches`` batches of the split; a first pass over them warms up.
    ``channels_last=False`` lays the net and the images out as PyTorch does by default.
    """
    run = NeuralRun.start(config, data, 0, placement=placement)
    if not channels_last:
        run.model = run.model.to(memory_format=torch.contiguous_format)
        run.X, run.X_val = run.X.contiguous(), run.X_val.contiguous()
    n, size = len(run.X), int(config["batch_size"])
    X, y = run.X[: size * batches], run.y[: size * batches]
    loss = loss_function(config, run.arrays).to(placement.device)
    plan = replace(Batches.of(config, n), channels_last=channels_last)

    def epoch() -> float:
        started = time.perf_counter()
        train_epoch(
            run.model, run.optimizer, loss, X, y, plan, run.generator, True,
            placement=placement, scaler=run.scaler, average=run.average,
        )  # fmt: skip
        if placement.cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - started

    epoch()
    per_batch = epoch() / batches
    started = time.perf_counter()
    run.val_metrics()  # its outputs come back to the CPU: the device has finished
    validation = time.perf_counter() - started
    return {
        "batch_seconds": per_batch,
        "epoch_seconds": per_batch * math.ceil(n / size) + validation,
        "validation_seconds": validation,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    placement = resolve_placement(args.device, args.amp)
    data = load_task_data(TASKS["cifar10"], seed=0)
    space = space_for("image")
    rows = []
    for name, shape in SHAPES.items():
        for extras, layout in (({}, False), ({}, True), (AUGMENTED, True)):
            config = space.apply(space.default(), {**RECIPE, **shape, **extras})
            timing = epoch_seconds(config, data, placement, args.batches, layout)
            label = name + (", + flip/crop/cutout/EMA/TTA" if extras else "")
            label += "" if layout else ", PyTorch's default layout (not channels-last)"
            rows.append({"net": label, **timing})
            print(f"{label}: {timing['epoch_seconds']:.1f} s an epoch", flush=True)
    result = {
        "machine": machine(),
        "device": placement.name,
        "amp": placement.amp or "off",
        "threads": torch.get_num_threads(),
        "batches": args.batches,
        "rows": rows,
    }
    print("\n| net | s / epoch (45,000 images + validation) | s / batch of 256 |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {row['net']} | {row['epoch_seconds']:.1f} | {row['batch_seconds']:.3f} |")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
