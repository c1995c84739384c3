"""Our trainer against a minimal hand-written PyTorch loop: same CNN, MNIST data and epochs.

Both run in one process, alternating, with the same threads, data tensors, batch size,
optimiser and per-epoch validation pass; the figure is hand-loop time / trainer time
(throughput ratio, 1.0 = as fast as the hand loop). Run: python -m bench.trainer_throughput
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn

from bench.common import save
from lgt_graph.space import space_for
from lgt_graph.tasks import TASKS, load_task_data
from lgt_graph.training import available_threads, train


def hand_loop(X_train, y_train, X_val, y_val, epochs, batch_size, seed):
    """The loop a person writes by hand: normalise, shuffle, step, validate each epoch."""
    torch.manual_seed(seed)
    X = torch.from_numpy(X_train.astype(np.float32) / 255.0)
    y = torch.from_numpy(y_train)
    Xv = torch.from_numpy(X_val.astype(np.float32) / 255.0)
    yv = torch.from_numpy(y_val)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    accuracy = 0.0
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(X))
        for i in range(0, len(X), batch_size):
            idx = perm[i : i + batch_size]
            loss = loss_fn(model(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            out = model(Xv)
            loss_fn(out, yv).item()
            accuracy = (out.argmax(1) == yv).float().mean().item()
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-samples", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    data = load_task_data(TASKS["mnist"], seed=0, max_train_samples=args.train_samples)
    space = space_for("image")
    config = space.apply(
        space.default(),
        {
            "model": "cnn",
            "depth": 2,
            "channels": 16,
            "width": 128,
            "epochs": args.epochs,
            "batch_size": 64,
            "optimizer": "sgd",
            "learning_rate": 0.01,
            "momentum": 0.9,
        },
    )
    threads = available_threads()  # what the trainer gives a CNN
    torch.set_num_threads(threads)
    # Warm both paths up (allocator, kernels) on a sliver of the data.
    hand_loop(data.X_train[:256], data.y_train[:256], data.X_val[:256], data.y_val[:256], 1, 64, 0)
    train({**config, "epochs": 1}, load_task_data(TASKS["digits"], seed=0))

    ours, hand, acc_ours, acc_hand = [], [], [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        result = train(config, data)
        ours.append(time.perf_counter() - started)
        acc_ours.append(result.metrics["accuracy"])
        started = time.perf_counter()
        acc_hand.append(
            hand_loop(data.X_train, data.y_train, data.X_val, data.y_val, args.epochs, 64, 0)
        )
        hand.append(time.perf_counter() - started)
    ratio = statistics.median(hand) / statistics.median(ours)
    result = {
        "command": "python -m bench.trainer_throughput "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "train_examples": len(data.y_train),
        "val_examples": len(data.y_val),
        "epochs": args.epochs,
        "torch_threads": threads,
        "trainer_seconds": ours,
        "hand_loop_seconds": hand,
        "trainer_val_accuracy": acc_ours,
        "hand_loop_val_accuracy": acc_hand,
        "throughput_ratio": ratio,
    }
    path = save("trainer_throughput", result)
    print(
        f"trainer median {statistics.median(ours):.2f}s, hand loop median "
        f"{statistics.median(hand):.2f}s, throughput ratio {ratio:.3f} -> {path}"
    )


if __name__ == "__main__":
    main()
