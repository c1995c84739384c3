"""Sessions back to back in one process (a comparison's shape): one MLflow writer, or one each.

Runs short iris sessions on one store, in one process, alternating two ways of writing
them: every session through the process's one writer (what sessions do), and every session
with a writer started for it (what they did before 625f7e8: MLflow's imports in a new
process each time). Prints the median wall time of a session each way.
Run: python -m bench.session_overhead [--sessions 8] [--budget 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import save
from lgt_graph.context import Settings
from lgt_graph.session import run_session
from lgt_graph.tracking import writer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--budget", type=int, default=2)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp())
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    settings = Settings.resolve(task="iris", budget=args.budget, tracking_uri=uri)
    checkpoints = str(folder / "lgt_checkpoints.db")
    run_session(settings, checkpoints=checkpoints, echo=lambda line: None)  # store, imports

    times: dict[str, list[float]] = {"shared writer": [], "a writer per session": []}
    for _ in range(args.sessions):
        for way, seconds in times.items():
            if way == "a writer per session":
                writer.shared_writer().close()  # the next tracker starts a new one
            started = time.perf_counter()
            run_session(settings, checkpoints=checkpoints, echo=lambda line: None)
            seconds.append(time.perf_counter() - started)

    result = {
        "command": f"python -m bench.session_overhead --sessions {args.sessions}"
        f" --budget {args.budget}",
        **{f"{way}: median session seconds": statistics.median(s) for way, s in times.items()},
        "ratio": statistics.median(times["a writer per session"])
        / statistics.median(times["shared writer"]),
    }
    path = save("session_overhead", result)
    for key, value in result.items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
