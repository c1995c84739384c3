"""Measure the checkpoint database's size as a long session grows: is it linear in trials?

    python -m bench.checkpoint_size --budget 2000 --marks 250,500,1000,2000

Runs one LGT session on iris (offline heuristic) and prints, when the session reaches
each mark, the size of its checkpoint file in MB and in KB per trial, and of its
write-ahead log (SQLite reuses the log; it does not grow with the session); a flat or
falling KB per trial means the file grows linearly (see docs/RELIABILITY.md).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from lgt_graph.context import Settings
from lgt_graph.session import run_session


def size(path: Path) -> float:
    """Return a file's size in MB (0 when it does not exist)."""
    return path.stat().st_size / 1e6 if path.exists() else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--marks", default="250,500,1000,2000")
    parser.add_argument("--task", default="iris")
    args = parser.parse_args()
    marks = sorted(int(m) for m in args.marks.split(","))
    folder = Path(tempfile.mkdtemp(prefix="lgt-bench-"))
    checkpoints = folder / "lgt_checkpoints.db"
    started = time.perf_counter()
    print("| trials | checkpoint file (MB) | KB per trial | write-ahead log (MB) | wall s |")
    print("|---|---|---|---|---|")

    def echo(line: str) -> None:
        if not line.startswith("trial "):
            return
        done = int(line.split()[1].split("/")[0])
        if done in marks:
            mb, wal = size(checkpoints), size(Path(f"{checkpoints}-wal"))
            print(
                f"| {done} | {mb:.2f} | {mb * 1000 / done:.1f} | {wal:.2f} |"
                f" {time.perf_counter() - started:.0f} |",
                flush=True,
            )

    settings = Settings.resolve(
        task=args.task,
        budget=args.budget,
        tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
    )
    run_session(settings, checkpoints=str(checkpoints), echo=echo)
    print(f"folder: {folder}")


if __name__ == "__main__":
    main()
