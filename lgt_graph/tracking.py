"""MLflow tracking: a trial is a run, its configuration params, its curves metrics.

The default store is ``mlflow.db`` (SQLite) in the working directory, browsable
with ``mlflow ui --backend-store-uri sqlite:///mlflow.db``; ``--tracking-uri`` or
``MLFLOW_TRACKING_URI`` points elsewhere. Writing a trial costs tens of
milliseconds of SQLAlchemy work, more than a small trial trains, so a tracker
can write in a background thread; :meth:`Tracker.flush` waits for every write
and re-raises the first that failed.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lgt_graph.errors import UserError
from lgt_graph.training.result import TrialResult

DEFAULT_DB = "mlflow.db"
CURVE_PREFIX = "curve/"
MAX_BATCH = 1000
"""MLflow accepts at most 1000 metrics (and 100 params) per log_batch call."""

# No usage reports from an offline tuning tool unless the user opts in.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

_WAL_LOCK = threading.Lock()
_WAL_ON = False


def tracking_uri(explicit: str | None = None) -> str:
    """Return the store to log to: the flag, then ``MLFLOW_TRACKING_URI``, then ./mlflow.db."""
    uri = explicit or os.environ.get("MLFLOW_TRACKING_URI")
    return uri or f"sqlite:///{Path.cwd() / DEFAULT_DB}"


def ui_command(uri: str) -> str:
    """Return the shell command that opens the MLflow UI on a store."""
    return f"mlflow ui --backend-store-uri {uri}"


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


def check_uri(uri: str) -> None:
    """Reject a tracking URI that cannot work, before anything is trained or written."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///") :])
        if not path.parent.is_dir():
            raise UserError(f"--tracking-uri {uri}: folder {path.parent} does not exist")
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            raise UserError(f"--tracking-uri {uri}: {path} is not readable and writable")
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


class Tracker:
    """Log trials (and, later, tuning sessions) to one MLflow experiment."""

    def __init__(self, uri: str, experiment: str, background: bool = False) -> None:
        check_uri(uri)
        if uri.startswith("sqlite:"):
            _sqlite_wal()
        # MLflow announces each schema migration of a new store at INFO level.
        logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        self.uri = uri
        try:
            self.client = MlflowClient(tracking_uri=uri)
            found = self.client.get_experiment_by_name(experiment)
            self.experiment_id = (
                found.experiment_id
                if found
                else self.client.create_experiment(experiment, _artifact_root(uri, experiment))
            )
        except MlflowException as exc:
            raise UserError(f"cannot open the MLflow store at {uri}: {exc.message}") from None
        self.experiment = experiment
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="mlflow") if background else None
        self._pending: list[Future[str]] = []
        self.busy_seconds = 0.0
        """Time spent writing to MLflow, in whichever thread did it."""

    def submit(self, write: Callable[[], str]) -> Future[str]:
        """Run ``write`` now, or queue it for the background thread; return its future."""
        if self._pool is None:
            future: Future[str] = Future()
            future.set_result(self._timed(write))
            return future
        future = self._pool.submit(self._timed, write)
        self._pending.append(future)
        return future

    def _timed(self, write: Callable[[], str]) -> str:
        started = time.perf_counter()
        try:
            return write()
        finally:
            self.busy_seconds += time.perf_counter() - started

    def flush(self) -> None:
        """Wait for every queued write; re-raise the first one that failed."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        """Flush and stop the background thread."""
        self.flush()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def log_trial(
        self,
        result: TrialResult,
        tags: Mapping[str, str],
        run_name: str | None = None,
        parent_run_id: str | None = None,
    ) -> Future[str]:
        """Record a trial as a run: params, curves, final metrics, tags; return its run id."""
        return self.submit(lambda: self._write_trial(result, dict(tags), run_name, parent_run_id))

    def _write_trial(
        self,
        result: TrialResult,
        tags: dict[str, str],
        run_name: str | None,
        parent_run_id: str | None,
    ) -> str:
        from mlflow.entities import Metric, Param, RunTag

        all_tags = {
            **tags,
            "status": result.status,
            "model": str(result.config.get("model", "")),
            "step_unit": result.step_unit,
        }
        if result.reason:
            all_tags["failure_reason"] = result.reason[:5000]
        for key, value in result.diagnostics.items():
            if key != "traceback":
                all_tags[f"diagnostics.{key}"] = str(value)
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        run = self.client.create_run(self.experiment_id, run_name=run_name, tags=all_tags)
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        metrics = [
            Metric(f"{CURVE_PREFIX}{name}", float(value), now, int(step))
            for name, values in result.curves.items()
            for step, value in zip(result.steps, values, strict=True)
        ]
        metrics += [Metric(f"val_{k}", float(v), now, 0) for k, v in result.metrics.items()]
        metrics += [Metric(f"test_{k}", float(v), now, 0) for k, v in result.test_metrics.items()]
        metrics.append(Metric("wall_time_s", result.wall_time, now, 0))
        params = [Param(k, _param(v)) for k, v in result.config.items()]
        for start in range(0, max(len(metrics), len(params), 1), MAX_BATCH):
            self.client.log_batch(
                run_id,
                metrics=metrics[start : start + MAX_BATCH],
                params=params[start : start + 100] if start == 0 else [],
                tags=[RunTag("mlflow.note.content", _note(result))] if start == 0 else [],
            )
        for start in range(100, len(params), 100):
            self.client.log_batch(run_id, params=params[start : start + 100])
        if "traceback" in result.diagnostics:
            self.client.log_text(run_id, result.diagnostics["traceback"], "failure.txt")
        self.client.set_terminated(run_id, "FINISHED" if result.ok else "FAILED")
        return run_id


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
