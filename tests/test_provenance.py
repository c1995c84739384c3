"""Which source ran a session: a commit (dirty when the package changed), or a version."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lgt_graph import __version__, provenance


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch):
    """Point provenance at another folder, its answers not cached from the real one."""

    def point(root: Path) -> None:
        monkeypatch.setattr(provenance, "ROOT", root)
        provenance.source.cache_clear()
        provenance.full_commit.cache_clear()

    yield point
    provenance.source.cache_clear()
    provenance.full_commit.cache_clear()


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_outside_a_checkout_the_package_version(tmp_path: Path, at) -> None:
    at(tmp_path / "site-packages")  # an installed package: no pyproject beside it
    assert provenance.source() == f"lgt_graph {__version__}"
    assert provenance.full_commit() is None


def test_a_checkout_gives_its_commit_and_is_dirty_only_when_the_package_changed(
    tmp_path: Path, at
) -> None:
    (tmp_path / "lgt_graph").mkdir()
    (tmp_path / "lgt_graph" / "agent.py").write_text("x = 1\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'lgt_graph'\n")
    (tmp_path / "README.md").write_text("hello\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    head = _git(tmp_path, "rev-parse", "HEAD")
    at(tmp_path)
    assert provenance.full_commit() == head and provenance.source() == head[:7]
    (tmp_path / "README.md").write_text("edited\n")  # not code: results are still head's
    at(tmp_path)
    assert provenance.source() == head[:7]
    (tmp_path / "lgt_graph" / "agent.py").write_text("x = 2\n")
    at(tmp_path)
    assert provenance.source() == head[:7] + "-dirty"
