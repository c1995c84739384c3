"""Option groups of ``run`` and ``compare``: budgets of compute, the hybrid's turns, the model."""

from __future__ import annotations

import argparse


def budget_options(parser: argparse.ArgumentParser, whose: str) -> None:
    """Add the budgets of compute beside ``--budget``: epochs trained, seconds of training."""
    parser.add_argument(
        "--budget-epochs",
        type=int,
        metavar="E",
        help=f"epochs trained {whose}, every trial counted (a tree ensemble's fit is one);"
        " stops at the first trial that reaches it",
    )
    parser.add_argument(
        "--budget-seconds",
        type=float,
        metavar="S",
        help=f"seconds of training {whose} (the trials' wall time): equal compute for every"
        " method; stops at the first trial that reaches it",
    )


def executor_options(parser: argparse.ArgumentParser) -> None:
    """Add where trials run: this process, or Ray tasks on a local instance or a cluster."""
    from lgt_graph.context import EXECUTORS

    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        help="where trials run: local (this process, default) or ray (a Ray task each)",
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="an existing Ray cluster (host:port, ray://host:port, auto); default: a local"
        " Ray instance started and stopped by the session",
    )
    parser.add_argument(
        "--cpus-per-trial",
        type=float,
        metavar="N",
        help="with --executor ray: CPUs each trial's task declares, its threads (1)",
    )
    parser.add_argument(
        "--gpus-per-trial",
        type=float,
        metavar="N",
        help="with --executor ray: GPUs each trial's task declares (0)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="with --executor ray: trials trained side by side, a round of N proposals at a"
        " time (1: one trial at a time, the default)",
    )


def hybrid_options(parser: argparse.ArgumentParser) -> None:
    """Add the hybrid Advisor's options (``--node advisor=hybrid``, method ``hybrid``).

    With them ``--experience``, which the agents of LGT and the hybrid read.
    """
    parser.add_argument(
        "--experience",
        metavar="SOURCE",
        help="lessons of finished sessions on tables like this one: auto (this tracking"
        " store), an MLflow store's .db file or mlruns folder, a JSON list of lessons, or"
        " none (default)",
    )
    parser.add_argument(
        "--llm-share",
        type=float,
        metavar="F",
        help="the hybrid: share of the trials the agents propose, TPE the rest (0.25)",
    )
    parser.add_argument(
        "--stall",
        type=int,
        metavar="K",
        help="the hybrid: the agents also propose after K sampler trials without a gain (5)",
    )
    parser.add_argument(
        "--follow",
        action=argparse.BooleanOptionalAction,
        help="the hybrid: the agents also propose after a trial of theirs that improved the"
        " best, until one does not (default on)",
    )


def llm_options(parser: argparse.ArgumentParser) -> None:
    """Add run's options of the language model: which, where, how it answers, when it fails."""
    parser.add_argument(
        "--llm",
        help="heuristic (default, offline), local (a bundled small model on llama.cpp),"
        " gguf:PATH (any GGUF file on llama.cpp) or openai:MODEL",
    )
    hybrid_options(parser)
    executor_options(parser)
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)")
    parser.add_argument(
        "--structured-output",
        choices=("auto", "function_calling", "json_schema", "json_mode"),
        help="the structured-output mode tried first; a server that refuses it gets the next"
        " (default auto: function calling first)",
    )
    parser.add_argument(
        "--context-window",
        type=int,
        help="the model's context window in tokens: prompts are shortened to fit it"
        " (default: the local server's, or learned from the server's error)",
    )
    parser.add_argument("--timeout", type=float, help="seconds per LLM request (default 120)")
    parser.add_argument("--max-retries", type=int, help="LLM request retries with backoff (3)")
    parser.add_argument(
        "--on-endpoint-error",
        choices=("stop", "fallback"),
        help="when the LLM endpoint stays down: save and exit (stop, default) or carry on",
    )
