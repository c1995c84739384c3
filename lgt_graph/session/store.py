"""Where sessions live between processes: LangGraph's SQLite checkpoints and a session table.

One SQLite file holds the checkpointer's tables and ``lgt_sessions``, which keeps
each session's settings and store, so that ``run --resume ID`` rebuilds the same
context. A session's id is its MLflow parent run id.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from lgt_graph.errors import UserError

DEFAULT_FILE = "lgt_checkpoints.db"


def default_path(tracking_uri: str) -> Path:
    """Keep checkpoints beside a SQLite MLflow store, else in the working directory."""
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri[len("sqlite:///") :]).parent / DEFAULT_FILE
    return Path.cwd() / DEFAULT_FILE


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
        self.path = path
        try:
            self.conn = sqlite3.connect(path, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            # Durable across a killed process (what resume is for) without an fsync per step.
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS lgt_sessions (id TEXT PRIMARY KEY, settings TEXT,"
                " tracking_uri TEXT, experiment TEXT, status TEXT, created REAL, updated REAL)"
            )
            self.conn.commit()
        except sqlite3.DatabaseError as exc:
            raise UserError(f"{path}: not a usable checkpoint database ({exc})") from None
        self.saver = SqliteSaver(self.conn)

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

    def set_status(self, session: str, status: str) -> None:
        """Record how a session stands: running, finished, interrupted."""
        with self.conn:
            self.conn.execute(
                "UPDATE lgt_sessions SET status = ?, updated = ? WHERE id = ?",
                (status, time.time(), session),
            )

    def close(self) -> None:
        """Close the database."""
        self.conn.close()
