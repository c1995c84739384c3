"""The commands that inspect and prepare: tasks, space, trial, download, report, ui."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lgt_graph.cli.flags import parse_drop
from lgt_graph.errors import UserError


def check_data_dir(value: str | None) -> None:
    """Reject a ``--data-dir`` (or ``LGT_DATA_DIR``) that is not a readable folder."""
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
    from lgt_graph.tasks import PATTERNS, TASKS
    from lgt_graph.tasks.paths import data_dirs

    check_data_dir(args.data_dir)
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
    """Print the knobs of a task's configuration space, shaped by its data where it is at hand.

    Every method searches the shaped space; without the data (or for images, which
    nothing shapes) the space is shown as it is before the data shapes it.
    """
    from lgt_graph.space import space_for
    from lgt_graph.space.shape import shaped_by_data
    from lgt_graph.tasks import get_task, load_task_data

    task = get_task(args.task, args.target, args.problem, parse_drop(args.drop))
    space = space_for(task.family)
    if task.family == "image":
        print(f"{task.name}: {task.family} space\n")
    else:
        check_data_dir(args.data_dir)
        try:
            data = load_task_data(task, 0, args.data_dir, args.max_train_samples)
        except UserError as exc:
            print(f"{task.name}: {task.family} space, not shaped by the data ({exc})\n")
        else:
            space, notes = shaped_by_data(space, data)
            print(
                f"{task.name}: {task.family} space, shaped by its {len(data.y_train)} training"
                " examples (what every method searches)"
            )
            for note in notes:
                print(f"note: {note}")
            print()
    print(space.describe())
    return 0


def cmd_trial(args: argparse.Namespace) -> int:
    """Train one configuration, print its validation metrics, record it in MLflow."""
    from lgt_graph.session.naming import experiment_name
    from lgt_graph.space import diff, space_for
    from lgt_graph.tasks import get_task, load_task_data
    from lgt_graph.tracking import Tracker, check_uri, tracking_uri, ui_command
    from lgt_graph.training import train

    check_data_dir(args.data_dir)
    task = get_task(args.task, args.target, args.problem, parse_drop(args.drop))
    seed = 0 if args.seed is None else args.seed
    space = space_for(task.family)
    changes = space.parse_assignments(args.assignments)
    config = space.apply(space.default(), changes)
    uri = tracking_uri(args.tracking_uri)
    check_uri(uri)
    data = load_task_data(task, seed, args.data_dir, args.max_train_samples)
    summary = data.summary()
    err(
        f"{task.name}: {summary['train']} train / {summary['val']} validation examples"
        f" ({summary['test']} test held out), from {summary['source']}"
    )
    for note in data.notes:
        err(f"note: {note}")
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).exists():
        err(f"creating the MLflow store {uri} (first use takes a few seconds)")
    tracker = Tracker(uri, args.experiment or experiment_name(task.name))
    changed = ", ".join(str(c) for c in diff(space.default(), config)) or "default configuration"
    err(f"training: {changed}")
    result = train(config, data, progress=None if args.quiet else _progress(task.primary))
    run_id = tracker.log_trial(
        result,
        tags={"task": task.name, "family": task.family, "seed": str(seed), "kind": "trial"},
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
    from lgt_graph.tasks.download import download

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


def cmd_ui(args: argparse.Namespace) -> int:
    """Serve the MLflow UI on the store at 127.0.0.1 until interrupted."""
    import os

    from lgt_graph.cli.serve import check_port_free, serve
    from lgt_graph.tracking import check_uri, tracking_uri
    from lgt_graph.tracking.store import runs_links

    uri = tracking_uri(args.tracking_uri)
    check_uri(uri)
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).is_file():
        raise UserError(f"no MLflow store at {uri} yet; run a session first (or --tracking-uri)")
    if not 0 < args.port < 65536:
        raise UserError(f"--port {args.port}: give a port between 1 and 65535")
    check_port_free(args.port)
    # MLflow's job consumers (seven processes) run GenAI jobs we never submit; on two busy
    # cores they double the time to the first answer and make Ctrl-C take most of a minute.
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    command += ["--host", "127.0.0.1", "--port", str(args.port), "--workers", "1"]
    base = f"http://127.0.0.1:{args.port}"
    banner = [f"MLflow UI on {base} for {uri} (Ctrl-C stops it)"]
    banner += [f"  {name}: {link}" for name, link in runs_links(uri, base)]
    return serve(command, base, banner)


def _progress(primary: str):  # type: ignore[no-untyped-def]
    def show(row: dict[str, Any]) -> None:
        every = max(1, row["epochs"] // 20)
        staged = row.get("unit", "epoch") != "epoch"  # a forest's ten stages: each is shown
        if not staged and row["epoch"] % every and row["epoch"] != row["epochs"]:
            return
        err(
            f"  {row.get('unit', 'epoch')} {row['epoch']:>3}/{row['epochs']}"
            f"  train_loss {row['train_loss']:.4f}"
            f"  val_loss {row['val_loss']:.4f}  val_{primary} {row[f'val_{primary}']:.4f}"
        )

    return show


def err(line: str) -> None:
    """Print a progress or status line to stderr (stdout keeps the results)."""
    print(line, file=sys.stderr, flush=True)


CLEAR = "\r\x1b[K"
"""Back to the start of the terminal's line, and erase it."""


def terminal_echo(line: str) -> None:
    """Print a line to a terminal's stderr over the live epoch line, if one is shown."""
    print(CLEAR + line, file=sys.stderr, flush=True)


def live_epochs(row: dict[str, Any]) -> None:
    """Show a trial's latest epoch (or a forest's latest stage) on one live line of the terminal."""
    primary = row.get("primary", "loss")
    metric = row.get(f"val_{primary}")
    score = f"  val_{primary} {metric:.4f}" if metric is not None else ""
    unit = row.get("unit", "epoch")
    sys.stderr.write(
        f"{CLEAR}  {unit} {row['epoch']}/{row['epochs']}  train_loss {row['train_loss']:.4f}{score}"
    )
    sys.stderr.flush()


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))
