"""Shared fixtures: the real data directory, and an MLflow store created once per session."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_dir() -> Path | None:
    value = os.environ.get("LGT_DATA_DIR")
    if value:
        path = Path(value).expanduser().resolve()
        if not path.is_dir():
            raise RuntimeError(f"LGT_DATA_DIR={value} is not a folder")
        return path
    default = REPO.parent / "shared" / "data"
    return default if default.is_dir() else None


DATA_DIR = _data_dir()
if DATA_DIR is not None:
    # Subprocess tests run in other folders: a relative LGT_DATA_DIR must not break them.
    os.environ["LGT_DATA_DIR"] = str(DATA_DIR)
needs_data = pytest.mark.skipif(
    DATA_DIR is None, reason="real datasets not found: set LGT_DATA_DIR (CI sets ../shared/data)"
)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if DATA_DIR is None:
        pytest.skip("real datasets not found: set LGT_DATA_DIR")
    return DATA_DIR


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep decoded datasets in a per-run cache unless the caller chose one."""
    if "LGT_CACHE_DIR" not in os.environ:
        os.environ["LGT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def _template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Create (and migrate) one SQLite MLflow store; tests get copies of it."""
    path = tmp_path_factory.mktemp("store") / "template.db"
    # in a process of its own: a store this process opened before (lgt_graph's tracker
    # puts SQLite in WAL mode) keeps pooled connections that would lock the file here
    create = (
        f"from mlflow.tracking import MlflowClient as C; C('sqlite:///{path}').search_experiments()"
    )
    subprocess.run([sys.executable, "-c", create], check=True, capture_output=True)
    with sqlite3.connect(path) as db:  # fold any write-ahead log into the file we copy
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")
    return path


@pytest.fixture
def store_uri(_template_store: Path, tmp_path: Path) -> str:
    """Return the URI of a fresh, already-migrated SQLite MLflow store."""
    path = tmp_path / "mlflow.db"
    shutil.copy(_template_store, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance of 2 CPUs for one test module (the Ray tests' machine)."""
    import ray

    from lgt_graph.executors.ray_tasks import start_ray

    start_ray(num_cpus=2)
    yield
    ray.shutdown()


def final_state(checkpoints: Path, session: str) -> dict:
    """Read a session's final state back from its checkpoint database."""
    from lgt_graph.context import Settings
    from lgt_graph.graph.build import build_graph
    from lgt_graph.graph.registry import resolve
    from lgt_graph.session.store import SessionStore

    store = SessionStore(checkpoints)
    try:
        settings = Settings.from_dict(store.get(session)["settings"])
        nodes = resolve(settings.nodes, settings.method, settings.loop)
        graph = build_graph(nodes, checkpointer=store.saver)
        return dict(graph.get_state({"configurable": {"thread_id": session}}).values)
    finally:
        store.close()
