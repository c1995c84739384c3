"""Do the Evaluator's "improvements" replicate? The fixed rule against the noise floor.

For each task and seed, an LGT session runs twice: with ``--tolerance 0.01`` (the fixed
rule: any gain improved) and with the noise floor (the default). Each trial the Evaluator
called *improved* (the first trial aside) is retrained with a fresh training seed on the
same split, and its validation score is compared with the best score before it, the one
it was judged against: the improvement replicates when the retrained score still beats
it. The test split is never read (the final refit is not part of this measure).

    python -m bench.replication --tasks iris,water --seeds 5 --budget 10 --out DIR
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from bench.common import machine
from lgt_graph import history
from lgt_graph.context import Settings
from lgt_graph.evaluation.metrics import gain
from lgt_graph.session import run_session
from lgt_graph.training import train as fit

RULES = {"fixed (--tolerance 0.01)": 0.01, "noise floor": None}
FRESH = 10_000
"""Added to a trial's seed for its retraining: another initialisation, the same split."""


def replications(task: str, seed: int, budget: int, tolerance: float | None, folder: Path) -> list:
    """Run one session; return, for each improvement, whether it replicated and by how much."""
    settings = Settings.resolve(
        task=task,
        budget=budget,
        seed=seed,
        tolerance=tolerance,
        threads=1,
        tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
    )
    outcome = run_session(settings, checkpoints=str(folder / "checkpoints.db"), echo=lambda _: None)
    state, ctx = outcome.values, outcome.ctx
    rows = []
    for verdict in state["verdicts"]:
        if verdict["outcome"] != "improved" or verdict["trial"] == 1:
            continue
        trial = history.trial(state, verdict["trial"])
        best = history.best_trial(state, ctx.maximize, before=verdict["trial"])
        if trial is None or best is None or best["score"] is None:
            continue
        again = fit(trial["config"], ctx.data, seed=seed + FRESH, placement=ctx.placement)
        score = again.score(ctx.primary)
        kept = score is not None and gain(score, best["score"], ctx.maximize) > 0
        rows.append(
            {
                "trial": verdict["trial"],
                "judged_gain": verdict["delta"],
                "floor": verdict.get("floor"),
                "retrained_gain": None if score is None else score - best["score"],
                "replicated": kept,
            }
        )
    return rows


def main() -> None:
    """Run the sessions, retrain each improvement, print and save the shares."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="iris,water")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("bench/out/replication"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "budget": args.budget, "rows": {}}
    lines = ["| task | rule | improvements | replicated | share |", "|---|---|---|---|---|"]
    for task in args.tasks.split(","):
        for rule, tolerance in RULES.items():
            rows = []
            for seed in range(args.seeds):
                with tempfile.TemporaryDirectory(dir=args.out) as folder:
                    found = replications(task, seed, args.budget, tolerance, Path(folder))
                rows += [{"seed": seed, **row} for row in found]
            kept = sum(r["replicated"] for r in rows)
            share = f"{kept / len(rows):.0%}" if rows else "-"
            lines.append(f"| {task} | {rule} | {len(rows)} | {kept} | {share} |")
            results["rows"][f"{task}/{rule}"] = rows
            print(lines[-1], flush=True)
    (args.out / "replication.json").write_text(json.dumps(results, indent=2))
    (args.out / "replication.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
