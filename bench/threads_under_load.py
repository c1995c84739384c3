"""A CNN trial's wall time on an idle machine and beside another busy job, by thread setting.

Each trial runs in a fresh process (so that OpenMP's settings apply from the start): the
default (no ``--threads``: the CPUs other jobs leave free, measured just before the trial),
one thread, and every CPU of the machine; on the busy machine also every CPU with
``OMP_WAIT_POLICY=PASSIVE``. The other job is a pure-Python loop that keeps one core busy
for the whole measurement. The figure that matters: under load the default is not slower
than one thread, and on an idle machine it is as fast as every CPU.
Run: python -m bench.threads_under_load
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from bench.common import save

SETTINGS = {
    "default": ({}, None),
    "1 thread": ({}, 1),
    "all CPUs": ({}, "all"),
    "all CPUs, OMP passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, "all"),
}


def child(threads: str, samples: int, epochs: int) -> None:
    """Train one CNN configuration and print its seconds and threads as JSON."""
    from lgt_graph.space import space_for
    from lgt_graph.tasks import TASKS, load_task_data
    from lgt_graph.training import available_threads, limit_threads, train

    data = load_task_data(TASKS["mnist"], seed=0, max_train_samples=samples)
    space = space_for("image")
    config = space.apply(
        space.default(),
        {"model": "cnn", "depth": 2, "channels": 16, "epochs": epochs, "batch_size": 64},
    )
    if threads == "all":
        limit_threads(len(os.sched_getaffinity(0)))
    elif threads != "default":
        limit_threads(int(threads))
    available = available_threads()
    started = time.perf_counter()
    result = train(config, data)
    seconds = time.perf_counter() - started
    used = result.diagnostics.get("threads")
    print(json.dumps({"seconds": seconds, "threads": used, "available": available}))


def measure(name: str, repeats: int, samples: int, epochs: int) -> list[dict]:
    env, threads = SETTINGS[name]
    out = []
    command = [
        sys.executable,
        "-m",
        "bench.threads_under_load",
        "--child",
        str(threads or "default"),
    ]
    command += ["--train-samples", str(samples), "--epochs", str(epochs)]
    for _ in range(repeats):
        run = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            check=True,
        )
        out.append(json.loads(run.stdout.strip().splitlines()[-1]))
    return out


def busy_loop() -> subprocess.Popen:
    """Start another job that keeps one core busy until stopped."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-samples", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.train_samples, args.epochs)
        return

    results: dict[str, dict[str, list[dict]]] = {"idle": {}, "busy": {}}
    for name in SETTINGS:
        results["idle"][name] = measure(name, args.repeats, args.train_samples, args.epochs)
    other = busy_loop()
    try:
        time.sleep(2.0)  # the load is there before the trial looks
        for name in SETTINGS:
            results["busy"][name] = measure(name, args.repeats, args.train_samples, args.epochs)
    finally:
        other.kill()
    medians = {
        load: {name: statistics.median(r["seconds"] for r in runs) for name, runs in rows.items()}
        for load, rows in results.items()
    }
    result = {
        "command": "python -m bench.threads_under_load "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "child"),
        "cpus": len(os.sched_getaffinity(0)),
        "runs": results,
        "median_seconds": medians,
        "busy_default_over_one_thread": medians["busy"]["default"] / medians["busy"]["1 thread"],
        "idle_default_over_all_cpus": medians["idle"]["default"] / medians["idle"]["all CPUs"],
    }
    path = save("threads_under_load", result)
    for load, rows in medians.items():
        for name, seconds in rows.items():
            used = sorted({r["threads"] for r in results[load][name]})
            print(f"{load:<5} {name:<22} {seconds:7.1f} s  threads {used}")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
