"""A SQLite store's MLflow tables, made whole before MLflow opens it, or not touched.

MLflow creates a new store's tables, and upgrades an older store's, in place: one
alembic migration after another, each committed on its own, so one that fails midway
(a full disk) leaves a file every later open fails on ("table guardrails already
exists"). Here the migrations run on a copy beside the store (an empty one for a new
store), which takes the store's place only once complete. A failure deletes the copy
and leaves the store as it was; a full disk is one line, and so is a store that an
older version left half-built.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lgt_graph.errors import StorageError, UserError, innermost, unwritable

_HELD = threading.local()  # the store locks this thread holds

HALF_DONE = ("already exists", "duplicate column")
"""What SQLite says when a migration meets what an earlier, interrupted run of it made."""


def ready_store(uri: str) -> None:
    """Give a SQLite store every table this MLflow needs, whole or not at all."""
    if not uri.startswith("sqlite:///"):
        return
    path = Path(uri[len("sqlite:///") :])
    if _complete(path):
        return
    with store_lock(uri):
        if not _complete(path):  # another process may have built it while this one waited
            _migrate_beside(path)


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold a lock beside a SQLite store while it may be created or given an experiment.

    MLflow creates a store's tables on first use; two processes that start at once on
    a new store both try, and one dies in the migration. The lock is a hidden file
    beside the database (not the database itself: a lock taken on SQLite's own file
    would drop SQLite's locks when it is released). A thread that holds it may take it
    again (a tracker holds it while its client readies the store).
    """
    if not uri.startswith("sqlite:///"):
        yield
        return
    from filelock import FileLock, Timeout

    path = Path(uri[len("sqlite:///") :])
    name = str(path.parent / f".{path.name}.lock")
    held = _HELD.__dict__.setdefault("names", set())
    if name in held:  # a tracker holds it while it opens its client, which takes it too
        yield
        return
    lock = FileLock(name, timeout=300)
    try:
        with lock:
            held.add(name)
            try:
                yield
            finally:
                held.discard(name)
    except Timeout:
        raise UserError(
            f"--tracking-uri {uri}: another process has held the store's lock for 5 minutes"
        ) from None


def _complete(path: Path) -> bool:
    """Tell whether a store holds every table of MLflow's models, as MLflow checks it."""
    from mlflow.store.db.utils import Base  # with every model imported: Base knows every table

    if not _size(path):
        return False
    with _connect(path, read_only=True) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return set(Base.metadata.tables) <= tables


def _migrate_beside(path: Path) -> None:
    """Run MLflow's migrations on a copy of the store beside it; put the copy in its place."""
    import sqlalchemy
    from mlflow.store.db.utils import _initialize_tables  # MLflow's own, on a store lacking tables

    # Nothing to keep: no file, or an empty one without a rollback journal to restore
    new = not _size(path) and not _size(Path(f"{path}-journal"))
    copy = path.with_name(f".{path.name}.new")
    _remove(copy)  # what a killed build left
    try:
        if not new:
            with _connect(path) as store, _connect(copy) as target:
                store.backup(target)
        engine = sqlalchemy.create_engine(
            f"sqlite:///{copy}", poolclass=sqlalchemy.pool.SingletonThreadPool
        )
        sqlalchemy.event.listen(engine, "connect", _unjournaled)
        try:
            _initialize_tables(engine)
        finally:
            engine.dispose()
        with _connect(copy) as built:  # every page in the file, none in a log beside it
            mode = built.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        if mode != "delete":
            raise RuntimeError(f"{copy}: journal mode {mode} after its migrations")
        if new:
            # A log beside an empty store holds nothing (SQLite deletes it on open), but
            # beside a whole one SQLite would replay it into the tables.
            _remove(path, suffixes=("-wal", "-shm"))
            _sync(copy)
            os.replace(copy, path)
        else:
            # Through SQLite, in one transaction: readers of the store see the old
            # tables or the new ones, and a failure rolls the store back.
            with _connect(copy) as built, _connect(path) as store:
                built.backup(store)
    except Exception as exc:
        cause = innermost(exc)
        if unwritable(cause):
            what, kept = (
                ("create", "nothing was left half-built")
                if new
                else ("upgrade the tables of", "the store is as it was")
            )
            raise StorageError(
                f"cannot {what} the MLflow store {path}: its disk is full or cannot be"
                f" written ({cause}); {kept}: free space on that disk, then run again"
            ) from None
        if any(words in str(cause) for words in HALF_DONE):
            raise UserError(half_built(path, cause)) from None
        raise
    finally:
        _remove(copy)


def half_built(path: Path, cause: BaseException) -> str:
    """Say that a store is half-built, what it holds, and what to do."""
    runs = _count_runs(path)
    held = "" if runs is None else f"; it holds {runs} run{'s' * (runs != 1)}"
    return (
        f"the MLflow store {path} is half-built: an earlier run stopped while creating or"
        f" upgrading its tables, and MLflow cannot finish them ({cause}){held}: move it"
        f" aside (or delete it, with any {path.name}-wal beside it), then run again"
    )


def _count_runs(path: Path) -> int | None:
    with contextlib.suppress(sqlite3.Error), _connect(path, read_only=True) as db:
        return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])
    return None


@contextlib.contextmanager
def _connect(path: Path, read_only: bool = False) -> Any:
    uri = f"{path.resolve().as_uri()}{'?mode=ro' if read_only else ''}"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=60)) as db:
        yield db


def _unjournaled(dbapi_connection: Any, _record: Any) -> None:
    """Keep the copy's journal in memory: a failed copy is deleted, not rolled back.

    Its peak size on disk is then the store's, not five times that in write-ahead log,
    and a nearly full disk still takes a new store.
    """
    dbapi_connection.execute("PRAGMA journal_mode=MEMORY")
    dbapi_connection.execute("PRAGMA synchronous=OFF")  # _sync makes it durable once


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path, suffixes: tuple[str, ...] = ("", "-wal", "-shm", "-journal")) -> None:
    for suffix in suffixes:
        Path(f"{path}{suffix}").unlink(missing_ok=True)
