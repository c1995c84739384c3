"""Write a comparison: results.csv (every session), results.md (tables, ranks, verdicts), plots."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from lgt_graph.agents.predictions import calibration
from lgt_graph.compare.plots import FILES, plot_anytime, plot_curves
from lgt_graph.compare.rank import summary
from lgt_graph.compare.rows import Row
from lgt_graph.compare.significance import summary_lines, task_lines
from lgt_graph.graph.methods import METHODS

TITLES = {"compare": "LGT against the baselines", "ablate": "LGT ablations: nodes swapped"}
"""The heading of each command's results.md."""

SHOWN = ("accuracy", "macro_f1", "mae", "rmse", "r2")
"""The test metrics a table shows beside the primary one."""
OUTPUTS = ("results.csv", "results.md", "curves.png", *FILES.values())
"""The files a comparison writes into its folder."""


def write_outputs(
    rows: list[Row],
    out: Path,
    budget: int | None,
    seeds: Sequence[int],
    title: str = TITLES["compare"],
    budget_note: str | None = None,
) -> None:
    """Write results.csv, results.md, curves.png and the anytime curves (:data:`OUTPUTS`)."""
    write_csv(rows, out / "results.csv")
    (out / "results.md").write_text(markdown(rows, budget, seeds, title, budget_note))
    plot_curves(rows, out / "curves.png")
    for axis, name in FILES.items():
        plot_anytime(rows, out / name, axis)


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
        "train_seconds",
        "input_tokens",
        "output_tokens",
        "hit_rate",
        "brier",
        "brier_skill",
        "brier_skill_hindsight",
    ]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            data = asdict(row)
            line = {k: data[k] for k in fields if k in data}
            line |= {f"test_{m}": row.test.get(m, "") for m in metrics}
            line["train_seconds"] = "" if row.train_seconds is None else row.train_seconds
            said = calibration(row.predictions)
            for name, key in (
                ("hit_rate", "hit_rate"),
                ("brier", "brier"),
                ("brier_skill", "skill"),
                ("brier_skill_hindsight", "hindsight_skill"),
            ):
                line[name] = "" if said[key] is None else said[key]
            writer.writerow(line)


def markdown(
    rows: list[Row],
    budget: int | None,
    seeds: Sequence[int],
    title: str = TITLES["compare"],
    budget_note: str | None = None,
) -> str:
    """Render the comparison: a rank overview, the summary over tasks, then a table per task.

    ``budget_note`` says what the budget counted, in place of "Budget N trials per method":
    a phrase under the title that ", seeds 0, 1; ..." follows.
    ``failed`` counts the trials without a score, over every seed of the method; ``wall s``
    is a session's whole time, ``train s`` its trials' (what ``--budget-seconds`` counts).
    """
    table = summary(rows)
    in_epochs = any(r.epochs for r in rows)
    if budget_note is None:
        budget_note = (
            f"Budget {budget} epochs trained per method (every branch of a paired segment counted)"
            if in_epochs
            else f"Budget {budget} trials per method"
            + (" (NoTuning: 1)" if any(r.method == "none" for r in rows) else "")
        )
    lines = [
        f"# {title}",
        "",
        budget_note + f", seeds {', '.join(map(str, seeds))};"
        " test metrics of the configuration each method chose on validation, mean ± sd over"
        " seeds. Rank 1 is best on the test primary metric (ties share a rank).",
        "",
        *_peer_note(rows),
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
    lines += summary_lines(rows, table)
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
            " | train s | LLM tokens | rank |",
            "|---" * (len(metrics) + 8) + "|",
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
                f" | {v['wall']:.0f} | {_seconds(v['train'])}"
                f" | {tokens} | {v['rank'] or '-'} |"
            )
        lines += _failed_lines([r for r in rows if r.task == task])
        lines += prediction_lines([r for r in rows if r.task == task])
        lines += task_lines(rows, table, task)
    return "\n".join(lines) + "\n"


def prediction_lines(rows: list[Row]) -> list[str]:
    """Tabulate how each predicting method's expectations fared, over all its seeds' trials.

    The hit rate counts every checked prediction; the Brier score and its skill those that
    stated a probability: the skill against the base-rate forecast before each trial, and
    against the base rates of the same verdicts in hindsight
    (:func:`lgt_graph.agents.predictions.calibration`).
    """
    per = {m: [c for r in rows if r.method == m for c in r.predictions] for m in _methods(rows)}
    per = {m: checks for m, checks in per.items() if checks}
    if not per:
        return []
    lines = [
        "",
        "The Advisor's expectations, every trial of every seed pooled (Brier score: 0 is"
        " perfect; skill above 0 beats the base-rate forecast: before each trial, each"
        " verdict's share so far in the session; in hindsight: the shares of these very"
        " verdicts, which no forecaster knows in advance):",
        "",
        "| method | predictions | came true | Brier score | base rates' | skill"
        " | skill in hindsight | said → came |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method, checks in per.items():
        c = calibration(checks)
        brier = "-" if c["brier"] is None else f"{c['brier']:.3f}"
        reference = "-" if c["reference"] is None else f"{c['reference']:.3f}"
        skill = "-" if c["skill"] is None else f"{c['skill']:+.2f}"
        late = "-" if c["hindsight_skill"] is None else f"{c['hindsight_skill']:+.2f}"
        said = "-" if c["said"] is None else f"{c['said']:.0%} → {c['came']:.0%}"
        lines.append(
            f"| {METHODS[method].title} | {c['predictions']} | {c['hit_rate']:.0%} | {brier}"
            f" | {reference} | {skill} | {late} | {said} |"
        )
    return lines


def _methods(rows: list[Row]) -> list[str]:
    return list(dict.fromkeys(r.method for r in rows))


def _failed_lines(rows: list[Row]) -> list[str]:
    """Say which sessions ended without a chosen model (a tool's error): no test score."""
    lines = []
    for method in _methods(rows):
        failed = [r for r in rows if r.method == method and r.status != "ok"]
        if failed:
            seeds = ", ".join(str(r.seed) for r in failed)
            runs = ", ".join(r.session_id for r in failed)
            lines.append(
                f"\n{METHODS[method].title}: {len(failed)} of"
                f" {sum(r.method == method for r in rows)} sessions failed (seeds {seeds}); the"
                f" error is on their MLflow runs (tag `lgt.error`): {runs}."
            )
    return lines


PEER_NOTE = (
    "Peers ({names}) are whole tools with their own models and search: each got the same"
    " rows as every method (the loaded columns as they are, with their gaps and categories,"
    " prepared by the tool its own way), searched on the training and validation splits"
    " only, and its chosen model was scored once on the same test split. Their seconds are"
    " their own time limit, their whole search; the other methods' seconds count their"
    " trials' training. `trials` of a peer counts the models it scored."
)
"""What results.md says of the peers, next to the tables, when any ran."""


def _peer_note(rows: list[Row]) -> list[str]:
    peers = [METHODS[m] for m in dict.fromkeys(r.method for r in rows) if METHODS[m].peer]
    if not peers:
        return []
    return [PEER_NOTE.format(names=", ".join(m.title for m in peers)), ""]


def _seconds(value: float | None) -> str:
    """Format a mean of training seconds; ``-`` for rows recorded before it was kept."""
    return "-" if value is None else f"{value:.1f}"
