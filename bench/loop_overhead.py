"""Wall time of the LGT loop outside the train node, against the training time of its trials.

Outside the train node means the graph, the agents (the heuristic model through the
structured-output path), checkpointing, and MLflow logging, final flush included. Training
is each trial's own fit plus the final refit. Each session runs in its own process, as a
user runs one; torch and scikit-learn are imported before the session starts (a real
session pays that once, inside its first trial).
Run: python -m bench.loop_overhead
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.common import save


def measure(task: str, budget: int, max_train_samples: int | None) -> dict:
    from lgt_graph.context import Settings
    from lgt_graph.session import run_session

    folder = Path(tempfile.mkdtemp())
    settings = Settings.resolve(
        task=task,
        budget=budget,
        max_train_samples=max_train_samples,
        tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
    )
    outcome = run_session(settings, checkpoints=str(folder / "ck.db"), echo=lambda line: None)
    training = sum(t["result"]["wall_time"] for t in outcome.values["trials"])
    training += outcome.values["final"].get("wall_time", 0.0)
    loop = outcome.seconds["loop"] + outcome.seconds["finish"]
    outside = loop - training
    return {
        "task": task,
        "budget": budget,
        "max_train_samples": max_train_samples,
        "setup_seconds": outcome.seconds["setup"],
        "loop_seconds": loop,
        "training_seconds": training,
        "outside_train_seconds": outside,
        "outside_share": outside / training,
        "per_trial_outside_ms": 1000 * outside / budget,
    }


def in_fresh_process(task: str, budget: int, max_train_samples: int | None) -> dict:
    """Measure one session in its own Python process, as a user runs one."""
    import json
    import subprocess
    import sys

    args = [
        sys.executable,
        "-m",
        "bench.loop_overhead",
        "--one",
        task,
        str(budget),
        str(max_train_samples or 0),
    ]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iris-budget", type=int, default=20)
    parser.add_argument("--mnist-budget", type=int, default=6)
    parser.add_argument("--mnist-samples", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5, help="iris sessions (median kept)")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        import json

        import sklearn.ensemble  # noqa: F401 - see the module docstring
        import torch.optim  # noqa: F401

        task, budget, samples = args.one
        print(json.dumps(measure(task, int(budget), int(samples) or None)))
        return
    iris = sorted(
        (in_fresh_process("iris", args.iris_budget, None) for _ in range(args.repeats)),
        key=lambda row: row["outside_share"],
    )
    rows = [iris[len(iris) // 2], in_fresh_process("mnist", args.mnist_budget, args.mnist_samples)]
    rows[0]["shares_of_all_repeats"] = [row["outside_share"] for row in iris]
    result = {
        "command": f"python -m bench.loop_overhead --iris-budget {args.iris_budget}"
        f" --mnist-budget {args.mnist_budget} --mnist-samples {args.mnist_samples}"
        f" --repeats {args.repeats}",
        "sessions": rows,
    }
    path = save("loop_overhead", result)
    print("iris repeats: " + ", ".join(f"{x:.1%}" for x in rows[0]["shares_of_all_repeats"]))
    for row in rows:
        print(
            f"{row['task']}: {row['budget']} trials, training {row['training_seconds']:.1f}s,"
            f" outside the train node {row['outside_train_seconds']:.2f}s"
            f" ({row['outside_share']:.1%}, {row['per_trial_outside_ms']:.0f} ms a trial)"
        )
    print(f"-> {path}")


if __name__ == "__main__":
    main()
