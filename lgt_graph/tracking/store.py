"""The MLflow store: which one, whether it can work, and a client on it.

The default store is ``mlflow.db`` (SQLite) in the working directory, browsable
with ``python -m lgt_graph ui``; ``--tracking-uri`` or ``MLFLOW_TRACKING_URI`` points
elsewhere. A bad URI is one clear line before anything is trained or written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

from lgt_graph.errors import UserError

DEFAULT_DB = "mlflow.db"

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
                # Parallel parts of one benchmark write one store: wait for a writer
                # rather than fail on "database is locked" after pysqlite's 5 s.
                cursor.execute("PRAGMA busy_timeout=60000")
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
        if not os.access(path.parent, os.W_OK | os.X_OK):
            # SQLite writes its journal beside the database; the reports go there too
            raise UserError(
                f"--tracking-uri {uri}: folder {path.parent} is not writable; point"
                " --tracking-uri at a store in a writable folder"
            )
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


def artifact_root(uri: str, experiment: str) -> str | None:
    """Keep a SQLite store's artifacts beside the database, not in the working directory."""
    if not uri.startswith("sqlite:///"):
        return None
    folder = re.sub(r"[^A-Za-z0-9._-]+", "_", experiment)
    return str(Path(uri[len("sqlite:///") :]).parent / "mlartifacts" / folder)


def open_client(uri: str) -> Any:
    """Return an MlflowClient on ``uri``, quiet, with SQLite stores in WAL mode."""
    if uri.startswith("sqlite:"):
        _sqlite_wal()
    # MLflow announces each schema migration of a new store at INFO level, and logs every
    # database error with its traceback before raising it (which the caller reports).
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from mlflow.tracking import MlflowClient

    from lgt_graph.tracking.schema import ready_store

    ready_store(uri)  # not MLflow in place: a full disk would leave the store half-built

    # MLflow's prompt registry links prompt versions to runs through the global store.
    use_globally(uri)
    return MlflowClient(tracking_uri=uri)


def use_globally(uri: str) -> None:
    """Point MLflow's global store (fluent API, prompt registry, traces) at ``uri``.

    ``mlflow.set_tracking_uri`` also exports ``MLFLOW_TRACKING_URI`` for subprocesses to
    inherit; in our settings that variable is the user's choice of store, so a later
    session of this process (a comparison's next one) would record a store the user
    never chose, and ``--resume`` would not find it. The environment stays as it was:
    our own subprocesses (the tracker's writer) are handed the URI.
    """
    import mlflow

    before = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before


def runs_links(uri: str, base: str) -> list[tuple[str, str]]:
    """Return each experiment's link to the UI's runs table (sessions, nested trials, charts).

    MLflow 3 opens an experiment in its GenAI view unless told otherwise, and ours hold
    model-tuning runs; ``workflowType=machine_learning`` opens the runs table instead.
    """
    from mlflow.exceptions import MlflowException

    try:
        experiments = open_client(uri).search_experiments(order_by=["name ASC"])
    except MlflowException as exc:
        raise UserError(f"cannot open the MLflow store at {uri}: {exc.message}") from None
    return [
        (e.name, f"{base}/#/experiments/{e.experiment_id}/runs?workflowType=machine_learning")
        for e in experiments
        if e.name != "Default"
    ]
