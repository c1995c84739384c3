"""Whether two runs of the same comparisons measured the same: for refactors that must not.

Reads every ``compare --out`` folder under BEFORE and the folder of the same name under
AFTER, pairs their sessions by (task, method, seed), and compares what each measured —
status, best validation score, test metrics, trials, failures, epochs, the best-so-far
curve after each trial and epoch, the Advisor's checked predictions — leaving out only
what a run cannot repeat (session ids, seconds). Prints one line a folder and exits 1 on
any difference, naming it.

    python -m bench.same_results BEFORE AFTER
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lgt_graph.compare.run import ROWS

MEASURED = (
    "status",
    "best_val",
    "test",
    "trials",
    "failed",
    "epochs",
    "curve",
    "best_at",
    "epochs_at",
    "predictions",
)


def sessions(folder: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Map (task, method, seed) to what that session measured."""
    out = {}
    for line in (folder / ROWS).read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            out[(row["task"], row["method"], row["seed"])] = {k: row.get(k) for k in MEASURED}
    return out


def main(argv: list[str] | None = None) -> int:
    """Compare every comparison folder of BEFORE with AFTER's; 0 when all are the same."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    folders = sorted(p.parent for p in args.before.rglob(ROWS))
    if not folders:
        raise SystemExit(f"{args.before} holds no {ROWS}: give two folders of compare --out runs")
    same = total = 0
    for folder in folders:
        name = folder.relative_to(args.before)
        before, after = sessions(folder), sessions(args.after / name)
        differ = [key for key in before if before[key] != after.get(key)]
        total += len(before)
        same += len(before) - len(differ)
        verdict = "identical" if not differ and before.keys() == after.keys() else "DIFFERENT"
        print(f"{name}: {len(before)} sessions, {verdict}")
        for key in differ:
            theirs = after.get(key) or {}
            fields = [k for k in MEASURED if before[key][k] != theirs.get(k)]
            print(f"  {key}: {', '.join(fields) or 'missing after'}")
    print(f"{same} of {total} sessions measured the same ({', '.join(MEASURED)})")
    return 0 if same == total else 1


if __name__ == "__main__":
    sys.exit(main())
