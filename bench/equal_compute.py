"""Run one task's equal-compute comparison as parallel streams of one thread each, then combine.

Every method gets the same ``--seconds`` of training on one CPU thread (``--threads 1``),
so a machine with N cores runs N methods side by side without any of them getting more
compute than another. LGT runs at its own ``--lgt-loop`` (``both`` for images: the
paper's loop inside each trial), the baselines at the trial level, the only loop they
have; the agents' samplers (``lgt-optuna``, ``hybrid``) at ``--agents-loop``: the trial
level, or ``both`` (LGT's epoch-level loop inside each of their trials). Each part is a
``compare --out DIR/part-NAME`` of its own, resumable with ``--resume``; the combined
results.md (with the paired intervals) goes to ``DIR``.
Run: python -m bench.equal_compute --task cifar10 --seconds 1800 --seeds 1 --streams 2 \
    --out /work/results16/eq_cifar10 [--lgt-loop both] [--resume] [-- extra compare flags]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.combine import load
from lgt_graph.compare.render import write_outputs
from lgt_graph.graph.methods import COMPARED, METHODS

BASELINE_ORDER = ("random", "grid", "bayes", "cmaes", "hyperband", "nas", "none")
"""The baselines, costliest first (NoTuning trains once), so the streams finish together."""


def parts(
    methods: list[str], lgt_loop: str, agents_loop: str = "trial"
) -> list[tuple[str, list[str]]]:
    """Return the comparison's parts: LGT at its loop, then each baseline alone.

    A sampler of LGT's agents (a method with an ``inner`` epoch-level loop) runs at
    ``agents_loop``; every other baseline at the trial level.
    """
    out = [("lgt", ["--methods", "lgt", "--loop", lgt_loop])] if "lgt" in methods else []
    ordered = [m for m in BASELINE_ORDER if m in methods] + [
        m for m in methods if m not in BASELINE_ORDER and m != "lgt"
    ]
    for m in ordered:
        at = agents_loop if m in METHODS and METHODS[m].inner is not None else "trial"
        out.append((m, ["--methods", m] + (["--loop", at] if at != "trial" else [])))
    return out


def where_nets_train(extra: list[str]) -> str:
    """Say where the parts' nets trained, from the compare flags passed through."""
    device = extra[extra.index("--device") + 1] if "--device" in extra[:-1] else "cpu"
    if device == "cpu":
        return ""
    amp = ", mixed precision" if "--amp" in extra else ""
    return f", nets on {device} (one device shared by the parts at a time{amp})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True)
    parser.add_argument("--seconds", type=float, required=True, help="training seconds per method")
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--streams", type=int, default=2, help="parts run at once (one core each)")
    parser.add_argument("--methods", default=",".join(COMPARED))
    parser.add_argument("--lgt-loop", default="trial", choices=("trial", "both"))
    parser.add_argument(
        "--agents-loop",
        default="trial",
        choices=("trial", "both"),
        help="the loop of lgt-optuna and hybrid: trial, or both (LGT's epoch loop inside)",
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--resume", action="store_true")
    args, extra = parser.parse_known_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill stops the parts too
    extra = [a for a in extra if a != "--"]
    args.out.mkdir(parents=True, exist_ok=True)
    common = ["--task", args.task, "--budget-seconds", f"{args.seconds:g}", "--seeds", args.seeds]
    common += [
        "--threads",
        "1",
        "--tracking-uri",
        f"sqlite:///{(args.out / 'mlflow.db').resolve()}",
    ]
    queue = parts(args.methods.split(","), args.lgt_loop, args.agents_loop)
    running: list[tuple[str, subprocess.Popen[bytes]]] = []
    failed: list[str] = []
    try:
        while queue or running:
            while queue and len(running) < args.streams:
                name, flags = queue.pop(0)
                folder = args.out / f"part-{name}"
                resume = (
                    ["--resume"] if args.resume and (folder / "comparison.json").exists() else []
                )
                command = [sys.executable, "-m", "lgt_graph", "compare", *common, *flags, *extra]
                command += ["--out", str(folder), *resume]
                log = (args.out / f"part-{name}.log").open("ab")
                print(f"start {name}: {' '.join(command[1:])}", flush=True)
                running.append((name, subprocess.Popen(command, stdout=log, stderr=log)))
            time.sleep(2)
            for name, process in list(running):
                if process.poll() is not None:
                    running.remove((name, process))
                    print(f"done {name}: exit {process.returncode}", flush=True)
                    if process.returncode != 0:
                        failed.append(name)
    finally:  # stopped (Ctrl-C, a kill): stop the parts too; --resume continues them
        for _, process in running:
            process.terminate()
    done = [p for p in sorted(args.out.glob("part-*")) if (p / "sessions.jsonl").exists()]
    rows, seeds = load(done)
    agents = f", lgt-optuna and hybrid at --loop {args.agents_loop}"
    note = (
        f"Equal compute: {args.seconds:g} s of training per method, one CPU thread each"
        f"{where_nets_train(extra)} ({args.streams} methods at a time);"
        f" LGT at --loop {args.lgt_loop}{agents if args.agents_loop != 'trial' else ''}"
    )
    write_outputs(rows, args.out, None, seeds, budget_note=note)
    print((args.out / "results.md").read_text())
    if failed:
        sys.exit(f"parts that failed (see their logs in {args.out}): {', '.join(failed)}")


if __name__ == "__main__":
    main()
