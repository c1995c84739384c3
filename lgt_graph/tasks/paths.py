"""Where data is read from and where derived files are cached.

Data is looked up in ``--data-dir``, then ``LGT_DATA_DIR``, then a per-user data
directory. The data directory may be read-only (CI mounts it so), so anything
decoded or extracted goes to the cache directory instead.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "LGT_DATA_DIR"
CACHE_ENV = "LGT_CACHE_DIR"


def _xdg(var: str, fallback: str) -> Path:
    base = os.environ.get(var)
    return Path(base) if base else Path.home() / fallback


def user_data_dir() -> Path:
    """Return the per-user data directory, the last place data is looked for."""
    return _xdg("XDG_DATA_HOME", ".local/share") / "lgt_graph" / "data"


def cache_dir() -> Path:
    """Return the writable cache for decoded datasets (``LGT_CACHE_DIR`` overrides)."""
    explicit = os.environ.get(CACHE_ENV)
    path = Path(explicit) if explicit else _xdg("XDG_CACHE_HOME", ".cache") / "lgt_graph"
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dirs(explicit: str | os.PathLike[str] | None = None) -> list[Path]:
    """Return the data directories to search, in precedence order.

    An explicit directory (the ``--data-dir`` flag) replaces the environment
    variable; the per-user directory is always searched last.
    """
    first = explicit if explicit is not None else os.environ.get(DATA_ENV)
    dirs = [Path(first).expanduser()] if first else []
    dirs.append(user_data_dir())
    return dirs
