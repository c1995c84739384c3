"""Do the epoch-level loop's kept changes replicate? Each rerun from its checkpoint, another seed.

For each task, seed and rule, one LGT session runs at ``--loop epoch`` (one training run,
live knobs changed between segments, each change judged on a paired segment) with every
segment's checkpoint kept (``--keep-checkpoints``). Each change the run kept (improved
against its paired control) is rerun from the same start checkpoint — weights and
optimiser state — with another random seed (the order of the batches, dropout,
augmentation), both branches, the same epochs: the change replicates when its candidate
still beats the control. The rules: the paired noise floor (the default) and the fixed
rule (``--tolerance 0.01``: any gain over the control improved). Also reported per rule:
the changes judged and kept, and the segments trained on without a proposal (patience).
The test split is read once per session, by its final scoring, never by the reruns.

    python -m bench.segment_replication --tasks mnist,cifar10 --seeds 3 --budget 40 --out DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.common import machine, mean_sd
from lgt_graph import history
from lgt_graph.context import Context, Settings
from lgt_graph.evaluation.metrics import gain, paired_standard_error
from lgt_graph.session import run_session
from lgt_graph.state import Trial
from lgt_graph.training.result import TrialResult

RULES = {"paired noise floor": None, "fixed (--tolerance 0.01)": 0.01}
FRESH = 10_000
"""Added to the session's seed for the reruns: another order of batches, the same split."""


def rerun(ctx: Context, trial: Trial, control: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train a kept segment's two branches again from its start checkpoint with ``seed``."""
    import torch

    from lgt_graph.training.segments import NeuralRun

    segment = trial["segment"]
    ends = []
    for config in (trial["config"], control):
        run = NeuralRun.load(dict(segment["start"]), ctx.data, seed, placement=ctx.placement)
        torch.manual_seed(seed)  # the checkpoint's random state, replaced by another seed's
        run.generator.manual_seed(seed)
        run.reconfigure(dict(config))
        ends.append(TrialResult.of_fit(dict(config), run.train(segment["epochs"], ctx.primary), 0))
    candidate, again = ends
    score, reference = candidate.score(ctx.primary), again.score(ctx.primary)
    floor = None
    if candidate.validation is not None and again.validation is not None:
        floor = paired_standard_error(
            ctx.primary, ctx.data.y_val, candidate.validation, again.validation, ctx.data.n_classes
        )
    rerun_gain = (
        None if score is None or reference is None else gain(score, reference, ctx.maximize)
    )
    return {"rerun_gain": rerun_gain, "rerun_floor": floor}


def session_rows(task: str, seed: int, budget: int, tolerance: float | None, folder: Path) -> dict:
    """Run one session, rerun each kept change; return its counts and the reruns."""
    settings = Settings.resolve(
        task=task,
        loop="epoch",
        budget=budget,
        seed=seed,
        tolerance=tolerance,
        threads=1,
        keep_checkpoints=True,
        tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
    )
    outcome = run_session(settings, checkpoints=str(folder / "checkpoints.db"), echo=lambda _: None)
    state, ctx = outcome.values, outcome.ctx
    judged, reruns = 0, []
    for verdict in state["verdicts"]:
        trial = history.trial(state, verdict["trial"])
        if trial is None or not trial["changes"] or not trial["segment"]["paired"]:
            continue
        judged += 1
        if verdict["outcome"] != "improved":
            continue
        base = history.trial(state, trial["base"])
        control = base["config"] if base else ctx.space.default()
        again = rerun(ctx, trial, control, seed + FRESH)
        replicated = again["rerun_gain"] is not None and again["rerun_gain"] > 0
        reruns.append(
            {
                "trial": trial["index"],
                "changes": [f"{c['knob']}={c['new']}" for c in trial["changes"]],
                "judged_gain": verdict["delta"],
                "floor": verdict.get("floor"),
                **again,
                "replicated": replicated,
            }
        )
    final = state.get("final") or {}
    waits = sum(p["status"] == "patience" for p in state["proposals"])
    return {
        "seed": seed,
        "test": (final.get("test") or {}).get(ctx.primary),
        "judged": judged,
        "kept": len(reruns),
        "patience_segments": waits,
        "reruns": reruns,
    }


def _row(task: str, rule: str, sessions: list[dict]) -> str:
    tests = [s["test"] for s in sessions if s["test"] is not None]
    test = mean_sd(tests)
    judged = sum(s["judged"] for s in sessions)
    kept = sum(s["kept"] for s in sessions)
    reruns = [r for s in sessions for r in s["reruns"]]
    replicated = sum(r["replicated"] for r in reruns)
    share = f"{kept / judged:.0%}" if judged else "-"
    again = f"{replicated / len(reruns):.0%}" if reruns else "-"
    waits = sum(s["patience_segments"] for s in sessions)
    return (
        f"| {task} | {rule} | {test} | {judged} | {kept} ({share}) | {replicated} of"
        f" {len(reruns)} ({again}) | {waits} |"
    )


def main() -> None:
    """Run the sessions, rerun each kept change, print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="digits")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("bench/out/segment_replication"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "budget": args.budget, "rows": {}}
    lines = [
        "| task | rule | test | changes judged | kept (share) | replicated (share) |"
        " patience segments |",
        "|---|---|---|---|---|---|---|",
    ]
    for task in args.tasks.split(","):
        for rule, tolerance in RULES.items():
            sessions = []
            for seed in range(args.seeds):
                folder = args.out / f"{task}-{'floor' if tolerance is None else 'fixed'}-{seed}"
                folder.mkdir(parents=True, exist_ok=True)
                sessions.append(session_rows(task, seed, args.budget, tolerance, folder))
                print(f"{task} {rule} seed {seed}: {json.dumps(sessions[-1])}", flush=True)
            results["rows"][f"{task}/{rule}"] = sessions
            lines.append(_row(task, rule, sessions))
            print(lines[-1], flush=True)
    (args.out / "segment_replication.json").write_text(json.dumps(results, indent=2))
    (args.out / "segment_replication.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
