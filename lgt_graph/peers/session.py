"""A peer's session: one search by a whole tool, recorded in MLflow as our sessions are.

It opens the task as every session does (:func:`~lgt_graph.session.opening.open_task`:
the same rows, splits and primary metric), gives the tool the training and validation
splits and the session's seconds (``--budget-seconds``), scores its chosen model once on
the test split, and writes one MLflow run: the settings (``setting.*``), what it chose
(``chosen.json``), every model it tried (``leaderboard.csv``), ``final.json``, the
``test_*`` and ``final_val_*`` metrics and a summary. A peer's search is not
checkpointed, so a stopped one cannot be resumed: ``run --resume`` refuses it, and
``compare --resume`` runs it again from the start. A tool that raises an error of its own
ends its session FAILED with the error on the run (tag ``lgt.error``, ``error.txt``), and
the outcome says so (``final.status`` "failed"): ``compare`` writes a failed row and goes
on to the next session, ``run`` exits with status 1.
"""

from __future__ import annotations

import importlib
import os
import shutil
import time
import traceback
from typing import Any

import numpy as np

from lgt_graph import interrupts
from lgt_graph.context import Context, Settings
from lgt_graph.errors import Terminated, UserError
from lgt_graph.graph.methods import method
from lgt_graph.peers import PeerFit
from lgt_graph.session.mirror import Echo
from lgt_graph.session.runner import Outcome


def run_peer(settings: Settings, checkpoints: str | None = None, echo: Echo = print) -> Outcome:
    """Run a peer's search on the session's splits; record it; return the outcome."""
    from lgt_graph.evaluation.metrics import classification_metrics, regression_metrics
    from lgt_graph.session.naming import experiment_name, start_parent_run
    from lgt_graph.session.opening import data_line, open_task
    from lgt_graph.session.store import SessionStore, checkpoints_path
    from lgt_graph.tracking import Tracker, check_uri, tracking_uri

    peer = method(settings.method)
    assert peer.peer is not None and settings.budget_seconds is not None
    uri = tracking_uri(settings.tracking_uri)
    check_uri(uri)
    from lgt_graph.tasks import get_task

    named = get_task(settings.task, settings.target, settings.problem, settings.drop)  # type: ignore[arg-type]
    if named.family == "image":  # before its images load
        raise UserError(
            f"method {peer.name} runs {peer.title} on tables; task {named.name} is an image task"
        )
    task, space, data, facts = open_task(settings)
    tool = _load(peer.peer)
    experiment = settings.experiment or experiment_name(task.name)
    store_path = checkpoints_path(settings, checkpoints)
    store = SessionStore(store_path)
    tracker = Tracker(uri, experiment)
    session = start_parent_run(tracker, settings, facts, {"peer": peer.name})
    store.add(session, settings.to_dict(), uri, experiment)
    ctx = Context(settings, data, space, tracker, None, session, profile=facts)
    folder = store_path.parent / "lgt_runs" / session
    folder.mkdir(parents=True, exist_ok=True)
    threads = settings.threads or len(os.sched_getaffinity(0))
    echo(
        f"session {session}: {task.name}, method {peer.name} ({peer.title}),"
        f" {settings.budget_seconds:g} s of its own search on {threads} CPU(s)"
    )
    echo(data_line(settings, data))
    status = "FAILED"
    interrupts.reset()
    started = time.perf_counter()
    try:
        try:
            result: PeerFit = tool.fit(
                data, ctx.primary, settings.budget_seconds, settings.seed, threads, folder
            )
        except Exception as exc:
            interrupts.check()  # a Ctrl-C that the tool turned into an error of its own
            final = _failed(tracker, session, peer.title, exc, time.perf_counter() - started)
            echo(
                f"{peer.title} failed: {final['error']} (session {session} is marked FAILED;"
                " the traceback is its error.txt in MLflow)"
            )
            return Outcome(session, {"trials": [], "final": final}, ctx)
        interrupts.check()  # or that it swallowed, ending its search early
        score = classification_metrics if data.n_classes else regression_metrics
        extra = (data.n_classes,) if data.n_classes else ()
        val = score(data.y_val, result.predict(data.X_val), *extra)
        with data.open_test():  # the one place a session reads the test split
            test = score(data.y_test, result.predict(data.X_test), *extra)
        final = _plain(
            {
                "status": "ok",
                "trial": None,
                "config": result.chosen,
                "val": val,
                "test": test,
                "wall_time": result.seconds,
                "tool": result.tool,
                "options": result.options,
            }
        )
        _record(tracker, session, result, final, ctx.primary)
        status = "FINISHED"
    except KeyboardInterrupt as exc:
        status = "KILLED"
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        echo(
            f"{what}: {peer.title}'s search is not checkpointed and cannot be resumed;"
            " run the command again"
        )
        raise
    finally:
        tracker.client.set_terminated(session, status)
        store.set_status(
            session, {"FINISHED": "finished", "KILLED": "interrupted"}.get(status, "failed")
        )
        store.close()
        shutil.rmtree(folder, ignore_errors=True)  # the tool's models: scored, not kept
    trials = [
        {
            "index": i,
            "score": t.val,
            "model": t.model,
            "result": {"wall_time": t.seconds - (result.tried[i - 1].seconds if i else 0.0)},
        }
        for i, t in enumerate(result.tried)
    ]
    echo(
        f"{peer.title} chose {_chosen(result)} after {len(trials)} models:"
        f" val_{ctx.primary} {val[ctx.primary]:.4f}, test_{ctx.primary} {test[ctx.primary]:.4f}"
    )
    return Outcome(session, {"trials": trials, "final": final}, ctx)


def _failed(
    tracker: Any, session: str, title: str, exc: BaseException, seconds: float
) -> dict[str, Any]:
    """Record a tool's own error on its session run; return the failed session's final."""
    error = f"{type(exc).__name__}: {exc}".strip()[:500]
    final = {"status": "failed", "error": error, "test": {}, "val": {}, "wall_time": seconds}
    client = tracker.client
    client.set_tag(session, "lgt.error", error)
    client.log_text(session, "".join(traceback.format_exception(exc)), "error.txt")
    client.log_dict(session, final, "final.json")
    client.log_text(session, f"# {title}\n\nIts search failed: {error}\n", "summary.md")
    return final


def _plain(value: Any) -> Any:
    """Return ``value`` with numpy's scalars as Python's (for JSON, params and the screen)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _load(target: str) -> Any:
    """Import a peer's module (``module:name`` names the module; its ``fit`` is used)."""
    name = target.partition(":")[0]
    return importlib.import_module(name)


def _chosen(result: PeerFit) -> str:
    chosen = result.chosen
    return str(chosen.get("model") or chosen.get("estimator") or "a model")


def _record(
    tracker: Any, session: str, result: PeerFit, final: dict[str, Any], primary: str
) -> None:
    """Write what the peer chose, tried and scored on its session run."""
    import csv
    import io

    from mlflow.entities import Metric, Param

    client = tracker.client
    now = int(time.time() * 1000)
    metrics = [Metric(f"test_{k}", float(v), now, 0) for k, v in final["test"].items()]
    metrics += [Metric(f"final_val_{k}", float(v), now, 0) for k, v in final["val"].items()]
    metrics += [
        Metric(f"trial/val_{primary}", float(t.val), now + i, i)
        for i, t in enumerate(result.tried)
        if t.val is not None and np.isfinite(t.val)
    ]
    params = [Param(f"peer.{k}", str(v)[:6000]) for k, v in result.options.items()]
    params.append(Param("peer.tool", result.tool))
    for start in range(0, max(len(metrics), 1), 900):
        client.log_batch(session, metrics=metrics[start : start + 900])
    client.log_batch(session, params=params)
    client.log_dict(session, final, "final.json")
    client.log_dict(session, result.chosen, "chosen.json")
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["order", "model", "val", "seconds"])
    for i, t in enumerate(result.tried):
        writer.writerow([i, t.model, "" if t.val is None else t.val, f"{t.seconds:.3f}"])
    client.log_text(session, table.getvalue(), "leaderboard.csv")
    client.log_text(session, _summary(result, final), "summary.md")
    client.set_tag(session, "lgt.peer", result.tool)


def _summary(result: PeerFit, final: dict[str, Any]) -> str:
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in final["test"].items())
    return (
        f"# {result.tool}\n\nChose {_chosen(result)} after {len(result.tried)} models in"
        f" {result.seconds:.1f} s ({result.options}).\n\nTest: {metrics}\n"
    )
