"""Wall time of one budget with 1 and with 2 workers (``--workers``), in one run, on Ray.

Each method runs twice on one local Ray instance (started once, before the clock runs):
``--workers 1`` (one trial at a time, as Ray tasks) and ``--workers 2`` (rounds of two
side by side). The wall time is the graph's loop, from the first trial to the final
refit; the training seconds are the trials' own wall times summed, so that a run whose
trials happened to be longer or shorter shows it; the longest trial of each train step,
summed, is what the rounds cost at least (a round waits for its slowest trial). The grid
trains the same configurations in both runs (its order is fixed by the seed), so its ratio
is the executor's alone; LGT's rounds change what it tries, and its ratio says what a user
of ``--workers`` sees.

    LGT_DATA_DIR=../shared/data python -m bench.ray_workers --task wine --budget 13
"""

from __future__ import annotations

import argparse
import os
import statistics
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
    steps: dict[int, float] = {}  # a train step (a round, or one trial) lasts its longest trial
    for trial in values["trials"]:
        step = trial.get("round", trial["index"])
        steps[step] = max(steps.get(step, 0.0), history.trial_seconds(trial))
    return {
        "loop_seconds": round(outcome.seconds["loop"], 2),
        "session_seconds": round(time.perf_counter() - began, 2),
        "trials": len(values["trials"]),
        "training_seconds": round(history.seconds_used(values), 2),
        "longest_trial_per_step_seconds": round(sum(steps.values()), 2),
        "best_validation": (history.best_trial(values, outcome.ctx.maximize) or {}).get("score"),
    }


def executor_alone(task: str, repeats: int) -> dict[str, float]:
    """Time two equal trials on the executor: one after the other, then as one round of two.

    The trials are the same net (the task's default configuration), so neither waits for a
    longer one: this is what the executor gains when a round's trials are alike.
    """
    from lgt_graph.executors.ray_tasks import RayExecutor
    from lgt_graph.space import space_for
    from lgt_graph.tasks import TASKS, load_task_data

    data = load_task_data(TASKS[task], seed=0)
    config = space_for(data.task.family).default()
    executor = RayExecutor(data, None, cpus=1, gpus=0, device="cpu")
    primary = data.task.primary
    executor.train_round([config, config], primary=primary, seconds_left=None)  # warm workers
    one_by_one, side_by_side = [], []
    for _ in range(repeats):
        began = time.perf_counter()
        for _ in range(2):
            executor.train_round([config], primary=primary, seconds_left=None)
        one_by_one.append(time.perf_counter() - began)
        began = time.perf_counter()
        executor.train_round([config, config], primary=primary, seconds_left=None)
        side_by_side.append(time.perf_counter() - began)
    executor.close()
    first, second = statistics.median(one_by_one), statistics.median(side_by_side)
    return {
        "one_by_one_seconds": round(first, 2),
        "side_by_side_seconds": round(second, 2),
        "ratio": round(first / second, 2),
    }


def epoch_loop(
    task: str, epochs: int, samples: int | None, model: str | None, folder: Path
) -> dict[str, float]:
    """Run one epoch-level session in this process, then the same one with its branches on Ray."""
    out: dict[str, float] = {}
    for executor in ("local", "ray"):
        settings = Settings.resolve(
            task=task,
            loop="epoch",
            budget=epochs,
            max_train_samples=samples,
            start={"model": model} if model else None,
            threads=1,
            executor=executor,
            tracking_uri=f"sqlite:///{folder / f'epoch-{executor}'}.db",
        )
        checkpoints = str(folder / f"epoch-{executor}-c.db")
        outcome = run_session(settings, checkpoints=checkpoints, echo=lambda _: None)
        out[f"{executor}_loop_seconds"] = round(outcome.seconds["loop"], 2)
        out[f"{executor}_paired_segments"] = sum(
            1 for t in outcome.values["trials"] if t["segment"]["paired"]
        )
    out["ratio"] = round(out["local_loop_seconds"] / out["ray_loop_seconds"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="wine")
    parser.add_argument("--budget", type=int, default=13)
    parser.add_argument("--methods", default="grid,lgt")
    parser.add_argument("--repeats", type=int, default=5, help="of the executor-alone timing")
    parser.add_argument(
        "--epochs", type=int, default=0, help="also an epoch-level session of this many epochs"
    )
    parser.add_argument("--epoch-task", help="its task (default: --task)")
    parser.add_argument("--epoch-samples", type=int, help="its training examples (default: all)")
    parser.add_argument("--epoch-model", help="the net it trains (default: the task's default)")
    args = parser.parse_args()
    import ray

    folder = Path(tempfile.mkdtemp(prefix="ray-workers-"))
    rows: dict[str, dict[str, dict[str, float]]] = {}
    with shared_instance("ray", None):
        alone = executor_alone(args.task, args.repeats)
        print("executor alone, two equal trials:", alone, flush=True)
        epoch_task = args.epoch_task or args.task
        epochs = None
        if args.epochs:
            epochs = epoch_loop(
                epoch_task, args.epochs, args.epoch_samples, args.epoch_model, folder
            )
        print("epoch-level loop, in this process and on Ray:", epochs, flush=True)
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
        f" --methods {args.methods} --repeats {args.repeats} --epochs {args.epochs}"
        f" --epoch-task {args.epoch_task or args.task} --epoch-samples {args.epoch_samples}"
        f" --epoch-model {args.epoch_model}",
        "ray": ray.__version__,
        "ray_cpus": cpus,
        "cpu_count": os.cpu_count(),
        "executor_alone_two_equal_trials": alone,
        "epoch_loop": epochs,
        "methods": rows,
    }
    print(result)
    print(f"wrote {save('ray_workers', result)}")


if __name__ == "__main__":
    main()
