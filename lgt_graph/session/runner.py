"""The one runner: every method's session — LGT, a variant, a baseline — runs through it.

It opens the session (:mod:`lgt_graph.session.opening`), streams the graph, mirrors
the state to MLflow and the screen as it grows (:mod:`lgt_graph.session.mirror`),
and closes the records whatever happens, so resume, fault handling, the per-trial
line, MLflow records and the report are the same for every method.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lgt_graph import errors, interrupts
from lgt_graph.agents.calling import EndpointUnavailable
from lgt_graph.agents.experience import distil
from lgt_graph.agents.prompting import INITIAL_GUIDANCE
from lgt_graph.context import Context, Settings
from lgt_graph.epoch.story import story
from lgt_graph.errors import StorageError, Terminated
from lgt_graph.executors import rounds
from lgt_graph.graph import budgets
from lgt_graph.session.mirror import Echo, Mirror, summary_markdown
from lgt_graph.session.opening import data_line, open_session
from lgt_graph.session.store import checkpoints_path, resume_command
from lgt_graph.state import PromptVersion, State
from lgt_graph.tracking.writer import WriterError
from lgt_graph.training import limit_threads
from lgt_graph.training.result import Progress
from lgt_graph.training.segments import CheckpointError


def initial_state(ctx: Context) -> State:
    """Return the state a new session starts from: the default configuration, prompt v1."""
    first = PromptVersion(
        version=1,
        guidance=INITIAL_GUIDANCE,
        why="the starting prompt, prompts/advisor.md",
        after_trial=0,
        status="initial",
    )
    return State(config=ctx.space.default(), base=None, pending_changes=[], prompts=[first])


@dataclass
class Outcome:
    """A finished session: its id, final state and context."""

    session_id: str
    values: dict[str, Any]
    ctx: Context
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of the set-up, the graph's loop, and the final flush and close."""


def run_session(
    settings: Settings,
    resume: str | None = None,
    checkpoints: str | None = None,
    echo: Echo = print,
    epochs: Progress | None = None,
) -> Outcome:
    """Run (or resume) a session to its end; return its final state.

    ``epochs`` receives each epoch of a trial as it ends (a terminal's live line).
    """
    started = time.perf_counter()
    interrupts.reset()
    try:
        ctx, graph, store = open_session(settings, resume, checkpoints)
    except KeyboardInterrupt as exc:
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        if resume:  # the session is as it was: the same command continues it
            again = resume_command(resume, checkpoints_path(settings, checkpoints))
            echo(f"{what}: session {resume} is saved; continue with: {again}")
        else:
            echo(f"{what} while the session opened: nothing was trained; run the command again")
        raise
    except (sqlite3.Error, WriterError) as exc:  # the session's first records
        if not unwritable(exc):
            raise
        problem = f"cannot write the session's records ({why(exc)})"
        echo(f"{problem}: free space or fix permissions, then run again")
        raise StorageError(problem) from None
    except StorageError as exc:
        echo(str(exc))  # the runner says why, as it does for a session that it stops
        raise
    limit_threads(ctx.settings.threads)
    ctx.progress = echo
    ctx.epochs = epochs
    resumed = bool(resume)
    seconds = {"setup": time.perf_counter() - started}
    started = time.perf_counter()
    parent = ctx.session_id
    resume = resume_command(parent, store.path)
    mirror = Mirror(ctx, parent, echo)
    config = {
        "configurable": {"thread_id": parent},
        "recursion_limit": 6 * ctx.settings.budget + 20,
    }
    values: Any = {}
    status = "FAILED"
    # Each step's state is saved before the next step runs: a crash never takes the session
    # back past a trial that MLflow already holds, and the epoch-level loop's pruned
    # checkpoint files are never the ones a resume points at.
    trials = -1
    try:  # from here on, a stop says how to continue: the resume's replay included
        inputs = _replay(ctx, graph, config, mirror, echo) if resumed else _announce(ctx, echo)
        for values in graph.stream(
            inputs, config, context=ctx, stream_mode="values", durability="sync"
        ):
            mirror.sync(values)
            ctx.tracker.check()  # a write that failed stops the session here, not at the end
            interrupts.check()  # a Ctrl-C that a library swallowed stops it after this step
            if len(values.get("trials", [])) != trials:
                trials = len(values.get("trials", []))
                store.prune(parent)  # the file grows with the trials, not their square
        values = graph.get_state(config).values
        if not values.get("final"):
            raise RuntimeError("the graph stopped before finalize")
        status = "FINISHED"
        rounds.Journal(ctx.workdir).clear(below=len(values["trials"]) + 1)  # all checkpointed
        seconds["loop"] = time.perf_counter() - started
        started = time.perf_counter()
    except KeyboardInterrupt as exc:
        status = "KILLED"
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        echo(f"{what}: session {parent} is saved; continue with: {resume}")
        raise
    except (sqlite3.Error, OSError, WriterError, CheckpointError) as exc:
        if not unwritable(exc):
            raise
        status = "KILLED"
        problem = f"cannot write the session's records ({why(exc)})"
        echo(
            f"{problem}; session {parent} is saved up to its last complete step: free space or"
            f" fix permissions, then continue with: {resume}"
        )
        raise StorageError(problem) from None
    except EndpointUnavailable as exc:
        status = "KILLED"
        echo(
            f"the LLM endpoint still failed after {ctx.settings.max_retries} retries ({exc});"
            f" session {parent} is saved: once the endpoint is back, continue with {resume}"
        )
        raise
    finally:
        with shielded():  # a second Ctrl-C while the records close must not cut them short
            _close(ctx, store, values, status, echo)
    seconds["finish"] = time.perf_counter() - started
    return Outcome(parent, dict(values), ctx, seconds)


def _replay(ctx: Context, graph: Any, config: Any, mirror: Mirror, echo: Echo) -> State | None:
    """Say where a resumed session stands, replay its records; return the graph's input."""
    ctx.tracker.submit("status", run_id=ctx.session_id, status="RUNNING").result()
    values = graph.get_state(config).values
    echo(f"resuming session {ctx.session_id} after {len(values.get('trials', []))} trials")
    mirror.sync(values)
    return None if values else initial_state(ctx)


def _announce(ctx: Context, echo: Echo) -> State:
    """Print a new session's first lines: what it tunes, the data, the loop; its first state."""
    echo(
        f"session {ctx.session_id}: {ctx.data.task.name}, method {ctx.settings.method},"
        f" budget {budgets.describe(ctx.settings)}, llm {ctx.settings.llm}"
    )
    echo(data_line(ctx.settings, ctx.data))
    for note in ctx.data.notes:
        echo(f"note: {note}")
    if ctx.settings.loop == "both":
        echo(
            "both levels: each trial of a net is one epoch-level run (its epochs knob, or"
            " what is left of the budget); the budget counts every epoch trained"
        )
    if ctx.settings.loop == "epoch":
        echo(
            f"epoch-level loop: one {ctx.space.default()['model']} training run in segments of"
            f" {ctx.settings.segment} epoch(s); only live knobs change (the loop moves the"
            " rate and stops by itself: lr_schedule, epochs and early stopping do not apply)"
        )
    return initial_state(ctx)


@contextmanager
def shielded() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM for the duration (in the main thread; elsewhere do nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _close(ctx: Context, store: Any, values: Any, status: str, echo: Echo) -> None:
    """Close a session's records: flush MLflow, end the session run, mark the checkpoint."""
    parent = ctx.session_id
    try:
        ctx.tracker.flush()
        if status == "FINISHED":
            ctx.tracker.submit(
                "session_end",
                parent=parent,
                final=dict(values["final"]),
                summary=summary_markdown(values, ctx),
                status=status,
                line=story(values) if ctx.settings.loop == "epoch" else None,
                lessons=distil(values, ctx.profile, ctx.space),
            )
        else:
            ctx.tracker.submit("status", run_id=parent, status=status)
        ctx.tracker.close()
    except (WriterError, sqlite3.Error, OSError) as exc:
        if status == "FINISHED":
            raise
        # Already stopping, and already said why: the session run stays as it was, and
        # the resume marks it again.
        if not unwritable(exc):
            echo(f"MLflow records of session {parent} could not be closed: {why(exc)}")
    finally:
        if ctx.executor is not None:
            ctx.executor.close()  # a local Ray instance the session started stops with it
        with contextlib.suppress(sqlite3.Error):  # a full disk: the lease dies with the pid
            store.set_status(
                parent, {"FINISHED": "finished", "KILLED": "interrupted"}.get(status, "failed")
            )
            store.release(parent)
        store.close()


def unwritable(exc: BaseException) -> bool:
    """Say whether an error means the session's files cannot be written."""
    if isinstance(exc, WriterError):
        return True  # MLflow could not keep a record: the session must not train on
    return errors.unwritable(exc)


def why(exc: BaseException) -> str:
    """Return an error's last line, short."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    return lines[-1][:300]
