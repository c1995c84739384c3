"""One change measured on the same methods: two comparisons' rows paired by task, method, seed.

``--before`` and ``--after`` are ``compare --out`` (or ``bench.equal_compute --out``)
folders that ran the same methods and seeds with one thing changed (``--finalize
ensemble``, say); the table gives each method's test primary metric before and after and
the gain after minus before, turned so that positive is better, with the paired bootstrap
interval that results.md uses.

    python -m bench.before_after --before DIR --after DIR
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from bench.combine import load
from lgt_graph.compare.significance import bootstrap_interval, verdict
from lgt_graph.evaluation.metrics import gain
from lgt_graph.graph.methods import method


def table(before: Path, after: Path) -> str:
    """Return the markdown table of every (task, method) that both folders ran."""
    old, _ = load([before])
    new, _ = load([after])
    lines = [
        "| task | method | before (mean ± sd) | after (mean ± sd) | gain, 95 % CI | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for task in dict.fromkeys(r.task for r in new):
        for name in dict.fromkeys(r.method for r in new if r.task == task):
            was = {r.seed: r for r in old if r.task == task and r.method == name}
            now = {r.seed: r for r in new if r.task == task and r.method == name}
            seeds = sorted(set(was) & set(now))
            if not seeds:
                continue
            first = now[seeds[0]]
            a = [was[s].test[first.primary] for s in seeds]
            b = [now[s].test[first.primary] for s in seeds]
            gains = [gain(y, x, first.maximize) for x, y in zip(a, b, strict=True)]
            interval = bootstrap_interval(gains)
            spread = "-" if interval is None else f"[{interval[0]:+.4f}, {interval[1]:+.4f}]"
            lines.append(
                f"| {task} | {method(name).title} | {_mean(a)} | {_mean(b)}"
                f" | {statistics.fmean(gains):+.4f} {spread} | {verdict(interval)} |"
            )
    return "\n".join(lines)


def _mean(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.4f} ± {sd:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    args = parser.parse_args()
    print(table(args.before, args.after))


if __name__ == "__main__":
    main()
