"""Fault suite, storage that cannot be written: read-only folders and files, a full disk.

Each is checked up front where it can be (one line, exit 2, no MLflow session left
RUNNING), and mid-session where it cannot: a disk that fills stops the session at its
last complete step (one line, exit 4), and ``--resume`` once space is freed finishes
it with every trial once. As root (which writes through any file mode) the folders
are small tmpfs mounts, mounted read-only or resized; otherwise file modes and a
file-size limit (RLIMIT_FSIZE) play their part.
"""

import contextlib
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
ROOT = os.geteuid() == 0


def mount(folder: Path, options: str) -> bool:
    folder.mkdir(exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True
    )
    return done.returncode == 0


def remount(folder: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True)


@pytest.fixture
def small_disk(tmp_path):
    """A folder on a filesystem of its own (root) or None (the caller limits file sizes)."""
    folder = tmp_path / "disk"
    if ROOT and mount(folder, "size=64m"):
        yield folder
        subprocess.run(["umount", "-l", str(folder)], check=False)
    elif ROOT:
        pytest.skip("root, but tmpfs cannot be mounted here (no CAP_SYS_ADMIN)")
    else:
        folder.mkdir()
        yield None


def make_read_only(folder: Path, mounted: bool) -> None:
    if mounted:
        remount(folder, "ro")
    else:
        for path in [folder, *folder.iterdir()]:
            path.chmod(0o555 if path.is_dir() else 0o444)


def lgt(*args, cwd, limit=None):
    def cap():  # a full disk without root: no file may grow past ``limit`` bytes
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "lgt_graph", *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=cwd,
        timeout=600,
        preexec_fn=cap if limit else None,
    )


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if not line.startswith("trial ")]
    assert "Traceback" not in err, err
    return lines[-1]


def test_a_read_only_folder_is_one_line_and_nothing_is_run(small_disk, tmp_path):
    folder = small_disk or tmp_path / "disk"
    make_read_only(folder, small_disk is not None)
    done = lgt("run", "--task", "iris", "--budget", "2", cwd=folder)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "is not writable" in done.stderr and str(folder) in done.stderr


def test_a_read_only_checkpoint_file_stops_before_any_mlflow_run(
    small_disk, tmp_path, _template_store
):
    folder = small_disk or tmp_path / "disk"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    shutil.copy(_template_store, tmp_path / "mlflow.db")
    first = lgt("run", "--task", "iris", "--budget", "1", "--checkpoints", str(folder / "ck.db"),
                "--tracking-uri", uri, cwd=tmp_path)  # fmt: skip
    assert first.returncode == 0, first.stderr
    sessions_before = MlflowClient(uri).search_runs(
        [MlflowClient(uri).get_experiment_by_name("lgt-iris").experiment_id]
    )
    make_read_only(folder, small_disk is not None)
    done = lgt("run", "--task", "iris", "--budget", "2", "--checkpoints", str(folder / "ck.db"),
               "--tracking-uri", uri, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "checkpoints" in one_line(done.stderr) and "writable" in done.stderr
    client = MlflowClient(uri)
    after = client.search_runs([client.get_experiment_by_name("lgt-iris").experiment_id])
    assert len(after) == len(sessions_before)  # no session run, RUNNING or otherwise
    assert all(r.info.status == "FINISHED" for r in after)


def test_a_full_disk_stops_the_session_cleanly_and_resume_finishes_it(
    small_disk, tmp_path, _template_store
):
    budget = 30
    folder = small_disk or tmp_path / "disk"
    shutil.copy(_template_store, folder / "mlflow.db")
    size = (folder / "mlflow.db").stat().st_size
    limit = None
    if small_disk is not None:
        remount(folder, f"size={size + 3_000_000}")  # room for the first trials only
    else:
        limit = size + 1_500_000
    done = lgt("run", "--task", "iris", "--budget", str(budget), cwd=folder, limit=limit)
    assert done.returncode == 4, done.stderr
    line = one_line(done.stderr)
    assert line.startswith("cannot write the session's records"), line
    assert "continue with: python -m lgt_graph run --resume" in line
    trained = [t for t in done.stderr.splitlines() if t.startswith("trial ")]
    assert 0 < len(trained) < budget  # it stopped, not trained on while every write failed
    session = done.stderr.split("session ")[1].split(":")[0]

    if small_disk is not None:
        remount(folder, "size=64m")  # space is freed
    resumed = lgt("run", "--resume", session, cwd=folder)
    assert resumed.returncode == 0, resumed.stderr
    # it goes on from its last saved step: never behind the last trial it printed (at most
    # the trial it was recording when the disk filled is saved but not yet printed)
    after = int(resumed.stderr.split(f"resuming session {session} after ")[1].split()[0])
    assert len(trained) <= after <= len(trained) + 1, (after, len(trained))
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    parent = client.get_run(session)
    assert parent.info.status == "FINISHED"
    runs = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{session}'", max_results=100
    )
    assert sorted(int(r.data.tags["lgt.trial"]) for r in runs) == list(range(1, budget + 1))
    assert all(r.info.status == "FINISHED" for r in runs)
    with contextlib.suppress(OSError):
        shutil.rmtree(folder / "lgt_reports")


def sessions(store: Path) -> list:
    client = MlflowClient(f"sqlite:///{store}")
    experiment = client.get_experiment_by_name("lgt-iris")
    return client.search_runs([experiment.experiment_id], "tags.mlflow.parentRunId IS NULL")


def test_a_disk_that_fills_while_the_stores_are_created_is_one_line_and_a_later_run_works(
    tmp_path,
):
    folder = tmp_path / "disk"
    folder.mkdir()
    # Too little room for the checkpoint database (a few pages and their log)
    done = lgt("run", "--task", "iris", "--budget", "1", cwd=folder, limit=16_000)
    assert done.returncode == 4, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    line = one_line(done.stderr)
    assert f"checkpoint database {folder / 'lgt_checkpoints.db'}" in line and "disk is full" in line
    # Room for it, not for the MLflow store: its migrations (about 1 MB of tables) stop midway
    done = lgt("run", "--task", "iris", "--budget", "1", cwd=folder, limit=400_000)
    assert done.returncode == 4, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    line = one_line(done.stderr)
    assert f"cannot create the MLflow store {folder / 'mlflow.db'}" in line, line
    assert "disk is full" in line
    assert not [p.name for p in folder.iterdir() if "mlflow.db" in p.name and "lock" not in p.name]

    done = lgt("run", "--task", "iris", "--budget", "1", cwd=folder)  # space is freed
    assert done.returncode == 0, done.stderr
    session = done.stderr.split("session ")[1].split(":")[0]
    assert [(r.info.run_id, r.info.status) for r in sessions(folder / "mlflow.db")] == [
        (session, "FINISHED")
    ]


def half_built(path: Path) -> None:
    """Leave a store as a full disk left MLflow's in-place creation: a migration's tables
    made, its revision not recorded (SQLite commits each CREATE TABLE on its own)."""
    import sqlalchemy
    from alembic import command
    from alembic.script import ScriptDirectory
    from mlflow.store.db.utils import _get_alembic_config
    from mlflow.store.tracking.dbmodels.initial_models import Base

    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    config = _get_alembic_config(str(engine.url))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        for migration in reversed(list(ScriptDirectory.from_config(config).walk_revisions())):
            before = set(sqlalchemy.inspect(connection).get_table_names())
            command.upgrade(config, migration.revision)
            tables = set(sqlalchemy.inspect(connection).get_table_names())
            if tables > before and migration.down_revision:
                connection.execute(
                    sqlalchemy.text("UPDATE alembic_version SET version_num = :down"),
                    {"down": migration.down_revision},
                )
                break
    engine.dispose()


def test_a_store_an_older_version_left_half_built_is_one_line_and_left_as_it_was(tmp_path):
    store = tmp_path / "mlflow.db"
    half_built(store)
    before = store.read_bytes()
    done = lgt("run", "--task", "iris", "--budget", "1", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"the MLflow store {store} is half-built" in line and "holds 0 runs" in line
    assert "move it aside" in line
    assert store.read_bytes() == before
