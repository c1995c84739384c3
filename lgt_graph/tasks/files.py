"""Finding a task's files in the data directories, and caching what is decoded from them."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from lgt_graph.errors import DataNotFoundError
from lgt_graph.tasks.paths import cache_dir


def first_match(
    dirs: Sequence[Path], subdirs: Sequence[str], accept: Callable[[Path], bool]
) -> Path | None:
    """Return the first ``dir/subdir`` that ``accept`` takes, searching dirs in order."""
    for base in dirs:
        for sub in subdirs:
            path = base / sub if sub else base
            if accept(path):
                return path
    return None


def missing(task: str, dirs: Sequence[Path], expected: str, fetch: str) -> DataNotFoundError:
    """Build the error a user sees when a task's files are in none of the data directories."""
    looked = ", ".join(str(d) for d in dirs)
    return DataNotFoundError(
        f"{task}: data not found. Expected {expected}, in one of: {looked}. "
        f"Point --data-dir or LGT_DATA_DIR at the folder that holds them. {fetch}"
    )


def fingerprint(paths: Sequence[Path]) -> str:
    """Hash the names, sizes and modification times of files: a cheap cache key."""
    digest = hashlib.sha1()
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def source_key(source: Path) -> str:
    """Fingerprint a file, or every file under a folder, as a decoded cache's key."""
    files = sorted(source.rglob("*")) if source.is_dir() else [source]
    return fingerprint([f for f in files if f.is_file()])


def cached_arrays(
    name: str, key: str, build: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Return arrays decoded once and kept in the cache directory under ``name``-``key``.

    The data directory may be read-only, so decoded copies live in the cache; the
    file is written to a temporary name and moved into place, so a killed process
    never leaves a half-written cache behind.
    """
    folder = cache_dir() / "decoded"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as stored:
            return {k: stored[k] for k in stored.files}
    arrays = build()
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npz.part")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return arrays
