"""MLflow logging cost on iris trials, as a share of the trial's wall time.

Measured in one process on a fresh SQLite store: each trial's synchronous write, as a
share of train + write; then sequences of trials written by the background writer
process (what tuning sessions use), both what each trial waits for and the whole
sequence with its final flush against the same sequence unlogged.
Run: python -m bench.mlflow_overhead
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import save
from lgt_graph.space import space_for
from lgt_graph.tasks import TASKS, load_task_data
from lgt_graph.tracking import Tracker
from lgt_graph.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    data = load_task_data(TASKS["iris"], seed=0)
    space = space_for("tabular_classification")
    config = space.default()
    tags = {"task": "iris", "family": "tabular_classification", "seed": "0"}
    store = Path(tempfile.mkdtemp()) / "mlflow.db"
    uri = f"sqlite:///{store}"
    sync = Tracker(uri, "bench-sync")
    background = Tracker(uri, "bench-background", background=True)
    train(config, data)  # warm-up: imports, first allocations
    sync.log_trial(train(config, data), tags).result()

    shares_sync, logs_sync, alone = [], [], []
    for _ in range(args.trials):
        result = train(config, data)
        alone.append(result.wall_time)
        t0 = time.perf_counter()
        sync.log_trial(result, tags).result()
        logs_sync.append(time.perf_counter() - t0)
        shares_sync.append(logs_sync[-1] / (result.wall_time + logs_sync[-1]))

    # Whole sequences, alternating so that the machine's noise hits both alike.
    waits, shares_wait, plain, logged = [], [], [], []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for _ in range(args.trials):
            train(config, data)
        plain.append(time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(args.trials):
            result = train(config, data)
            t0 = time.perf_counter()
            background.log_trial(result, tags)
            waits.append(time.perf_counter() - t0)
            shares_wait.append(waits[-1] / (result.wall_time + waits[-1]))
        background.flush()
        logged.append(time.perf_counter() - started)
    background.close()

    result = {
        "command": f"python -m bench.mlflow_overhead --trials {args.trials} --rounds {args.rounds}",
        "trials": args.trials,
        "rounds": args.rounds,
        "train_seconds_median": statistics.median(alone),
        "sync_log_seconds_median": statistics.median(logs_sync),
        "sync_share_median": statistics.median(shares_sync),
        "background_wait_seconds_median": statistics.median(waits),
        "background_share_median": statistics.median(shares_wait),
        "sequence_seconds_without_logging": plain,
        "sequence_seconds_with_background_logging": logged,
        "sequence_overhead": sum(logged) / sum(plain) - 1.0,
    }
    path = save("mlflow_overhead", result)
    for key, value in result.items():
        print(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
