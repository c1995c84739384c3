"""Check GPU training on a machine with CUDA: a small CNN on MNIST, on the CPU and on the GPU.

    python -m bench.gpu_check                     # 10k MNIST examples, 3 epochs
    python -m bench.gpu_check --train-samples 60000 --epochs 5 --skip-cpu

Trains the same configuration through the training API on ``--device cpu``, ``cuda``
and ``cuda --amp`` and prints seconds per epoch and validation and test accuracy of
each, with the speed-up over the CPU. Then checks what a session relies on: an
epoch-level checkpoint written on the GPU loads on the CPU (``load_model``) and
predicts as the GPU did, and a run resumed from it on the GPU repeats the
uninterrupted one. Exits 1 when a GPU run's test accuracy is more than
``--tolerance`` from the CPU's, or a check fails; 2 when torch sees no CUDA device.
Not part of the test suite (it needs a GPU and MNIST: ``python -m lgt_graph download
mnist``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from bench.common import save
from lgt_graph.errors import UserError
from lgt_graph.space import space_for
from lgt_graph.tasks import TASKS, load_task_data
from lgt_graph.training import available_threads, limit_threads, train
from lgt_graph.training.device import Placement, resolve_placement
from lgt_graph.training.epochs import predict
from lgt_graph.training.segments import NeuralRun, load_model


def trial(config: dict[str, Any], data: Any, placement: Placement) -> dict[str, Any]:
    """Train ``config`` on ``placement`` and score it on validation and test."""
    started = time.perf_counter()
    with data.open_test():
        result = train(config, data, score_test=True, placement=placement)
    if not result.ok:
        raise SystemExit(f"{placement.name}: the trial failed: {result.reason}")
    return {
        "device": placement.name,
        "amp": placement.amp or "off",
        "seconds_per_epoch": result.diagnostics["seconds_per_epoch"],
        "wall_seconds": time.perf_counter() - started,
        "val_accuracy": result.metrics["accuracy"],
        "test_accuracy": result.test_metrics["accuracy"],
    }


def checkpoint_checks(config: dict[str, Any], data: Any, gpu: Placement) -> dict[str, bool]:
    """Check that a GPU run's checkpoint loads on the CPU and resumes on the GPU as it ran."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "segment.pt"
        run = NeuralRun.start(config, data, 0, placement=gpu)
        run.train(1, "accuracy")
        ref = run.save(path)
        gpu_out = predict(run.model, run.X_val, gpu).cpu()
        model, _ = load_model(path)  # read onto the CPU, as a machine without a GPU would
        cpu_out = predict(model, torch.from_numpy(run.arrays.X_val))
        on_cpu = all(p.device.type == "cpu" for p in model.parameters())
        same_predictions = bool((gpu_out.argmax(1) == cpu_out.argmax(1)).float().mean() > 0.99)
        straight = run.train(1, "accuracy")["curves"]
        resumed = NeuralRun.load(ref, data, 0, placement=gpu).train(1, "accuracy")["curves"]
    return {
        "checkpoint_loads_on_cpu": on_cpu,
        "cpu_predicts_as_gpu": same_predictions,
        # cuDNN may pick non-deterministic kernels: reported, not required
        "resume_bit_identical": resumed == straight,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-samples", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--skip-cpu", action="store_true", help="GPU runs only (no baseline)")
    parser.add_argument("--tolerance", type=float, default=0.02, help="test accuracy vs the CPU")
    args = parser.parse_args()
    try:
        gpu = resolve_placement("cuda")
    except UserError as exc:
        print(f"gpu_check: {exc}", file=sys.stderr)
        return 2
    limit_threads(available_threads())  # not the load's: a resumed CPU part repeats its sums
    data = load_task_data(TASKS["mnist"], seed=0, max_train_samples=args.train_samples)
    space = space_for("image")
    config = space.apply(
        space.default(),
        {
            "model": "cnn",
            "depth": 2,
            "channels": 16,
            "width": 128,
            "batch_norm": True,
            "epochs": args.epochs,
            "batch_size": 128,
            "optimizer": "adam",
            "learning_rate": 0.002,
        },
    )
    # CUDA's context and kernels load on first use: not an epoch's cost
    train({**config, "epochs": 1}, load_task_data(TASKS["digits"], seed=0), placement=gpu)
    placements = [gpu, resolve_placement("cuda", amp=True)]
    if not args.skip_cpu:
        placements.insert(0, resolve_placement("cpu"))
    rows = [trial(config, data, p) for p in placements]
    checks = checkpoint_checks({**config, "epochs": 2}, data, gpu)

    base = rows[0] if not args.skip_cpu else None
    print(f"MNIST, {len(data.y_train)} training examples, {args.epochs} epochs, {gpu.name}")
    header = ("device", "amp", "s/epoch", "speed-up", "val acc", "test acc")
    print("{:<34} {:<9} {:>8} {:>9} {:>8} {:>9}".format(*header))
    failed = False
    for row in rows:
        speed = f"{base['seconds_per_epoch'] / row['seconds_per_epoch']:.1f}x" if base else "-"
        print(
            f"{row['device']:<34} {row['amp']:<9} {row['seconds_per_epoch']:>8.2f} {speed:>9}"
            f" {row['val_accuracy']:>8.4f} {row['test_accuracy']:>9.4f}"
        )
        if base and abs(row["test_accuracy"] - base["test_accuracy"]) > args.tolerance:
            failed = True
    for name, ok in checks.items():
        print(f"{name}: {'yes' if ok else 'NO'}")
    failed = failed or not (checks["checkpoint_loads_on_cpu"] and checks["cpu_predicts_as_gpu"])
    path = save("gpu_check", {"command": " ".join(sys.argv), "runs": rows, "checks": checks})
    print(f"{'FAILED' if failed else 'ok'} -> {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
