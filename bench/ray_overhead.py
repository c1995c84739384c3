"""The Ray executor's cost per trial: the same trials in this process and as Ray tasks.

Alternates a trial in this process (``LocalExecutor``) with the same trial as a Ray task
(``RayExecutor`` on a local instance, one CPU per trial), so both see the same load; the
overhead is the difference of the medians. Also times the local instance's start, which a
session pays once.
    LGT_DATA_DIR=../shared/data python -m bench.ray_overhead --trials 20
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.common import save
from lgt_graph.executors import LocalExecutor
from lgt_graph.space import space_for
from lgt_graph.tasks import TASKS, load_task_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="iris")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--model", default="linear", help="a quick model: the overhead shows")
    args = parser.parse_args()
    import ray

    from lgt_graph.executors.ray_tasks import RayExecutor
    from lgt_graph.training import limit_threads

    limit_threads(1)  # as the Ray task's one CPU
    data = load_task_data(TASKS[args.task], seed=0)
    config = space_for(data.task.family).default()
    config["model"] = args.model
    started = time.perf_counter()
    on_ray = RayExecutor(data, None, cpus=1, gpus=0, device="cpu")
    start_seconds = time.perf_counter() - started
    here = LocalExecutor(data, None)
    times: dict[str, list[float]] = {"local": [], "ray": []}
    kwargs = {"monitor": None, "primary": "accuracy", "seconds_left": None, "progress": None}
    first = time.perf_counter()
    on_ray.train(config, **kwargs)  # the worker's first task imports the package
    first_task = time.perf_counter() - first
    for _ in range(args.trials):
        for name, executor in (("local", here), ("ray", on_ray)):
            began = time.perf_counter()
            result = executor.train(config, **kwargs)
            times[name].append(time.perf_counter() - began)
            assert result.ok, result.reason
    on_ray.close()
    assert not ray.is_initialized()
    local, remote = statistics.median(times["local"]), statistics.median(times["ray"])
    result = {
        "command": f"python -m bench.ray_overhead --task {args.task} --trials {args.trials}"
        f" --model {args.model}",
        "ray": ray.__version__,
        "start_seconds": round(start_seconds, 2),
        "first_task_seconds": round(first_task, 2),
        "median_trial_seconds": {"local": round(local, 4), "ray": round(remote, 4)},
        "overhead_per_trial_seconds": round(remote - local, 4),
    }
    print(result)
    print(f"wrote {save('ray_overhead', result)}")


if __name__ == "__main__":
    main()
