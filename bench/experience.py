"""Sessions with experience against sessions without: test metric, trials to the best, hit rate.

Each ``--pair WITHOUT WITH`` names two ``compare --out`` folders that ran LGT on the same
task and seeds, the second with ``--experience PATH`` (lessons of other tables' sessions).
Per task: the test primary metric of each (mean ± sd over seeds) and the paired gain of
experience (positive is better) with the bootstrap interval results.md uses; the trial at
which each session first reached its best validation score (mean over seeds: fewer is
sooner); and the Advisor's hit rate over all the seeds' predictions.

    python -m bench.experience --pair DIR DIR [--pair DIR DIR ...]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from bench.combine import load
from lgt_graph.agents.predictions import calibration
from lgt_graph.compare.rows import Row
from lgt_graph.compare.significance import bootstrap_interval, verdict
from lgt_graph.evaluation.metrics import gain


def reached(row: Row) -> int | None:
    """Return the trial (from 1) at which the session first reached its best validation score."""
    best = [b for b in row.best_at if b is not None]
    if not best:
        return None
    return next(i for i, b in enumerate(row.best_at, 1) if b == best[-1])


def _mean(values: list[float]) -> str:
    if not values:
        return "-"
    spread = f" ± {statistics.stdev(values):.4g}" if len(values) > 1 else ""
    return f"{statistics.mean(values):.4g}{spread}"


def table(pairs: list[tuple[Path, Path]], method: str = "lgt") -> str:
    """Return the markdown table, one row per pair of folders."""
    lines = [
        "| task | without (mean ± sd) | with | gain, 95 % CI | verdict | trials to the best"
        " (without → with) | hit rate (without → with) |",
        "|---|---|---|---|---|---|---|",
    ]
    for without, with_ in pairs:
        old = {r.seed: r for r in load([without])[0] if r.method == method and r.test}
        new = {r.seed: r for r in load([with_])[0] if r.method == method and r.test}
        seeds = sorted(set(old) & set(new))
        if not seeds:
            continue
        first = old[seeds[0]]
        metric = first.primary
        gains = [gain(new[s].test[metric], old[s].test[metric], first.maximize) for s in seeds]
        found = bootstrap_interval(gains) if len(gains) > 1 else None
        mean = statistics.mean(gains)
        interval = "-" if found is None else f"{mean:+.4g} [{found[0]:+.4g}, {found[1]:+.4g}]"
        steps = [
            " → ".join(
                _mean([float(t) for s in seeds if (t := reached(side[s])) is not None])
                for side in (old, new)
            )
        ]
        rates = []
        for side in (old, new):
            c = calibration([p for s in seeds for p in side[s].predictions])
            rates.append("-" if c["hit_rate"] is None else f"{c['hit_rate']:.0%}")
        lines.append(
            f"| {first.task} ({metric}) | {_mean([old[s].test[metric] for s in seeds])}"
            f" | {_mean([new[s].test[metric] for s in seeds])} | {interval}"
            f" | {verdict(found)} | {steps[0]}"
            f" | {' → '.join(rates)} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Print the table for the pairs of folders given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pair", nargs=2, action="append", type=Path, required=True, metavar=("WITHOUT", "WITH")
    )
    parser.add_argument("--method", default="lgt", help="the method both folders ran (lgt)")
    args = parser.parse_args()
    print(table([(a, b) for a, b in args.pair], args.method))


if __name__ == "__main__":
    main()
