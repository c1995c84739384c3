"""MLflow tracking: a trial is a run, its configuration params, its curves metrics.

The default store is ``mlflow.db`` (SQLite) in the working directory, browsable
with ``python -m lgt_graph ui``; ``--tracking-uri`` or ``MLFLOW_TRACKING_URI`` points
elsewhere. Writing a trial costs tens of milliseconds of SQLAlchemy work, more than a
small trial trains, so a tracker can write from a child process; :meth:`Tracker.flush`
waits for every write and raises if one failed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from lgt_graph.errors import UserError
from lgt_graph.training.result import TrialResult

DEFAULT_DB = "mlflow.db"
CURVE_PREFIX = "curve/"
MAX_BATCH, MAX_PARAMS = 1000, 100
"""MLflow takes at most 1000 entries, of which at most 100 params, per log_batch call."""

# No usage reports from an offline tuning tool unless the user opts in, and no fetch of
# MLflow's model price catalog from GitHub when an LLM call is traced (runs work offline).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_MODEL_CATALOG_URI", "")
# Artifact downloads (the report reads a session back) need no progress bar on stderr.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

_WAL_LOCK = threading.Lock()
_WAL_ON = False


def tracking_uri(explicit: str | None = None) -> str:
    """Return the store to log to: the flag, then ``MLFLOW_TRACKING_URI``, then ./mlflow.db."""
    uri = explicit or os.environ.get("MLFLOW_TRACKING_URI")
    return uri or f"sqlite:///{Path.cwd() / DEFAULT_DB}"


def ui_command(uri: str) -> str:
    """Return the shell command that opens the MLflow UI on a store."""
    return f"python -m lgt_graph ui --tracking-uri {uri}"


def _sqlite_wal() -> None:
    """Put SQLite stores in WAL mode, so the MLflow UI can read while a run writes."""
    global _WAL_ON
    with _WAL_LOCK:
        if _WAL_ON:
            return
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        @event.listens_for(Engine, "connect")
        def _on_connect(dbapi_connection: Any, record: Any) -> None:
            if type(dbapi_connection).__module__.startswith("sqlite3"):
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()

        _WAL_ON = True


URI_SCHEMES = ("sqlite", "file", "http", "https", "postgresql", "mysql", "mssql", "databricks")
"""The tracking-store schemes MLflow opens (with suffixes: ``postgresql+psycopg2``)."""


def _is_sqlite(path: Path) -> bool:
    """Tell whether a file is an SQLite database, through SQLite itself.

    Not by reading its header: closing a plain file handle on a database drops every
    POSIX lock this process holds on it (a store another session of this process has
    open), which SQLite's own connections know to avoid.
    """
    import sqlite3

    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            db.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:  # a busy or locked store is still a database
        return "not a database" not in str(exc)
    return True


def check_uri(uri: str) -> None:
    """Reject a tracking URI that cannot work, before anything is trained or written."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///") :])
        if not path.parent.is_dir():
            raise UserError(f"--tracking-uri {uri}: folder {path.parent} does not exist")
        if path.is_dir():
            raise UserError(f"--tracking-uri {uri}: {path} is a folder; name a database file")
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            raise UserError(f"--tracking-uri {uri}: {path} is not readable and writable")
        if path.is_file() and path.stat().st_size and not _is_sqlite(path):
            raise UserError(
                f"--tracking-uri {uri}: {path} is not an SQLite database;"
                " name an MLflow store or a new file"
            )
    elif "://" in uri and re.split(r"[-+]", uri.split("://")[0])[0] not in URI_SCHEMES:
        raise UserError(
            f"--tracking-uri {uri}: unknown scheme {uri.split('://')[0]!r}; use"
            " sqlite:///path/to/mlflow.db, http(s)://host:port or file:/path"
        )
    elif "://" not in uri and not uri.startswith(("databricks", "file:")):
        raise UserError(
            f"--tracking-uri {uri!r} is not a URI; use sqlite:///path/to/mlflow.db,"
            " http://host:port or file:/path"
        )


def _artifact_root(uri: str, experiment: str) -> str | None:
    """Keep a SQLite store's artifacts beside the database, not in the working directory."""
    if not uri.startswith("sqlite:///"):
        return None
    folder = re.sub(r"[^A-Za-z0-9._-]+", "_", experiment)
    return str(Path(uri[len("sqlite:///") :]).parent / "mlartifacts" / folder)


def open_client(uri: str) -> Any:
    """Return an MlflowClient on ``uri``, quiet, with SQLite stores in WAL mode."""
    if uri.startswith("sqlite:"):
        _sqlite_wal()
    # MLflow announces each schema migration of a new store at INFO level.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    import mlflow
    from mlflow.tracking import MlflowClient

    # MLflow's prompt registry links prompt versions to runs through the global store.
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri)


class Tracker:
    """Write trials (and, later, tuning sessions) to one MLflow experiment.

    With ``background=True`` the writes run in a child process (see
    :mod:`lgt_graph.writer`) and the caller only waits for :meth:`flush`.
    """

    def __init__(self, uri: str, experiment: str, background: bool = False) -> None:
        check_uri(uri)
        from mlflow.exceptions import MlflowException

        self.uri = uri
        self.experiment = experiment
        try:
            self.client = open_client(uri)
            found = self.client.get_experiment_by_name(experiment)
            self.experiment_id: str = (
                found.experiment_id
                if found
                else self.client.create_experiment(experiment, _artifact_root(uri, experiment))
            )
        except MlflowException as exc:
            raise UserError(f"cannot open the MLflow store at {uri}: {exc.message}") from None
        self._writer = None
        if background:
            from lgt_graph.writer import BackgroundWriter

            self._writer = BackgroundWriter(uri, self.experiment_id)
        self.busy_seconds = 0.0
        """Time this process spent writing to MLflow (not the child's, with background)."""

    def submit(self, name: str, **kwargs: Any) -> Future[Any]:
        """Run the write ``writes()[name]`` now, or queue it for the writer process."""
        if self._writer is not None:
            return self._writer.submit(name, kwargs)
        future: Future[Any] = Future()
        started = time.perf_counter()
        try:
            future.set_result(writes()[name](self.client, self.experiment_id, **kwargs))
        finally:
            self.busy_seconds += time.perf_counter() - started
        return future

    def flush(self) -> None:
        """Wait for every queued write; raise if one failed."""
        if self._writer is not None:
            for future in self._writer.pending():
                future.result()

    def close(self) -> None:
        """Flush, then stop the writer process."""
        if self._writer is not None:
            try:
                self.flush()
            finally:
                self._writer.close()

    def log_trial(
        self,
        result: TrialResult,
        tags: Mapping[str, str],
        run_name: str | None = None,
        parent_run_id: str | None = None,
    ) -> Future[Any]:
        """Record a trial as a run (params, curves, final metrics, tags); future of its id."""
        return self.submit(
            "trial",
            result=result.to_dict(),
            tags=dict(tags),
            run_name=run_name,
            parent_run_id=parent_run_id,
        )


def write_trial(
    client: Any,
    experiment_id: str,
    result: dict[str, Any],
    tags: dict[str, str],
    run_name: str | None,
    parent_run_id: str | None,
    terminate: bool = True,
) -> str:
    """Create the run of one trial and write it in one batch; return the run id.

    With ``terminate=False`` the run stays open for the caller to add to and close.
    """
    from mlflow.entities import Metric, Param

    trial = TrialResult.from_dict(result)
    all_tags = {
        **tags,
        "status": trial.status,
        "model": str(trial.config.get("model", "")),
        "step_unit": trial.step_unit,
        "mlflow.note.content": _note(trial),
    }
    if trial.reason:
        all_tags["failure_reason"] = trial.reason[:5000]
    for key, value in trial.diagnostics.items():
        if key != "traceback":
            all_tags[f"diagnostics.{key}"] = str(value)
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    run_id: str = client.create_run(experiment_id, run_name=run_name, tags=all_tags).info.run_id
    now = int(time.time() * 1000)
    metrics = [
        Metric(f"{CURVE_PREFIX}{name}", float(value), now, int(step))
        for name, values in trial.curves.items()
        for step, value in zip(trial.steps, values, strict=True)
    ]
    metrics += [Metric(f"val_{k}", float(v), now, 0) for k, v in trial.metrics.items()]
    metrics += [Metric(f"test_{k}", float(v), now, 0) for k, v in trial.test_metrics.items()]
    metrics.append(Metric("wall_time_s", trial.wall_time, now, 0))
    params = [Param(k, _param(v)) for k, v in trial.config.items()]
    for batch_params, batch_metrics in _batches(params, metrics):
        client.log_batch(run_id, metrics=batch_metrics, params=batch_params)
    if "traceback" in trial.diagnostics:
        client.log_text(run_id, trial.diagnostics["traceback"], "failure.txt")
    if terminate:
        client.set_terminated(run_id, "FINISHED" if trial.ok else "FAILED")
    return run_id


def set_status(client: Any, experiment_id: str, run_id: str, status: str) -> None:
    """Set a run's status: RUNNING reopens it, FINISHED, FAILED or KILLED closes it."""
    if status == "RUNNING":
        client.update_run(run_id, status="RUNNING")
    else:
        client.set_terminated(run_id, status)


def writes() -> dict[str, Callable[..., Any]]:
    """Return the writes a tracker can run, by name (the writer process receives names)."""
    from lgt_graph import session_writes as session

    return {
        "trial": write_trial,
        "status": set_status,
        "session_trial": session.session_trial,
        "session_verdict": session.session_verdict,
        "session_prompt": session.session_prompt,
        "session_progress": session.session_progress,
        "session_end": session.session_end,
    }


def _batches(params: list[Any], metrics: list[Any]) -> list[tuple[list[Any], list[Any]]]:
    """Split params and metrics into log_batch calls that respect MLflow's limits."""
    batches: list[tuple[list[Any], list[Any]]] = []
    while params or metrics or not batches:
        head, params = params[:MAX_PARAMS], params[MAX_PARAMS:]
        room = MAX_BATCH - len(head)
        batches.append((head, metrics[:room]))
        metrics = metrics[room:]
    return batches


def _param(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _note(result: TrialResult) -> str:
    """Return the run description shown at the top of its MLflow page."""
    if not result.ok:
        return f"Failed trial: {result.reason}"
    scores = ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items())
    return (
        f"Validation: {scores}. {len(result.steps)} {result.step_unit}s in {result.wall_time:.1f}s."
    )
