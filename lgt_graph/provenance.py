"""Which lgt_graph source ran a session: the git commit of a checkout, or the package version.

Every result a comparison keeps says what code made it (``Row.commit``, the session run's
``lgt.source`` tag and MLflow's own ``mlflow.source.git.commit``), so a results page can
print each table's commit without anyone copying it by hand. A checkout whose tracked
files differ from its commit is marked ``-dirty``: its results are not that commit's.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from lgt_graph import __version__

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@functools.cache
def full_commit() -> str | None:
    """Return the full hash of the checkout's commit, or None outside a git checkout of ours."""
    if not (ROOT / "pyproject.toml").is_file() or not (ROOT / "lgt_graph").is_dir():
        return None  # an installed package: the folder above is site-packages, not a checkout
    return _git("rev-parse", "HEAD")


@functools.cache
def source() -> str:
    """Return what ran, in one word: ``e8bd55c``, ``e8bd55c-dirty`` or ``lgt_graph 0.1.0``.

    Dirty counts tracked files under the package's own folders only (lgt_graph, nodes,
    prompts): an edited README does not change a result, an edited node does.
    """
    commit = full_commit()
    if commit is None:
        return f"lgt_graph {__version__}"
    changed = _git(
        "status", "--porcelain", "--untracked-files=no", "--", "lgt_graph", "nodes", "prompts"
    )
    return commit[:7] + ("-dirty" if changed else "")
