"""A small real model in the loop against the heuristic expert, random-advisor and TPE.

Per task, two comparisons on the same seeds (the same seed is the same split for every
method): the heuristic arm (``compare --methods bayes,random-advisor,lgt``, the built-in
expert) and the model arm (``compare --methods lgt,hybrid --llm local``: the bundled
SmolLM2-135M-Instruct on llama.cpp as Advisor, Evaluator and Optimizer; in ``hybrid`` it
proposes a share of the trials and TPE the rest). Then one table: the test primary
metric (mean ± sd over seeds), each arm's paired gain over the heuristic expert's LGT
with its 95% bootstrap interval, and for the model's arms the share of agent calls
answered usable at once / after one repair / fallen back, the prompt tokens (measured
with the model's tokenizer before sending), the reply tokens and seconds per call, the
share of prompts shortened to fit the window, and the Advisor's hit rate (its forecast
verdict against the Evaluator's). Each comparison resumes where it stopped
(``compare --resume``), so a run that outlives a session goes on in the next.

    python -m bench.local_model --out DIR [--tasks iris,wine,water] [--seeds 5] [--budget 12]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.common import machine, mean_sd
from lgt_graph.compare.rows import Row
from lgt_graph.compare.run import ROWS
from lgt_graph.compare.significance import paired

ARMS = {
    "heuristic": ("bayes,random-advisor,lgt", "heuristic"),
    "local": ("lgt,hybrid", "local"),
}
NAMES = {
    ("heuristic", "bayes"): "TPE",
    ("heuristic", "random-advisor"): "random-advisor",
    ("heuristic", "lgt"): "LGT, heuristic expert",
    ("local", "lgt"): "LGT, SmolLM2-135M",
    ("local", "hybrid"): "hybrid, SmolLM2-135M + TPE",
}
REFERENCE = "LGT, heuristic expert"


def run_arm(out: Path, task: str, arm: str, seeds: int, budget: int) -> None:
    """Run (or resume) one arm's comparison on ``task`` into ``out/TASK-ARM``."""
    methods, llm = ARMS[arm]
    folder = out / f"{task}-{arm}"
    command = [
        sys.executable,
        "-m",
        "lgt_graph",
        "compare",
        "--task",
        task,
        "--methods",
        methods,
        "--llm",
        llm,
        "--seeds",
        str(seeds),
        "--budget",
        str(budget),
        "--out",
        str(folder),
        "--tracking-uri",
        f"sqlite:///{out.resolve() / 'mlflow.db'}",
    ]
    if (folder / ROWS).exists():
        command.append("--resume")
    print(" ".join(command[1:]), flush=True)
    subprocess.run(command, check=True)


def rows_of(out: Path, task: str) -> list[Row]:
    """Read both arms' sessions on ``task``, each method renamed for its arm."""
    rows = []
    for arm in ARMS:
        path = out / f"{task}-{arm}" / ROWS
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            if line.strip():
                row = Row(**json.loads(line))
                row.method = NAMES[(arm, row.method)]
                rows.append(row)
    return rows


def _share(calls: list[dict[str, Any]], status: str) -> str:
    return f"{sum(c['status'] == status for c in calls) / len(calls):.0%}" if calls else "-"


def _per_call(calls: list[dict[str, Any]], key: str, digits: int = 0) -> str:
    values = [float(c[key]) for c in calls]
    return f"{statistics.mean(values):.{digits}f}" if values else "-"


def table(rows: list[Row], task: str) -> list[str]:
    """Write ``task``'s table in Markdown: one line a method."""
    if not rows:
        return [f"{task}: no session yet"]
    metric = rows[0].primary
    lines = [
        f"**{task}** (test {metric}; gain over {REFERENCE} paired by seed, 95% interval)",
        "",
        "| method | seeds | test | gain [95% CI] | min/session | calls/session | at once"
        " | repaired | fell back | prompt tok/call | reply tok/call | s/call | shortened"
        " | hit rate |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(NAMES.values()):
        mine = [r for r in rows if r.method == name and r.primary in r.test]
        if not mine:
            continue
        scores = [r.test[r.primary] for r in mine]
        gain = "-" if name == REFERENCE else "(no pair)"
        if name != REFERENCE and (pair := paired(rows, task, name, REFERENCE)) is not None:
            gain = f"{pair.mean:+.4f}"
            if pair.interval:
                gain += f" [{pair.interval[0]:+.4f}, {pair.interval[1]:+.4f}]"
        calls = [c for r in mine for c in r.calls]
        checks = [p["hit"] for r in mine for p in r.predictions if p.get("hit") is not None]
        hit = f"{statistics.mean(map(float, checks)):.0%} of {len(checks)}" if checks else "-"
        shortened = f"{sum(c['shortened'] for c in calls) / len(calls):.0%}" if calls else "-"
        lines.append(
            f"| {name} | {len(mine)} | {mean_sd(scores)} | {gain}"
            f" | {statistics.mean(r.wall_seconds for r in mine) / 60:.1f}"
            f" | {f'{len(calls) / len(mine):.1f}' if calls else '-'} | {_share(calls, 'ok')}"
            f" | {_share(calls, 'repaired')}"
            f" | {_share(calls, 'fallback')} | {_per_call(calls, 'prompt_tokens')}"
            f" | {_per_call(calls, 'output_tokens')} | {_per_call(calls, 'seconds', 1)}"
            f" | {shortened} | {hit} |"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    """Run the arms that are missing or unfinished, then print and save the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tasks", default="iris,wine,water")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=12)
    parser.add_argument("--report-only", action="store_true", help="write the tables only")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    tasks = args.tasks.split(",")
    if not args.report_only:
        for arm in ARMS:  # the fast arm first: its table is whole while the model's runs
            for task in tasks:
                run_arm(args.out, task, arm, args.seeds, args.budget)
    lines = [f"Machine: {machine()}. Budget {args.budget} trials, seeds 0-{args.seeds - 1}.", ""]
    for task in tasks:
        lines += [*table(rows_of(args.out, task), task), ""]
    text = "\n".join(lines)
    (args.out / "table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
