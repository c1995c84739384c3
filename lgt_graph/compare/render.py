"""Write a comparison: results.csv (every session), results.md (tables, ranks), curves.png."""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from lgt_graph.compare.rank import summary
from lgt_graph.compare.rows import Row
from lgt_graph.methods import METHODS

TITLES = {"compare": "LGT against the baselines", "ablate": "LGT ablations: nodes swapped"}
"""The heading of each command's results.md."""

SHOWN = ("accuracy", "macro_f1", "mae", "rmse", "r2")
"""The test metrics a table shows beside the primary one."""


def write_outputs(
    rows: list[Row],
    out: Path,
    budget: int,
    seeds: Sequence[int],
    title: str = TITLES["compare"],
) -> None:
    """Write results.csv, results.md and curves.png."""
    write_csv(rows, out / "results.csv")
    (out / "results.md").write_text(markdown(rows, budget, seeds, title))
    plot_curves(rows, out / "curves.png")


def write_csv(rows: list[Row], path: Path) -> None:
    """One line per session, with every test metric as its own column."""
    metrics = sorted({k for r in rows for k in r.test})
    fields = [
        "task",
        "method",
        "seed",
        "session_id",
        "primary",
        "status",
        "best_val",
        *[f"test_{m}" for m in metrics],
        "trials",
        "failed",
        "epochs",
        "wall_seconds",
        "input_tokens",
        "output_tokens",
    ]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            data = asdict(row)
            line = {k: data[k] for k in fields if k in data}
            line |= {f"test_{m}": row.test.get(m, "") for m in metrics}
            writer.writerow(line)


def markdown(
    rows: list[Row], budget: int, seeds: Sequence[int], title: str = TITLES["compare"]
) -> str:
    """Render the comparison: a rank overview, then a table per task.

    ``failed`` counts the trials without a score, over every seed of the method.
    """
    table = summary(rows)
    in_epochs = any(r.epochs for r in rows)
    lines = [
        f"# {title}",
        "",
        (
            f"Budget {budget} epochs trained per method (every branch of a paired segment counted)"
            if in_epochs
            else f"Budget {budget} trials per method"
            + (" (NoTuning: 1)" if any(r.method == "none" for r in rows) else "")
        )
        + f", seeds {', '.join(map(str, seeds))};"
        " test metrics of the configuration each method chose on validation, mean ± sd over"
        " seeds. Rank 1 is best on the test primary metric (ties share a rank).",
        "",
        "| task | metric | winner | LGT rank |",
        "|---|---|---|---|",
    ]
    for task, per in table.items():
        any_method = next(iter(per.values()))
        winners = [m.title for m in METHODS.values() if per.get(m.name, {}).get("rank") == 1]
        lgt = per.get("lgt", {}).get("rank")
        arrow = "higher" if any_method["maximize"] else "lower"
        lines.append(
            f"| {task} | {any_method['primary']} ({arrow} is better) | {'; '.join(winners)}"
            f" | {lgt if lgt is not None else '-'} of {len(per)} |"
        )
    for task, per in table.items():
        primary = next(iter(per.values()))["primary"]
        # the primary metric, then the usual companions; results.csv has every metric
        metrics = sorted({m for v in per.values() for m in v["test"] if m in SHOWN or m == primary})
        metrics.sort(key=lambda m: m != primary)
        lines += [
            "",
            f"## {task}",
            "",
            "| method | "
            + " | ".join(f"test {m}" for m in metrics)
            + f" | best val {primary} | {'epochs' if in_epochs else 'trials'} | failed | wall s"
            " | LLM tokens | rank |",
            "|---" * (len(metrics) + 7) + "|",
        ]
        for method, v in sorted(per.items(), key=lambda kv: kv[1]["rank"] or 99):
            cells = [
                f"{v['test'][m][0]:.4f} ± {v['test'][m][1]:.4f}" if m in v["test"] else "-"
                for m in metrics
            ]
            if v["rank"] == 1:
                cells[0] = f"**{cells[0]}**"
            val = f"{v['val'][0]:.4f}" if v["val"] else "-"
            tokens = "-" if not METHODS[method].language else f"{v['tokens']:.0f}"
            lines.append(
                f"| {METHODS[method].title} | "
                + " | ".join(cells)
                + f" | {val} | {v['epochs' if in_epochs else 'trials']:.0f} | {v['failed']}"
                f" | {v['wall']:.0f}"
                f" | {tokens} | {v['rank']} |"
            )
    return "\n".join(lines) + "\n"


def plot_curves(rows: list[Row], path: Path) -> None:
    """Plot the best validation metric against the trial number, a panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r.task for r in rows))
    cols = min(3, len(tasks))
    nrows = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.6 * nrows), squeeze=False)
    for ax, task in zip(axes.flat, tasks, strict=False):
        group = [r for r in rows if r.task == task]
        longest = max(len(r.curve) for r in group)
        for method in dict.fromkeys(r.method for r in group):
            curves = [r.curve for r in group if r.method == method]
            mean = []
            for i in range(longest):
                # a session that stopped early keeps its last best
                ends = [c[min(i, len(c) - 1)] for c in curves if c]
                points = [p for p in ends if p is not None]
                mean.append(statistics.fmean(points) if points else math.nan)
            style = {"linestyle": "--"} if method == "none" else {"marker": "o", "markersize": 3}
            width = 2.5 if method == "lgt" else 1.2
            ax.plot(
                range(1, longest + 1), mean, label=METHODS[method].title, linewidth=width, **style
            )
        ax.set_title(task)
        ax.set_xlabel("epochs trained" if any(r.epochs for r in group) else "trial")
        ax.set_ylabel(f"best val {group[0].primary}")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(tasks) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
