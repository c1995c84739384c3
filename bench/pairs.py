"""Any method against any other, task by task: paired by seed, with the bootstrap interval.

``compare`` pairs LGT with each baseline; this pairs the methods you name with one
reference (``--against``), from the folders ``compare --out`` wrote:

    python -m bench.pairs --against bayes --methods lgt-optuna,hybrid,lgt DIR [DIR ...]

``--reference-from DIR`` takes the reference's sessions from that folder alone and the named
methods' from the others: LGT at ``--loop both`` (one folder) against PBT at ``--loop
epoch`` (another folder, which has an LGT of its own).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from bench.combine import load
from lgt_graph.compare.significance import paired
from lgt_graph.graph.methods import method


def table(
    folders: list[Path], against: str, methods: list[str], reference: Path | None = None
) -> str:
    """Return the markdown table: each method's mean, the reference's, the gain, the verdict."""
    rows, _ = load(folders)
    if reference is not None:
        rows = [r for r in rows if r.method != against]
        rows += [r for r in load([reference])[0] if r.method == against]
    tasks = list(dict.fromkeys(r.task for r in rows))
    lines = [
        f"| task | method | test (mean ± sd) | {method(against).title} | gain, 95 % CI | verdict |",
        "|---|---|---|---|---|---|",
    ]

    def shown(task: str, name: str) -> str:
        scores = [r.test[r.primary] for r in rows if r.task == task and r.method == name]
        spread = statistics.stdev(scores) if len(scores) > 1 else 0.0
        return f"{statistics.fmean(scores):.4f} ± {spread:.4f}" if scores else "-"

    for task in tasks:
        for name in methods:
            pair = paired(rows, task, name, against)
            if pair is None:
                continue
            low, high = pair.interval or (float("nan"), float("nan"))
            lines.append(
                f"| {task} | {method(name).title} | {shown(task, name)} | {shown(task, against)}"
                f" | {pair.mean:+.4f} [{low:+.4f}, {high:+.4f}] | {pair.verdict} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Print the table of the named methods against the reference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="compare --out folders")
    parser.add_argument("--against", required=True, help="the reference method (bayes)")
    parser.add_argument("--methods", required=True, help="comma-separated methods to pair")
    parser.add_argument(
        "--reference-from", type=Path, help="take the reference's sessions from this folder only"
    )
    args = parser.parse_args()
    methods = args.methods.split(",")
    print(table(args.folders, args.against, methods, args.reference_from), end="")


if __name__ == "__main__":
    main()
