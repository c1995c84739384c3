"""Where sessions live between processes: LangGraph's SQLite checkpoints and a session table.

One SQLite file holds the checkpointer's tables and ``lgt_sessions``, which keeps
each session's settings and store, so that ``run --resume ID`` rebuilds the same
context. A session's id is its MLflow parent run id.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lgt_graph.errors import StorageError, UserError, unwritable

DEFAULT_FILE = "lgt_checkpoints.db"


def default_path(tracking_uri: str) -> Path:
    """Keep checkpoints beside a SQLite MLflow store, else in the working directory."""
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri[len("sqlite:///") :]).parent / DEFAULT_FILE
    return Path.cwd() / DEFAULT_FILE


def checkpoints_path(settings: Any, checkpoints: str | None) -> Path:
    """Return the checkpoint database of a session: ``--checkpoints``, or beside its store."""
    from lgt_graph.tracking import tracking_uri

    return Path(checkpoints) if checkpoints else default_path(tracking_uri(settings.tracking_uri))


def resume_command(session: str, path: Path) -> str:
    """Return the command that resumes ``session`` from the checkpoint file ``path``."""
    from lgt_graph.tracking import tracking_uri

    command = f"python -m lgt_graph run --resume {session}"
    if path.resolve() != default_path(tracking_uri(None)).resolve():
        command += f" --checkpoints {path}"
    return command


class SessionStore:
    """The checkpointer and the table of sessions, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        from langgraph.checkpoint.sqlite import SqliteSaver

        if not path.parent.is_dir():
            raise UserError(f"--checkpoints {path}: folder {path.parent} does not exist")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise UserError(
                f"checkpoints {path}: folder {path.parent} is not writable (the session's"
                " checkpoints and files go there); use --checkpoints PATH elsewhere"
            )
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            raise UserError(f"checkpoints {path}: the file is not readable and writable")
        self.path = path
        self.conn = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
        self.saver = SqliteSaver(self.conn)
        try:
            _when_unlocked(self._create)
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            if unwritable(exc):  # its tables are created if missing: the next run completes them
                raise StorageError(
                    f"cannot write the checkpoint database {path}: its disk is full or cannot"
                    f" be written ({exc}): free space on that disk, then run again"
                ) from None
            raise UserError(f"{path}: not a usable checkpoint database ({exc})") from None
        self._beat: _Heartbeat | None = None

    def _create(self) -> None:
        """Switch the file to WAL and create the tables that are missing."""
        self.conn.rollback()  # what a locked attempt before this one left open
        self.conn.execute("PRAGMA journal_mode=WAL")
        # Durable across a killed process (what resume is for) without an fsync per step.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS lgt_sessions (id TEXT PRIMARY KEY, settings TEXT,"
            " tracking_uri TEXT, experiment TEXT, status TEXT, created REAL, updated REAL)"
        )
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS lgt_leases (session TEXT PRIMARY KEY, host TEXT,"
            " pid INTEGER, beat REAL)"
        )
        self.conn.commit()
        self.saver.setup()  # the checkpointer's tables now, not mid-step under another writer

    def add(self, session: str, settings: dict[str, Any], uri: str, experiment: str) -> None:
        """Record a new session."""
        now = time.time()
        with self.conn:
            self.conn.execute(
                "INSERT INTO lgt_sessions VALUES (?, ?, ?, ?, 'running', ?, ?)",
                (session, json.dumps(settings), uri, experiment, now, now),
            )

    def get(self, session: str) -> dict[str, Any]:
        """Return a recorded session, or a user error naming the sessions there are."""
        row = self.conn.execute(
            "SELECT settings, tracking_uri, experiment, status FROM lgt_sessions WHERE id = ?",
            (session,),
        ).fetchone()
        if row is None:
            known = [
                r[0] for r in self.conn.execute("SELECT id FROM lgt_sessions ORDER BY created")
            ]
            hint = f"; sessions here: {', '.join(known[-5:])}" if known else ""
            raise UserError(f"no session {session!r} in {self.path}{hint}")
        return {
            "settings": json.loads(row[0]),
            "tracking_uri": row[1],
            "experiment": row[2],
            "status": row[3],
        }

    def acquire(self, session: str) -> None:
        """Take the session's lease, or refuse in one line while another process holds it.

        The lease names its holder (host and pid) and is renewed by a heartbeat; a
        holder that is gone (a dead pid on this host, or no heartbeat for
        :data:`STALE_AFTER` seconds from another host) is taken over.
        """
        host, pid, now = socket.gethostname(), os.getpid(), time.time()
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")  # one process at a time reads and takes it
            row = self.conn.execute(
                "SELECT host, pid, beat FROM lgt_leases WHERE session = ?", (session,)
            ).fetchone()
            if (
                row is not None
                and (row[0], row[1]) != (host, pid)
                and _alive(str(row[0]), int(row[1]), float(row[2]), now)
            ):
                since = time.strftime("%H:%M:%S", time.localtime(row[2]))
                raise UserError(
                    f"session {session} is being run by process {row[1]} on {row[0]}"
                    f" (last seen {since}); wait for it to end or stop it first"
                )
            self.conn.execute(
                "INSERT OR REPLACE INTO lgt_leases VALUES (?, ?, ?, ?)", (session, host, pid, now)
            )
        self._beat = _Heartbeat(self.path, session, host, pid)
        self._beat.start()

    def release(self, session: str) -> None:
        """Give the session's lease back (only the holder's own)."""
        if self._beat is not None:
            self._beat.stop()
            self._beat = None
        with self.conn:
            self.conn.execute(
                "DELETE FROM lgt_leases WHERE session = ? AND host = ? AND pid = ?",
                (session, socket.gethostname(), os.getpid()),
            )

    def prune(self, session: str) -> None:
        """Delete the checkpoints of the session's threads that a resume no longer needs.

        The growing lists of the state are LangGraph delta channels: a checkpoint holds
        a step's new items, and every 50 updates a snapshot of the whole list. Loading
        the latest state replays the writes back to each channel's last snapshot, which
        the latest checkpoint's metadata counts (``counters_since_delta_snapshot``);
        everything older is dead weight that, kept, would make the file grow with the
        square of the trials (each snapshot is as long as the session so far).
        """
        threads = (session, f"{session}/%")
        with self.saver.lock, self.conn:
            names = [
                r[0]
                for r in self.conn.execute(
                    "SELECT DISTINCT thread_id FROM checkpoints"
                    " WHERE thread_id = ? OR thread_id LIKE ?",
                    threads,
                )
            ]
            for thread in names:
                latest = self.conn.execute(
                    "SELECT metadata FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ''"
                    " ORDER BY checkpoint_id DESC LIMIT 1",
                    (thread,),
                ).fetchone()
                cutoff = _needed_from(latest[0] if latest else None)
                if cutoff is None:
                    continue
                older = (
                    "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND"
                    " CAST(json_extract(CAST(metadata AS TEXT), '$.step') AS INTEGER) < ?"
                )
                self.conn.execute(
                    f"DELETE FROM writes WHERE thread_id = ? AND checkpoint_id IN ({older})",
                    (thread, thread, cutoff),
                )
                self.conn.execute(
                    f"DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id IN ({older})",
                    (thread, thread, cutoff),
                )

    def unfinished(self, settings: dict[str, Any]) -> str | None:
        """Return the latest session recorded with these settings that did not finish."""
        rows = self.conn.execute(
            "SELECT id, settings FROM lgt_sessions WHERE status != 'finished' ORDER BY created DESC"
        ).fetchall()
        wanted = json.loads(json.dumps(settings))
        return next((r[0] for r in rows if json.loads(r[1]) == wanted), None)

    def set_status(self, session: str, status: str) -> None:
        """Record how a session stands: running, finished, interrupted."""
        with self.conn:
            self.conn.execute(
                "UPDATE lgt_sessions SET status = ?, updated = ? WHERE id = ?",
                (status, time.time(), session),
            )

    def close(self) -> None:
        """Close the database (and stop the heartbeat of a lease still held)."""
        if self._beat is not None:
            self._beat.stop()
        self.conn.close()


def _needed_from(metadata: bytes | str | None) -> int | None:
    """Return the first step a thread's latest state replays from; None: keep everything."""
    if metadata is None:
        return None
    facts = json.loads(metadata)
    counters = facts.get("counters_since_delta_snapshot") or {}
    if "step" not in facts or not counters:
        return None
    depth = max(int(c[1]) for c in counters.values())
    # The snapshot is ``depth - 1`` steps back; one more step is kept as a margin.
    return int(facts["step"]) - depth


STALE_AFTER = 120.0
"""Seconds without a heartbeat after which another host's lease counts as abandoned."""
BEAT_EVERY = 15.0


def _when_unlocked(step: Callable[[], None], seconds: float = 30.0) -> None:
    """Run ``step``, again while SQLite says the file is locked, for up to ``seconds``.

    Two processes opening a new file at once both switch it to WAL; SQLite answers one
    of them "database is locked" at once, without waiting on its busy timeout.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05 + 0.1 * random.random())


def _alive(host: str, pid: int, beat: float, now: float) -> bool:
    """Say whether a lease's holder may still be running."""
    if host != socket.gethostname():
        return now - beat < STALE_AFTER
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


class _Heartbeat(threading.Thread):
    """Renew a lease every :data:`BEAT_EVERY` seconds, on a connection of its own."""

    def __init__(self, path: Path, session: str, host: str, pid: int) -> None:
        super().__init__(daemon=True, name=f"lease-{session[:8]}")
        self.path, self.key = path, (session, host, pid)
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(BEAT_EVERY):
            with (
                contextlib.suppress(sqlite3.Error),
                contextlib.closing(sqlite3.connect(self.path, timeout=30)) as conn,
                conn,
            ):
                conn.execute(
                    "UPDATE lgt_leases SET beat = ? WHERE session = ? AND host = ? AND pid = ?",
                    (time.time(), *self.key),
                )

    def stop(self) -> None:
        self._stopped.set()
