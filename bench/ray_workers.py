"""Wall time of one budget with 1 and with 2 workers (``--workers``), in one run, on Ray.

Each method runs twice on one local Ray instance (started once, before the clock runs):
``--workers 1`` (one trial at a time, as Ray tasks) and ``--workers 2`` (rounds of two
side by side). The wall time is the graph's loop, from the first trial to the final
choice; the training seconds are the trials' own wall times summed, so that a run whose
trials happened to be longer or shorter shows it. The grid trains the same configurations
in both runs (its order is fixed by the seed), so its ratio is the executor's alone; LGT's
rounds change what it tries, and its ratio says what a user of ``--workers`` sees.

    LGT_DATA_DIR=../shared/data python -m bench.ray_workers --task wine --budget 13
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.common import save
from lgt_graph import history
from lgt_graph.context import Settings
from lgt_graph.executors.ray_tasks import shared_instance
from lgt_graph.session import run_session


def one(task: str, method: str, budget: int, workers: int, folder: Path) -> dict[str, float]:
    """Run one session; return its loop's wall time, trials, and training seconds."""
    name = f"{method}-w{workers}"
    settings = Settings.resolve(
        task=task,
        method=method,
        budget=budget,
        threads=1,
        executor="ray",
        workers=workers,
        tracking_uri=f"sqlite:///{folder / name}.db",
    )
    began = time.perf_counter()
    outcome = run_session(settings, checkpoints=str(folder / f"{name}-c.db"), echo=lambda _: None)
    values = outcome.values
    return {
        "loop_seconds": round(outcome.seconds["loop"], 2),
        "session_seconds": round(time.perf_counter() - began, 2),
        "trials": len(values["trials"]),
        "training_seconds": round(history.seconds_used(values), 2),
        "best_validation": (history.best_trial(values, outcome.ctx.maximize) or {}).get("score"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="wine")
    parser.add_argument("--budget", type=int, default=13)
    parser.add_argument("--methods", default="grid,lgt")
    args = parser.parse_args()
    import ray

    folder = Path(tempfile.mkdtemp(prefix="ray-workers-"))
    rows: dict[str, dict[str, dict[str, float]]] = {}
    with shared_instance("ray", None):
        for method in args.methods.split(","):
            rows[method] = {f"w{n}": one(args.task, method, args.budget, n, folder) for n in (1, 2)}
            one_w, two_w = rows[method]["w1"], rows[method]["w2"]
            rows[method]["wall_ratio_1_over_2"] = round(  # type: ignore[assignment]
                one_w["loop_seconds"] / two_w["loop_seconds"], 2
            )
            print(method, rows[method], flush=True)
        cpus = ray.cluster_resources().get("CPU")
    result = {
        "command": f"python -m bench.ray_workers --task {args.task} --budget {args.budget}"
        f" --methods {args.methods}",
        "ray": ray.__version__,
        "ray_cpus": cpus,
        "cpu_count": os.cpu_count(),
        "methods": rows,
    }
    print(result)
    print(f"wrote {save('ray_workers', result)}")


if __name__ == "__main__":
    main()
