"""Language-Guided Tuning from the command line: ``python -m lgt_graph COMMAND``.

This package parses (:mod:`~lgt_graph.cli.parser`) and dispatches to a command
(:mod:`~lgt_graph.cli.tune`, :mod:`~lgt_graph.cli.tools`). User errors print one line
and exit with status 2; heavy libraries are imported only by the command that needs
them, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from lgt_graph import interrupts
from lgt_graph.cli import tools, tune
from lgt_graph.cli.parser import PROG, build_parser
from lgt_graph.errors import StorageError, Terminated, UserError

__all__ = ["COMMANDS", "main"]


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "tasks": tools.cmd_tasks,
    "space": tools.cmd_space,
    "trial": tools.cmd_trial,
    "run": tune.cmd_run,
    "compare": tune.cmd_compare,
    "ablate": tune.cmd_compare,
    "download": tools.cmd_download,
    "report": tools.cmd_report,
    "ui": tools.cmd_ui,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; return its exit status (130 after Ctrl-C, 143 after SIGTERM)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # as typed: an interrupted comparison says to run it again with --resume
    interrupts.install()  # SIGTERM closes like Ctrl-C: records kept, resumable
    try:
        return int(COMMANDS[args.command](args) or 0)
    except UserError as exc:
        # one line, whatever a library's message embedded in it holds
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 4
    except Terminated:
        print(f"{PROG}: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        interrupts.settle()  # the status returned here is the exit status, not a death by SIGINT
