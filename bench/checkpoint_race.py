"""Open one new checkpoint database from several processes at once; count the failures.

Each round starts ``--processes`` processes on a fresh folder, holds them at a barrier,
and lets them open ``ck.db`` (a :class:`~lgt_graph.session.store.SessionStore`, which
switches the file to WAL and creates its tables) at the same instant.
Run: python -m bench.checkpoint_race
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
from pathlib import Path

from bench.common import save


def _open(path: str, barrier: mp.synchronize.Barrier) -> None:
    from lgt_graph.session.store import SessionStore

    barrier.wait()
    SessionStore(Path(path)).close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--processes", type=int, default=6)
    args = parser.parse_args()
    failures = 0
    for _ in range(args.rounds):
        folder = tempfile.mkdtemp()
        barrier = mp.Barrier(args.processes)
        workers = [
            mp.Process(target=_open, args=(f"{folder}/ck.db", barrier))
            for _ in range(args.processes)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        failures += sum(worker.exitcode != 0 for worker in workers)
    opened = args.rounds * args.processes
    path = save(
        "checkpoint_race",
        {
            "command": f"python -m bench.checkpoint_race --rounds {args.rounds}"
            f" --processes {args.processes}",
            "openings": opened,
            "failures": failures,
        },
    )
    print(f"{failures} failures in {opened} openings -> {path}")


if __name__ == "__main__":
    main()
