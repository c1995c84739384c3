"""The command line's grammar: every command, its options and their help.

Nothing heavy is imported here, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

from lgt_graph import __version__
from lgt_graph.cli.options import budget_options, executor_options, hybrid_options, llm_options
from lgt_graph.context import DEVICES
from lgt_graph.evaluation.metrics import DIRECTIONS
from lgt_graph.graph.methods import (
    COMPARED,
    COMPARED_EPOCH,
    LOOPS,
    METHODS,
    VARIANTS,
    VARIANTS_EPOCH,
)

PROG = "python -m lgt_graph"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _data_options(
    parser: argparse.ArgumentParser, many: bool = False, required: bool = True, seed: bool = True
) -> None:
    """Add the options that say which data a command works on: one definition for all."""
    parser.add_argument(
        "--task",
        required=required,
        help="tasks from `tasks`, csv:PATH or imagefolder:PATH, comma-separated"
        if many
        else "a task from `tasks`, csv:PATH or imagefolder:PATH",
    )
    parser.add_argument("--target", help="label column of a csv:PATH task")
    parser.add_argument(
        "--problem",
        choices=("classification", "regression"),
        help="override the problem type inferred for a csv:PATH task",
    )
    parser.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="COL,...",
        help="columns of a csv:PATH task to leave out (repeatable)",
    )
    parser.add_argument("--data-dir", help="folder holding the datasets (default: $LGT_DATA_DIR)")
    if seed:
        parser.add_argument(
            "--seed", type=int, help="seed of the splits and the training (default 0)"
        )
    parser.add_argument(
        "--max-train-samples",
        type=int,
        metavar="N",
        help="subsample the training split to N examples (stratified) for a quick run",
    )


def _loop_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that choose the loop and the starting configuration."""
    parser.add_argument(
        "--loop",
        choices=LOOPS,
        help="trial (default): each trial trains from scratch; epoch: one training run tuned"
        " between epochs, a proposal judged on a paired segment, a regression rolling back the"
        " weights; --budget then counts epochs trained, both branches included",
    )
    parser.add_argument(
        "--segment", type=int, metavar="K", help="epochs per segment of --loop epoch (default 1)"
    )
    parser.add_argument(
        "--keep-checkpoints",
        action="store_true",
        default=None,
        help="keep every segment's checkpoint of --loop epoch/both (default: only those the run"
        " can still go back to), to branch from any point of the run later",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KNOB=VALUE",
        dest="start",
        help="change a knob of the default configuration every method starts from (repeatable)",
    )


def _store_option(parser: argparse.ArgumentParser, experiment: bool = False) -> None:
    parser.add_argument(
        "--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI or ./mlflow.db)"
    )
    if experiment:
        parser.add_argument("--experiment", help="MLflow experiment (default: lgt-<task>)")


def _tuning_options(parser: argparse.ArgumentParser) -> None:
    """Add the options every method of a session obeys: its metric, threads and device."""
    parser.add_argument(
        "--threads", type=int, help="threads per trial (default: the CPUs this process may use)"
    )
    parser.add_argument(
        "--device",
        choices=DEVICES,
        help="where nets train: auto (default; $LGT_DEVICE) is CUDA when torch sees a GPU, else"
        " the CPU; linear, gbm and random_forest always fit on the CPU",
    )
    parser.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        help="train nets in mixed precision: bfloat16 autocast (float16 with a gradient scaler"
        " on a GPU without bfloat16); default off ($LGT_AMP)",
    )
    parser.add_argument(
        "--metric",
        choices=tuple(DIRECTIONS),
        help="the primary metric every method tunes (default: from the data: accuracy, or"
        " macro_f1 when a class is rare; mae for regression)",
    )


def _comparison_options(
    parser: argparse.ArgumentParser, methods: Sequence[str], epoch_methods: Sequence[str]
) -> None:
    """Add the options that ``compare`` and ``ablate`` share."""
    _data_options(parser, many=True, seed=False)
    parser.add_argument(
        "--methods",
        help=f"comma-separated from {', '.join(METHODS)} (default: {','.join(methods)}; with"
        f" --loop epoch: {','.join(epoch_methods)})",
    )
    parser.add_argument(
        "--budget",
        type=int,
        help="trials (epochs with --loop epoch) per method (10; without a limit when only"
        " --budget-epochs or --budget-seconds is given)",
    )
    budget_options(parser, "per method")
    parser.add_argument("--seeds", default="1", help="a count (3) or a list (0,1,2); default 1")
    parser.add_argument("--out", required=True, help="folder for results.csv, .md and curves.png")
    parser.add_argument("--resume", action="store_true", help="continue the comparison in --out")
    parser.add_argument(
        "--finalize",
        choices=("default", "ensemble", "one-se"),
        help="every graph method's final choice: the best trial refit (default), a greedy"
        " ensemble of its best trials weighted on validation, or the one-SE rule",
    )
    parser.add_argument(
        "--sampler",
        default="tpe",
        choices=("tpe", "gp"),
        help="Optuna sampler of the bayes method (default tpe; gp runs it as bayes-gp does)",
    )
    _tuning_options(parser)
    parser.add_argument(
        "--llm", help="LGT's model: heuristic (default), local, gguf:PATH or openai:MODEL"
    )
    hybrid_options(parser)
    executor_options(parser)
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint for --llm openai:...")
    _store_option(parser)
    _limit_option(parser)
    _loop_options(parser)


def _limit_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="KNOB=MAX",
        help="narrow a numeric knob's range for every method: epochs=10 or batch_size=32:512",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every command."""
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"lgt_graph {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    tasks = commands.add_parser("tasks", help="list the tasks and whether their data is present")
    tasks.add_argument("--data-dir", help="folder holding the datasets (default: $LGT_DATA_DIR)")

    space = commands.add_parser("space", help="show a task's configuration space")
    _data_options(space, seed=False)

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
    _store_option(trial, experiment=True)
    trial.add_argument("--quiet", action="store_true", help="no per-epoch progress")

    run = commands.add_parser("run", help="tune a task with Language-Guided Tuning (the LGT graph)")
    _data_options(run, required=False)
    _tuning_options(run)
    run.add_argument(
        "--method",
        choices=tuple(METHODS),
        metavar="METHOD",
        help=f"lgt (default), a variant or a baseline: {', '.join(METHODS)}",
    )
    run.add_argument(
        "--budget",
        type=int,
        help="trials (epochs with --loop epoch) to run (10; $LGT_BUDGET; without a limit when"
        " only --budget-epochs or --budget-seconds is given)",
    )
    budget_options(run, "for the session")
    run.add_argument(
        "--patience", type=int, help="stop after K trials (segments) without improvement"
    )
    run.add_argument("--min-delta", type=float, help="smallest gain that counts for --patience")
    run.add_argument(
        "--stop-at", type=float, help="stop once the best validation metric reaches this"
    )
    run.add_argument(
        "--tolerance",
        type=float,
        help="fixed rule: roll back past this fraction of the best (default: the noise floor)",
    )
    llm_options(run)
    run.add_argument(
        "--node",
        action="append",
        default=[],
        metavar="SLOT=IMPL",
        help="swap a node: advisor=random, evaluator=numeric, optimizer=none, advisor=bayes,"
        " or module:Name",
    )
    _store_option(run, experiment=True)
    run.add_argument("--checkpoints", help="checkpoint database (default: beside the MLflow store)")
    run.add_argument(
        "--resume",
        metavar="ID",
        help="continue an interrupted session; --budget, --data-dir, --base-url, --timeout,"
        " --max-retries, --on-endpoint-error and --device may change",
    )
    _limit_option(run)
    _loop_options(run)

    compare = commands.add_parser(
        "compare", help="compare LGT with NoTuning, random, grid, Bayesian and NAS baselines"
    )
    _comparison_options(compare, COMPARED, COMPARED_EPOCH)
    ablate = commands.add_parser(
        "ablate", help="run LGT with nodes swapped out, to see which agent matters"
    )
    _comparison_options(ablate, VARIANTS, VARIANTS_EPOCH)

    report = commands.add_parser(
        "report", help="write a session's story as an HTML page and markdown, from MLflow"
    )
    report.add_argument("run_id", metavar="RUN_ID", help="the session run (printed by `run`)")
    report.add_argument("--out", help="folder (default: lgt_reports/RUN_ID beside the store)")
    _store_option(report)

    ui = commands.add_parser("ui", help="start the MLflow UI on the project's store")
    _store_option(ui)
    ui.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000)")

    download = commands.add_parser("download", help="fetch a dataset from its canonical source")
    download.add_argument("task", help="mnist, cifar10, wine or house")
    download.add_argument(
        "--data-dir", help="where to put it (default: $LGT_DATA_DIR or the user data dir)"
    )
    download.add_argument("--mirror", help="base URL that replaces the canonical host")
    return parser
