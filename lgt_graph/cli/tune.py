"""The commands that tune: ``run`` one session, ``compare`` or ``ablate`` many."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lgt_graph.cli.flags import parse_drop, parse_limits, parse_start
from lgt_graph.cli.parser import PROG
from lgt_graph.cli.tools import check_data_dir, err, live_epochs, terminal_echo
from lgt_graph.errors import StorageError, Terminated, UserError
from lgt_graph.graph.methods import METHODS


def cmd_run(args: argparse.Namespace) -> int:
    """Tune a task with the LGT graph; print a line per trial and the summary."""
    from lgt_graph.context import Settings
    from lgt_graph.graph.registry import parse_node_flags

    if not args.task and not args.resume:
        raise UserError("run needs --task (or --resume ID)")
    if args.resume and (
        args.task
        or args.method
        or args.loop
        or args.segment
        or args.keep_checkpoints
        or args.start
        or args.drop
        or args.amp is not None
    ):
        raise UserError(
            "--resume continues a recorded session as it was set up; leave out"
            " --task/--method/--loop/--segment/--keep-checkpoints/--set/--drop/--amp"
        )
    check_data_dir(args.data_dir)
    nodes = parse_node_flags(args.node)
    settings = Settings.resolve(
        task=args.task or "",
        target=args.target,
        problem=args.problem,
        drop=parse_drop(args.drop) or None,
        metric=args.metric,
        method=args.method,
        loop=args.loop,
        segment=args.segment,
        keep_checkpoints=args.keep_checkpoints,
        start=parse_start(args.start) or None,
        budget=args.budget,
        budget_epochs=args.budget_epochs,
        budget_seconds=args.budget_seconds,
        patience=args.patience,
        min_delta=args.min_delta,
        stop_at=args.stop_at,
        tolerance=args.tolerance,
        seed=args.seed,
        llm=args.llm,
        llm_share=args.llm_share,
        stall=args.stall,
        follow=args.follow,
        experience=args.experience,
        base_url=args.base_url,
        structured_output=args.structured_output,
        context_window=args.context_window,
        timeout=args.timeout,
        max_retries=args.max_retries,
        on_endpoint_error=args.on_endpoint_error,
        nodes=nodes or None,
        max_train_samples=args.max_train_samples,
        threads=args.threads,
        device=args.device,
        amp=args.amp,
        executor=args.executor,
        ray_address=args.ray_address,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
        workers=args.workers,
        data_dir=args.data_dir,
        tracking_uri=args.tracking_uri,
        experiment=args.experiment,
        limits=parse_limits(args.limit) or None,
    )
    if not args.resume:
        checked_task(
            settings.task, settings.metric, settings.target, settings.problem, settings.drop
        )
    # Only now the heavy libraries (torch, MLflow, LangGraph): a wrong flag was one line at once.
    from lgt_graph.agents.calling import EndpointUnavailable
    from lgt_graph.session import print_summary, run_session
    from lgt_graph.tracking import ui_command

    # On a terminal a trial's epochs show on one live line; piped, the output stays lines.
    live = sys.stderr.isatty()
    peer = not args.resume and METHODS[settings.method].peer is not None
    try:
        if peer:  # a whole tool's search on the session's splits, not the graph
            from lgt_graph.peers.session import run_peer

            outcome = run_peer(settings, args.checkpoints, echo=err)
        else:
            outcome = run_session(
                settings,
                args.resume,
                args.checkpoints,
                echo=terminal_echo if live else err,
                epochs=live_epochs if live else None,
            )
    except Terminated:
        return 143
    except StorageError:
        return 4  # the runner said why, and how to resume
    except KeyboardInterrupt:
        return 130
    except EndpointUnavailable:
        return 3
    if peer:
        final = outcome.values["final"]
        if final["status"] != "ok":
            return 1  # run_peer said why, and which MLflow run holds the traceback
        print(f"{final['tool']}: chose {final['config']}")
        print("test: " + ", ".join(f"{k} {v:.4f}" for k, v in final["test"].items()))
    else:
        print_summary(outcome.values, outcome.ctx, print)
    print(
        f"\nMLflow: session run {outcome.session_id} in experiment"
        f" {outcome.ctx.tracker.experiment!r}; browse: {ui_command(outcome.ctx.tracker.uri)}"
    )
    if peer:
        return 0
    from lgt_graph.report import publish_report

    page = publish_report(outcome.ctx.tracker.uri, outcome.session_id)
    print(f"report: {page}" if page else "report: not written (see the warning above)")
    return 0 if outcome.values.get("final", {}).get("status") == "ok" else 1


def cmd_compare(args: argparse.Namespace) -> int:
    """Run the comparison of LGT with the baselines; write and log the results."""
    from lgt_graph.compare.plan import CSV_ONLY, parse_seeds, plan_sessions
    from lgt_graph.graph.methods import COMPARED, COMPARED_EPOCH, VARIANTS, VARIANTS_EPOCH

    check_data_dir(args.data_dir)
    kind = args.command
    tasks = [t.strip() for t in args.task.split(",") if t.strip()]
    epoch = args.loop == "epoch"
    defaults = (
        (COMPARED_EPOCH if epoch else COMPARED)
        if kind == "compare"
        else (VARIANTS_EPOCH if epoch else VARIANTS)
    )
    methods = [m.strip() for m in (args.methods or ",".join(defaults)).split(",") if m.strip()]
    seeds = parse_seeds(args.seeds)
    common = {
        "target": args.target,
        "problem": args.problem,
        "drop": parse_drop(args.drop) or None,
        "metric": args.metric,
        "llm": args.llm,
        "llm_share": args.llm_share,
        "stall": args.stall,
        "experience": args.experience,
        "follow": args.follow,
        "base_url": args.base_url,
        "max_train_samples": args.max_train_samples,
        "threads": args.threads,
        "device": args.device,
        "amp": args.amp,
        "executor": args.executor,
        "ray_address": args.ray_address,
        "cpus_per_trial": args.cpus_per_trial,
        "gpus_per_trial": args.gpus_per_trial,
        "workers": args.workers,
        "data_dir": args.data_dir,
        "tracking_uri": args.tracking_uri,
        "limits": parse_limits(args.limit) or None,
        "loop": args.loop,
        "segment": args.segment,
        "keep_checkpoints": args.keep_checkpoints,
        "start": parse_start(args.start) or None,
        "budget_epochs": args.budget_epochs,
        "budget_seconds": args.budget_seconds,
    }
    if (args.target or args.problem or args.drop) and not any(t.startswith("csv:") for t in tasks):
        raise UserError("--target, --problem and --drop apply to csv:<path> tasks only")
    nodes = {"bayes": {"advisor": "bayes-gp"}} if args.sampler == "gp" else {}
    if args.finalize:  # every method that runs the graph; a peer makes its own final choice
        for name in methods:
            if METHODS[name].peer is None:
                nodes[name] = {**nodes.get(name, {}), "finalize": args.finalize}
    # every session's settings, and each task's --metric, are one line before heavy imports
    plan_sessions(tasks, methods, args.budget, seeds, common, nodes)
    specs = {}
    for task in tasks:
        csv = {k: common[k] for k in CSV_ONLY} if task.startswith("csv:") else {}
        specs[task] = checked_task(task, args.metric, **csv)
    from lgt_graph.compare.log import log_comparison
    from lgt_graph.compare.render import OUTPUTS, TITLES
    from lgt_graph.compare.run import run_comparison
    from lgt_graph.context import Settings
    from lgt_graph.session.opening import data_line
    from lgt_graph.tasks import load_task_data

    loaded = {}
    for task, spec in specs.items():  # fail on missing data before hours of work
        loaded[task] = load_task_data(spec, 0, args.data_dir, args.max_train_samples)
    for task, data in loaded.items():  # what was inferred, once per task: every method sees it
        err(f"{task}: {data_line(Settings.resolve(task=task, metric=args.metric), data)}")
        for note in data.notes:
            err(f"  note: {note}")
    out = Path(args.out)
    params = {
        "tasks": ",".join(tasks),
        "methods": ",".join(methods),
        "budget": args.budget,
        "seeds": ",".join(map(str, seeds)),
        "sampler": args.sampler,
        **{k: v for k, v in common.items() if v is not None},
    }
    from lgt_graph.agents.calling import EndpointUnavailable

    # A session that stops keeps what it did (and the sessions before it, in out): say how
    # to go on. The sessions' own lines are not shown in a comparison, so the reason goes here.
    saved = f"the {'comparison' if kind == 'compare' else 'ablation'} in {out} is saved"
    again = continue_command(args.argv)
    try:
        rows = run_comparison(
            tasks, methods, args.budget, seeds, out, common, nodes, err, TITLES[kind], args.resume
        )
        run_id = log_comparison(rows, out, args.tracking_uri, params, kind)
    except KeyboardInterrupt as exc:  # Terminated too
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        err(f"{what}: {saved}; continue with: {again}")
        return 143 if isinstance(exc, Terminated) else 130
    except EndpointUnavailable as exc:
        err(f"the LLM endpoint still failed after its retries ({exc}); {saved}: once the"
            f" endpoint is back, continue with: {again}")  # fmt: skip
        return 3
    except StorageError as exc:
        err(f"{exc}; {saved} up to its last complete step: free space or fix permissions,"
            f" then continue with: {again}")  # fmt: skip
        return 4
    print((out / "results.md").read_text())
    print(
        f"wrote {', '.join(str(out / name) for name in OUTPUTS)};"
        f" MLflow {'comparison' if kind == 'compare' else 'ablation'} run {run_id}"
    )
    return 0


def checked_task(
    task: str,
    metric: str | None,
    target: str | None = None,
    problem: str | None = None,
    drop: Sequence[str] | None = None,
) -> Any:
    """Return the task a ``--task`` names; reject a ``--metric`` that does not score it.

    Before its data is read: a built-in task's problem is in its spec, a CSV's is read
    from its label column (or given by ``--problem``).
    """
    from lgt_graph.evaluation.metrics import check_metric
    from lgt_graph.tasks import get_task

    spec = get_task(task, target, problem, drop or ())  # type: ignore[arg-type]
    check_metric(metric, spec.problem)
    return spec


def continue_command(argv: Sequence[str]) -> str:
    """Return the command that continues a stopped comparison: the same one, with --resume."""
    words = list(argv)
    return f"{PROG} {shlex.join(words if '--resume' in words else [*words, '--resume'])}"
