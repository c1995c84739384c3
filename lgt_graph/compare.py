"""Compare LGT with the baselines: same tasks, space, budget, splits and seeds.

Each (task, seed, method) is a full session logged to MLflow like any other. The
results are the test metrics of the configuration each method chose on validation,
averaged over seeds; ``results.csv`` holds every session, ``results.md`` the table
and ranks, ``curves.png`` the best validation metric against the trial number.
"""

from __future__ import annotations

import csv
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lgt_graph.context import Settings
from lgt_graph.errors import UserError
from lgt_graph.session import Echo, Outcome

METHOD_NAMES = {
    "none": "NoTuning",
    "random": "RandomSearch",
    "grid": "GridSearch",
    "bayes": "Bayesian (Optuna)",
    "nas": "NAS",
    "lgt": "LGT",
}
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    "lgt": ("LGT", {}),
    "no-optimizer": ("LGT, no Optimizer (prompt frozen)", {"optimizer": "none"}),
    "numeric-evaluator": ("LGT, numeric Evaluator (no textual gradient)", {"evaluator": "numeric"}),
    "advisor-only": (
        "LGT, Advisor alone (numeric Evaluator, frozen prompt)",
        {"evaluator": "numeric", "optimizer": "none"},
    ),
    "random-advisor": ("LGT, random Advisor (no language guidance)", {"advisor": "random"}),
    "no-rollback": ("LGT, no rollback (a regression stays the base)", {"rollback": "none"}),
}
"""The ablations: LGT with nodes swapped (``--node`` slots), each a method of ``ablate``."""
METHOD_NAMES |= {k: name for k, (name, _) in VARIANTS.items()}
TITLES = {"compare": "LGT against the baselines", "ablate": "LGT ablations: nodes swapped"}
"""The heading of each command's results.md."""


@dataclass
class Row:
    """One session of a comparison."""

    task: str
    method: str
    seed: int
    session_id: str
    primary: str
    maximize: bool
    status: str
    best_val: float | None
    test: dict[str, float]
    trials: int
    wall_seconds: float
    input_tokens: int = 0
    output_tokens: int = 0
    curve: list[float | None] = field(default_factory=list)
    """Best validation primary metric after each trial."""


def parse_seeds(text: str) -> list[int]:
    """Read ``--seeds``: a count (3 means 0, 1, 2) or a comma list (0,5,9)."""
    try:
        if "," in text:
            return [int(s) for s in text.split(",") if s.strip()]
        count = int(text)
    except ValueError:
        raise UserError(f"--seeds {text!r}: give a count (3) or a list (0,1,2)") from None
    if count < 1:
        raise UserError("--seeds must be at least 1")
    return list(range(count))


def row_of(task: str, method: str, seed: int, outcome: Outcome, seconds: float) -> Row:
    """Summarise a finished session for the comparison."""
    ctx = outcome.ctx
    trials = outcome.values.get("trials", [])
    best: float | None = None
    curve: list[float | None] = []
    for trial in trials:
        score = trial["score"]
        if score is not None and (best is None or (score > best if ctx.maximize else score < best)):
            best = score
        curve.append(best)
    final = outcome.values.get("final", {})
    calls = outcome.values.get("agent_calls", [])
    return Row(
        task=task,
        method=method,
        seed=seed,
        session_id=outcome.session_id,
        primary=ctx.primary,
        maximize=ctx.maximize,
        status=final.get("status", "failed"),
        best_val=best,
        test=dict(final.get("test", {})),
        trials=len(trials),
        wall_seconds=seconds,
        input_tokens=sum(c["input_tokens"] for c in calls),
        output_tokens=sum(c["output_tokens"] for c in calls),
        curve=curve,
    )


def run_comparison(
    tasks: Sequence[str],
    methods: Sequence[str],
    budget: int,
    seeds: Sequence[int],
    out: Path,
    common: dict[str, Any],
    sampler: str = "tpe",
    echo: Echo = print,
    title: str = TITLES["compare"],
) -> list[Row]:
    """Run every (task, seed, method) session and write the comparison into ``out``."""
    from lgt_graph.baselines import METHODS
    from lgt_graph.baselines.driver import run_search
    from lgt_graph.session import run_session

    unknown = [m for m in methods if m not in VARIANTS and m not in METHODS]
    if unknown:
        raise UserError(f"unknown method {unknown[0]!r}; methods: {', '.join(METHOD_NAMES)}")
    out.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    total = len(tasks) * len(seeds) * len(methods)
    for task in tasks:
        for seed in seeds:
            for method in methods:
                nodes = VARIANTS[method][1] if method in VARIANTS else None
                settings = Settings.resolve(
                    task=task,
                    seed=seed,
                    budget=1 if method == "none" else budget,
                    nodes=nodes or None,
                    **common,
                )
                echo(f"[{len(rows) + 1}/{total}] {task} seed {seed}: {METHOD_NAMES[method]}")
                started = time.perf_counter()
                quiet: Echo = lambda line: None  # noqa: E731 - one line per session is enough
                if method in VARIANTS:
                    outcome = run_session(
                        settings, checkpoints=str(out / "lgt_checkpoints.db"), echo=quiet
                    )
                else:
                    outcome = run_search(settings, method, sampler, echo=quiet)
                row = row_of(task, method, seed, outcome, time.perf_counter() - started)
                rows.append(row)
                test = row.test.get(row.primary)
                echo(
                    f"    best val_{row.primary} {_num(row.best_val)}, test {_num(test)},"
                    f" {row.trials} trials, {row.wall_seconds:.0f}s"
                )
    write_outputs(rows, out, budget, seeds, title)
    return rows


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


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


def _stats(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, sd


def summary(rows: list[Row]) -> dict[str, dict[str, dict[str, Any]]]:
    """Aggregate over seeds: per task, per method, the means, spreads and rank."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for task in dict.fromkeys(r.task for r in rows):
        per: dict[str, dict[str, Any]] = {}
        for method in dict.fromkeys(r.method for r in rows if r.task == task):
            group = [r for r in rows if r.task == task and r.method == method]
            primary = group[0].primary
            tests = {
                m: _stats([r.test[m] for r in group if m in r.test])
                for m in sorted({k for r in group for k in r.test})
            }
            vals = [r.best_val for r in group if r.best_val is not None]
            per[method] = {
                "primary": primary,
                "maximize": group[0].maximize,
                "test": tests,
                "val": _stats(vals) if vals else None,
                "trials": statistics.fmean(r.trials for r in group),
                "wall": statistics.fmean(r.wall_seconds for r in group),
                "tokens": statistics.fmean(r.input_tokens + r.output_tokens for r in group),
                "seeds": len(group),
            }
        ranked = sorted(
            (m for m in per if per[m]["primary"] in per[m]["test"]),
            key=lambda m: per[m]["test"][per[m]["primary"]][0] * (-1 if per[m]["maximize"] else 1),
        )
        for method in per:
            score = per[method]["test"].get(per[method]["primary"], (math.nan, 0))[0]
            better = [
                m
                for m in ranked
                if _beats(per[m]["test"][per[m]["primary"]][0], score, per[m]["maximize"])
            ]
            per[method]["rank"] = len(better) + 1 if method in ranked else None
        out[task] = per
    return out


def _beats(a: float, b: float, maximize: bool) -> bool:
    return a > b + 1e-12 if maximize else a < b - 1e-12


def markdown(
    rows: list[Row], budget: int, seeds: Sequence[int], title: str = TITLES["compare"]
) -> str:
    """Render the comparison: a rank overview, then a table per task."""
    table = summary(rows)
    lines = [
        f"# {title}",
        "",
        f"Budget {budget} trials per method"
        + (" (NoTuning: 1)" if any(r.method == "none" for r in rows) else "")
        + f", seeds {', '.join(map(str, seeds))};"
        " test metrics of the configuration each method chose on validation, mean ± sd over"
        " seeds. Rank 1 is best on the test primary metric (ties share a rank).",
        "",
        "| task | metric | winner | LGT rank |",
        "|---|---|---|---|",
    ]
    for task, per in table.items():
        any_method = next(iter(per.values()))
        winners = [name for m, name in METHOD_NAMES.items() if per.get(m, {}).get("rank") == 1]
        lgt = per.get("lgt", {}).get("rank")
        arrow = "higher" if any_method["maximize"] else "lower"
        lines.append(
            f"| {task} | {any_method['primary']} ({arrow} is better) | {'; '.join(winners)}"
            f" | {lgt if lgt is not None else '-'} of {len(per)} |"
        )
    for task, per in table.items():
        metrics = sorted({m for v in per.values() for m in v["test"]})
        primary = next(iter(per.values()))["primary"]
        metrics.sort(key=lambda m: m != primary)
        lines += [
            "",
            f"## {task}",
            "",
            "| method | "
            + " | ".join(f"test {m}" for m in metrics)
            + f" | best val {primary} | trials | wall s | LLM tokens | rank |",
            "|---" * (len(metrics) + 6) + "|",
        ]
        for method, v in sorted(per.items(), key=lambda kv: kv[1]["rank"] or 99):
            cells = [
                f"{v['test'][m][0]:.4f} ± {v['test'][m][1]:.4f}" if m in v["test"] else "-"
                for m in metrics
            ]
            if v["rank"] == 1:
                cells[0] = f"**{cells[0]}**"
            val = f"{v['val'][0]:.4f}" if v["val"] else "-"
            tokens = f"{v['tokens']:.0f}" if method in VARIANTS else "-"
            lines.append(
                f"| {METHOD_NAMES[method]} | "
                + " | ".join(cells)
                + f" | {val} | {v['trials']:.0f} | {v['wall']:.0f} | {tokens} | {v['rank']} |"
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
                range(1, longest + 1), mean, label=METHOD_NAMES[method], linewidth=width, **style
            )
        ax.set_title(task)
        ax.set_xlabel("trial")
        ax.set_ylabel(f"best val {group[0].primary}")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(tasks) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def log_comparison(
    rows: list[Row],
    out: Path,
    tracking_uri: str | None,
    params: dict[str, Any],
    kind: str = "compare",
) -> str:
    """Record the comparison (``kind`` compare or ablate) as an MLflow run with its outputs."""
    from mlflow.entities import Metric, Param

    from lgt_graph.tracking import Tracker
    from lgt_graph.tracking import tracking_uri as resolve_uri

    tracker = Tracker(resolve_uri(tracking_uri), f"lgt-{kind}")
    client = tracker.client
    run = client.create_run(
        tracker.experiment_id,
        run_name=f"{kind}-{time.strftime('%m%d-%H%M%S')}",
        tags={"kind": "comparison" if kind == "compare" else "ablation"},
    )
    run_id = str(run.info.run_id)
    now = int(time.time() * 1000)
    metrics = []
    for task, per in summary(rows).items():
        for method, v in per.items():
            for metric, (mean, _) in v["test"].items():
                metrics.append(Metric(f"{task}.{method}.test_{metric}", mean, now, 0))
            if v["rank"] is not None:
                metrics.append(Metric(f"{task}.{method}.rank", float(v["rank"]), now, 0))
    client.log_batch(run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
    for start in range(0, len(metrics), 900):
        client.log_batch(run_id, metrics=metrics[start : start + 900])
    for name in ("results.csv", "results.md", "curves.png"):
        client.log_artifact(run_id, str(out / name))
    client.set_terminated(run_id, "FINISHED")
    return run_id
