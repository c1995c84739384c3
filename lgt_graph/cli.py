"""Language-Guided Tuning from the command line: ``python -m lgt_graph COMMAND``.

User errors print one line and exit with status 2; heavy libraries are imported
only by the command that needs them, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from lgt_graph.errors import UserError

PROG = "python -m lgt_graph"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--task", required=True, help="a task from `tasks`, csv:PATH or imagefolder:PATH"
    )
    parser.add_argument("--target", help="label column of a csv:PATH task")
    parser.add_argument(
        "--problem",
        choices=("classification", "regression"),
        help="override the problem type inferred for a csv:PATH task",
    )
    parser.add_argument("--data-dir", help="folder holding the datasets (default: $LGT_DATA_DIR)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the splits and the training (default 0)"
    )
    parser.add_argument(
        "--max-train-samples",
        type=int,
        metavar="N",
        help="subsample the training split to N examples (stratified) for a quick run",
    )


def _comparison_options(parser: argparse.ArgumentParser, methods: str) -> None:
    """Add the options that ``compare`` and ``ablate`` share."""
    parser.add_argument("--task", required=True, help="tasks, comma-separated")
    parser.add_argument(
        "--methods",
        default=methods,
        help=f"comma-separated from {methods.replace(',', ', ')} (default: all)",
    )
    parser.add_argument("--budget", type=int, default=10, help="trials per method (default 10)")
    parser.add_argument("--seeds", default="1", help="a count (3) or a list (0,1,2); default 1")
    parser.add_argument("--out", required=True, help="folder for results.csv, .md and curves.png")
    parser.add_argument(
        "--sampler",
        default="tpe",
        choices=("tpe", "gp"),
        help="Optuna sampler of the bayes method (default tpe)",
    )
    parser.add_argument("--llm", help="LGT's model: heuristic (default) or openai:MODEL")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint for --llm openai:...")
    parser.add_argument("--max-train-samples", type=int, metavar="N")
    parser.add_argument("--data-dir", help="folder holding the datasets (default: $LGT_DATA_DIR)")
    parser.add_argument("--tracking-uri", help="MLflow store (default: ./mlflow.db)")
    _limit_option(parser)


def _limit_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="KNOB=MAX",
        help="narrow a numeric knob's range for every method: epochs=10 or batch_size=32:512",
    )


def parse_limits(flags: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Parse ``--limit knob=MAX`` or ``knob=MIN:MAX`` flags into (low, high) ranges."""
    from lgt_graph.space import FAMILIES, space_for

    limits = {}
    for flag in flags:
        name, sep, value = flag.partition("=")
        name = name.strip()
        spaces = [space_for(f) for f in FAMILIES if name in space_for(f)]
        if not sep:
            raise UserError(f"--limit expects knob=MAX or knob=MIN:MAX, got {flag!r}")
        if not spaces:
            numeric = sorted(
                {
                    k.name
                    for f in FAMILIES
                    for k in space_for(f).knobs.values()
                    if k.kind in ("int", "float")
                }
            )
            raise UserError(
                f"--limit {flag}: unknown knob {name!r}; numeric knobs: {', '.join(numeric)}"
            )
        low_text, colon, high_text = value.partition(":")
        try:
            low = float(low_text) if colon else float(spaces[0][name].low or 0)
            high = float(high_text if colon else value)
        except ValueError:
            raise UserError(f"--limit expects knob=MAX or knob=MIN:MAX, got {flag!r}") from None
        limits[name] = (low, high)
    return limits


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every command."""
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    tasks = commands.add_parser("tasks", help="list the tasks and whether their data is present")
    tasks.add_argument("--data-dir", help="folder holding the datasets (default: $LGT_DATA_DIR)")

    space = commands.add_parser("space", help="show a task's configuration space")
    space.add_argument("--task", required=True)
    space.add_argument("--target")
    space.add_argument("--problem", choices=("classification", "regression"))

    trial = commands.add_parser("trial", help="train one configuration and record it in MLflow")
    _data_options(trial)
    trial.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KNOB=VALUE",
        dest="assignments",
        help="change a knob of the default configuration (repeatable)",
    )
    trial.add_argument(
        "--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI or ./mlflow.db)"
    )
    trial.add_argument("--experiment", help="MLflow experiment (default: lgt-<task>)")
    trial.add_argument("--quiet", action="store_true", help="no per-epoch progress")

    run = commands.add_parser("run", help="tune a task with Language-Guided Tuning (the LGT graph)")
    run.add_argument("--task", help="a task from `tasks`, csv:PATH or imagefolder:PATH")
    run.add_argument("--target", help="label column of a csv:PATH task")
    run.add_argument("--problem", choices=("classification", "regression"))
    run.add_argument("--budget", type=int, help="trials to run (default 10; $LGT_BUDGET)")
    run.add_argument("--patience", type=int, help="stop after K trials without improvement")
    run.add_argument("--min-delta", type=float, help="smallest gain that counts for --patience")
    run.add_argument(
        "--stop-at", type=float, help="stop once the best validation metric reaches this"
    )
    run.add_argument(
        "--tolerance",
        type=float,
        help="roll back after a trial worse than the best by more than this fraction (0.01)",
    )
    run.add_argument("--llm", help="heuristic (default, offline) or openai:MODEL")
    run.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)")
    run.add_argument(
        "--structured-output",
        choices=("function_calling", "json_schema", "json_mode"),
        help="how a real model is asked for structured answers (default function_calling)",
    )
    run.add_argument("--timeout", type=float, help="seconds per LLM request (default 120)")
    run.add_argument("--max-retries", type=int, help="LLM request retries with backoff (3)")
    run.add_argument(
        "--on-endpoint-error",
        choices=("stop", "fallback"),
        help="when the LLM endpoint stays down: save and exit (stop, default) or carry on",
    )
    run.add_argument(
        "--node",
        action="append",
        default=[],
        metavar="SLOT=IMPL",
        help="swap a node: advisor=random, evaluator=numeric, optimizer=none, or module:Name",
    )
    run.add_argument("--seed", type=int, help="seed of the splits and the training (default 0)")
    run.add_argument("--max-train-samples", type=int, metavar="N")
    run.add_argument("--data-dir", help="folder holding the datasets (default: $LGT_DATA_DIR)")
    run.add_argument(
        "--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI or ./mlflow.db)"
    )
    run.add_argument("--experiment", help="MLflow experiment (default: lgt-<task>)")
    run.add_argument("--checkpoints", help="checkpoint database (default: beside the MLflow store)")
    run.add_argument(
        "--resume",
        metavar="ID",
        help="continue an interrupted session; --budget, --data-dir, --base-url, --timeout,"
        " --max-retries and --on-endpoint-error may change",
    )
    _limit_option(run)

    compare = commands.add_parser(
        "compare", help="compare LGT with NoTuning, random, grid, Bayesian and NAS baselines"
    )
    _comparison_options(compare, "none,random,grid,bayes,nas,lgt")
    ablate = commands.add_parser(
        "ablate", help="run LGT with nodes swapped out, to see which agent matters"
    )
    _comparison_options(ablate, "lgt,no-optimizer,numeric-evaluator,advisor-only,random-advisor")

    report = commands.add_parser(
        "report", help="write a session's story as an HTML page and markdown, from MLflow"
    )
    report.add_argument("run_id", metavar="RUN_ID", help="the session run (printed by `run`)")
    report.add_argument("--out", help="folder (default: lgt_reports/RUN_ID beside the store)")
    report.add_argument(
        "--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI or ./mlflow.db)"
    )

    ui = commands.add_parser("ui", help="start the MLflow UI on the project's store")
    ui.add_argument(
        "--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI or ./mlflow.db)"
    )
    ui.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000)")

    download = commands.add_parser("download", help="fetch a dataset from its canonical source")
    download.add_argument("task", help="mnist, cifar10, wine or house")
    download.add_argument(
        "--data-dir", help="where to put it (default: $LGT_DATA_DIR or the user data dir)"
    )
    download.add_argument("--mirror", help="base URL that replaces the canonical host")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command](args) or 0)
    except UserError as exc:
        # one line, whatever a library's message embedded in it holds
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _version() -> str:
    from lgt_graph import __version__

    return f"lgt_graph {__version__}"


def _check_data_dir(value: str | None) -> None:
    import os

    for label, path in (("--data-dir", value), ("LGT_DATA_DIR", os.environ.get("LGT_DATA_DIR"))):
        if path:
            if not Path(path).expanduser().is_dir():
                there = Path(path).expanduser().exists()
                raise UserError(f"{label} {path}: {'not a folder' if there else 'no such folder'}")
            if not os.access(Path(path).expanduser(), os.R_OK | os.X_OK):
                raise UserError(f"{label} {path}: folder is not readable")
            return


def cmd_tasks(args: argparse.Namespace) -> int:
    """List the built-in tasks with their data status, then the patterns for own data."""
    from lgt_graph.paths import data_dirs
    from lgt_graph.tasks import PATTERNS, TASKS

    _check_data_dir(args.data_dir)
    dirs = data_dirs(args.data_dir)
    rows: list[tuple[str, ...]] = [("task", "family", "metric", "data", "description")]
    for task in TASKS.values():
        status = "present" if task.available(dirs) else "missing"
        metric = f"{task.primary} ({'max' if task.direction == 'maximize' else 'min'})"
        rows.append((task.name, task.family, metric, status, task.description))
    _table(rows)
    print()
    for pattern, meaning in PATTERNS.items():
        print(f"  {pattern:<20} {meaning}")
    print("\nData is looked for in: " + ", ".join(str(d) for d in dirs))
    return 0


def cmd_space(args: argparse.Namespace) -> int:
    """Print the knobs of a task's configuration space."""
    from lgt_graph.space import space_for
    from lgt_graph.tasks import get_task

    task = get_task(args.task, args.target, args.problem)
    print(f"{task.name}: {task.family} space\n")
    print(space_for(task.family).describe())
    return 0


def cmd_trial(args: argparse.Namespace) -> int:
    """Train one configuration, print its validation metrics, record it in MLflow."""
    from lgt_graph.space import diff, space_for
    from lgt_graph.tasks import get_task, load_task_data
    from lgt_graph.tracking import Tracker, check_uri, tracking_uri, ui_command
    from lgt_graph.training import train

    _check_data_dir(args.data_dir)
    task = get_task(args.task, args.target, args.problem)
    space = space_for(task.family)
    changes = space.parse_assignments(args.assignments)
    config = space.apply(space.default(), changes)
    uri = tracking_uri(args.tracking_uri)
    check_uri(uri)
    data = load_task_data(task, args.seed, args.data_dir, args.max_train_samples)
    summary = data.summary()
    _err(
        f"{task.name}: {summary['train']} train / {summary['val']} validation examples"
        f" ({summary['test']} test held out), from {summary['source']}"
    )
    for note in data.notes:
        _err(f"note: {note}")
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).exists():
        _err(f"creating the MLflow store {uri} (first use takes a few seconds)")
    tracker = Tracker(uri, args.experiment or experiment_name(task.name))
    changed = ", ".join(str(c) for c in diff(space.default(), config)) or "default configuration"
    _err(f"training: {changed}")
    result = train(config, data, progress=None if args.quiet else _progress(task.primary))
    run_id = tracker.log_trial(
        result,
        tags={"task": task.name, "family": task.family, "seed": str(args.seed), "kind": "trial"},
        run_name=f"trial-{task.name}",
    ).result()
    tracker.close()
    if result.ok:
        scores = "  ".join(f"val_{k} {v:.4f}" for k, v in result.metrics.items())
        print(f"{scores}  ({result.wall_time:.1f}s)")
    else:
        print(f"failed: {result.reason}")
    print(f"MLflow run {run_id} in experiment {tracker.experiment!r}; browse: {ui_command(uri)}")
    return 0 if result.ok else 1


def cmd_download(args: argparse.Namespace) -> int:
    """Fetch a dataset from its canonical source, verifying its checksum."""
    from lgt_graph.download import download

    target = download(args.task, args.data_dir, args.mirror)
    print(f"{args.task}: ready in {target}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report of a recorded session."""
    from lgt_graph.report import report_dir, write_report
    from lgt_graph.tracking import check_uri, tracking_uri

    uri = tracking_uri(args.tracking_uri)
    check_uri(uri)
    out = Path(args.out) if args.out else report_dir(uri, args.run_id)
    html_path, md_path = write_report(uri, args.run_id, out)
    print(f"report: {html_path} (markdown: {md_path})")
    return 0


def runs_links(uri: str, base: str) -> list[tuple[str, str]]:
    """Return each experiment's link to the UI's runs table (sessions, nested trials, charts).

    MLflow 3 opens an experiment in its GenAI view unless told otherwise, and ours hold
    model-tuning runs; ``workflowType=machine_learning`` opens the runs table instead.
    """
    from mlflow.exceptions import MlflowException

    from lgt_graph.tracking import open_client

    try:
        experiments = open_client(uri).search_experiments(order_by=["name ASC"])
    except MlflowException as exc:
        raise UserError(f"cannot open the MLflow store at {uri}: {exc.message}") from None
    return [
        (e.name, f"{base}/#/experiments/{e.experiment_id}/runs?workflowType=machine_learning")
        for e in experiments
        if e.name != "Default"
    ]


def cmd_ui(args: argparse.Namespace) -> int:
    """Serve the MLflow UI on the store at 127.0.0.1 until interrupted."""
    import os

    from lgt_graph.tracking import check_uri, tracking_uri

    uri = tracking_uri(args.tracking_uri)
    check_uri(uri)
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).is_file():
        raise UserError(f"no MLflow store at {uri} yet; run a session first (or --tracking-uri)")
    if not 0 < args.port < 65536:
        raise UserError(f"--port {args.port}: give a port between 1 and 65535")
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    command += ["--host", "127.0.0.1", "--port", str(args.port), "--workers", "1"]
    base = f"http://127.0.0.1:{args.port}"
    print(f"MLflow UI on {base} for {uri} (Ctrl-C stops it)")
    for name, link in runs_links(uri, base):
        print(f"  {name}: {link}")
    sys.stdout.flush()
    os.execv(sys.executable, command)  # the UI becomes this process: signals reach it
    return 0  # pragma: no cover - execv does not return


def cmd_run(args: argparse.Namespace) -> int:
    """Tune a task with the LGT graph; print a line per trial and the summary."""
    from lgt_graph.context import Settings
    from lgt_graph.registry import parse_node_flags
    from lgt_graph.session import print_summary, run_session
    from lgt_graph.tracking import ui_command

    if not args.task and not args.resume:
        raise UserError("run needs --task (or --resume ID)")
    if args.resume and args.task:
        raise UserError("--resume continues a recorded session; drop --task")
    _check_data_dir(args.data_dir)
    nodes = parse_node_flags(args.node)
    settings = Settings.resolve(
        task=args.task or "",
        target=args.target,
        problem=args.problem,
        budget=args.budget,
        patience=args.patience,
        min_delta=args.min_delta,
        stop_at=args.stop_at,
        tolerance=args.tolerance,
        seed=args.seed,
        llm=args.llm,
        base_url=args.base_url,
        structured_output=args.structured_output,
        timeout=args.timeout,
        max_retries=args.max_retries,
        on_endpoint_error=args.on_endpoint_error,
        nodes=nodes or None,
        max_train_samples=args.max_train_samples,
        data_dir=args.data_dir,
        tracking_uri=args.tracking_uri,
        experiment=args.experiment,
        limits=parse_limits(args.limit) or None,
    )
    from lgt_graph.agents import EndpointUnavailable

    try:
        outcome = run_session(settings, args.resume, args.checkpoints, echo=_err)
    except KeyboardInterrupt:
        return 130
    except EndpointUnavailable:
        return 3
    print_summary(outcome.values, outcome.ctx, print)
    print(
        f"\nMLflow: session run {outcome.session_id} in experiment"
        f" {outcome.ctx.tracker.experiment!r}; browse: {ui_command(outcome.ctx.tracker.uri)}"
    )
    from lgt_graph.report import publish_report

    page = publish_report(outcome.ctx.tracker.uri, outcome.session_id)
    print(f"report: {page}" if page else "report: not written (see the warning above)")
    return 0 if outcome.values.get("final", {}).get("status") == "ok" else 1


def cmd_compare(args: argparse.Namespace) -> int:
    """Run the comparison of LGT with the baselines; write and log the results."""
    from lgt_graph.compare import TITLES, log_comparison, parse_seeds, run_comparison

    _check_data_dir(args.data_dir)
    tasks = [t.strip() for t in args.task.split(",") if t.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.budget < 1:
        raise UserError(f"--budget must be at least 1 trial, got {args.budget}")
    seeds = parse_seeds(args.seeds)
    common = {
        "llm": args.llm,
        "base_url": args.base_url,
        "max_train_samples": args.max_train_samples,
        "data_dir": args.data_dir,
        "tracking_uri": args.tracking_uri,
        "limits": parse_limits(args.limit) or None,
    }
    for task in tasks:  # fail on a bad task or missing data before hours of work
        from lgt_graph.tasks import get_task, load_task_data

        load_task_data(get_task(task), 0, args.data_dir, args.max_train_samples)
    out = Path(args.out)
    kind = args.command
    rows = run_comparison(
        tasks, methods, args.budget, seeds, out, common, args.sampler, _err, TITLES[kind]
    )
    params = {
        "tasks": ",".join(tasks),
        "methods": ",".join(methods),
        "budget": args.budget,
        "seeds": ",".join(map(str, seeds)),
        "sampler": args.sampler,
        **{k: v for k, v in common.items() if v is not None},
    }
    run_id = log_comparison(rows, out, args.tracking_uri, params, kind)
    print((out / "results.md").read_text())
    print(
        f"wrote {out / 'results.csv'}, {out / 'results.md'}, {out / 'curves.png'};"
        f" MLflow {'comparison' if kind == 'compare' else 'ablation'} run {run_id}"
    )
    return 0


COMMANDS = {
    "tasks": cmd_tasks,
    "space": cmd_space,
    "trial": cmd_trial,
    "run": cmd_run,
    "compare": cmd_compare,
    "ablate": cmd_compare,
    "download": cmd_download,
    "report": cmd_report,
    "ui": cmd_ui,
}


def experiment_name(task: str) -> str:
    """Return the default MLflow experiment of a task."""
    if ":" in task:
        kind, _, path = task.partition(":")
        return f"lgt-{kind}-{Path(path).stem}"
    return f"lgt-{task}"


def _progress(primary: str):  # type: ignore[no-untyped-def]
    def show(row: dict[str, Any]) -> None:
        every = max(1, row["epochs"] // 20)
        if row["epoch"] % every and row["epoch"] != row["epochs"]:
            return
        _err(
            f"  epoch {row['epoch']:>3}/{row['epochs']}  train_loss {row['train_loss']:.4f}"
            f"  val_loss {row['val_loss']:.4f}  val_{primary} {row[f'val_{primary}']:.4f}"
        )

    return show


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))
