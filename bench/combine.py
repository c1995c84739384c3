"""Combine comparisons run one task at a time into one: the summary over tasks, one figure.

Each ``compare --out DIR`` keeps its sessions in ``DIR/sessions.jsonl``; this reads
several such folders and writes them as one comparison — results.md with the average
rank of every method over the tasks, LGT's wins, ties and losses against each baseline
and each task's table with its paired interval; results.csv; the curves and anytime
figures with a panel per task — without running anything again.
Run: python -m bench.combine --out DIR FOLDER [FOLDER ...] [--note "Equal compute ..."]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lgt_graph.compare.render import write_outputs
from lgt_graph.compare.rows import Row
from lgt_graph.compare.run import PLAN, ROWS


def comparisons(folders: list[Path]) -> list[Path]:
    """Return the compare --out folders the given folders stand for, in order.

    A ``bench.equal_compute --out`` folder stands for its ``part-*`` comparisons (one a
    method). Anything else that holds no sessions is an error that names what it holds.
    """
    found: list[Path] = []
    for folder in folders:
        if (folder / ROWS).is_file():
            found.append(folder)
            continue
        parts = sorted(p for p in folder.glob("part-*") if (p / ROWS).is_file())
        if not parts:
            what = "does not exist" if not folder.exists() else f"holds no {ROWS}"
            raise SystemExit(
                f"{folder} {what}: give compare --out folders, or a bench.equal_compute "
                "--out folder (its part-* folders are read)"
            )
        found.extend(parts)
    return found


def load(folders: list[Path]) -> tuple[list[Row], list[int]]:
    """Return every session of the folders, and every seed any of them planned, in order.

    Folders may hold different seeds of one comparison (seeds 0-9 run one day, 10-19
    the next): the sessions pair up by seed, and the seeds listed are all of them. An
    equal-compute folder counts as its parts (:func:`comparisons`).
    """
    rows: list[Row] = []
    seeds: set[int] = set()
    for folder in comparisons([Path(f) for f in folders]):
        for line in (folder / ROWS).read_text().splitlines():
            if line.strip():
                rows.append(Row(**json.loads(line)))
        seeds.update(json.loads((folder / PLAN).read_text())["seeds"])
    return rows, sorted(seeds)


def main() -> None:
    """Write the combined outputs into ``--out`` and print results.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="compare --out folders")
    parser.add_argument("--out", type=Path, required=True, help="where results.md goes")
    parser.add_argument("--note", help="what the budget held equal (results.md's first line)")
    args = parser.parse_args()
    rows, seeds = load(args.folders)
    args.out.mkdir(parents=True, exist_ok=True)
    note = args.note or "Budgets as each task's command"
    write_outputs(rows, args.out, None, seeds, budget_note=note)
    print((args.out / "results.md").read_text())


if __name__ == "__main__":
    main()
