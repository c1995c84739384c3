"""The results page's generator: tables from stored folders, commits, verdicts, clear errors."""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from pathlib import Path

import pytest

from bench import headline
from lgt_graph.compare.rows import Row

ROOT = Path(__file__).resolve().parent.parent


def _folder(path: Path, scores: dict[str, list[float]], commit: str = "") -> None:
    """Write a compare --out folder: one iris session a (method, seed), its test accuracy."""
    path.mkdir(parents=True)
    rows = [
        Row(
            task="iris",
            method=method,
            seed=seed,
            session_id=f"{method}{seed}",
            primary="accuracy",
            maximize=True,
            status="ok",
            best_val=score,
            test={"accuracy": score},
            trials=10,
            wall_seconds=1.0,
            commit=commit,
        )
        for method, values in scores.items()
        for seed, score in enumerate(values)
    ]
    (path / "sessions.jsonl").write_text(
        "".join(json.dumps(dataclasses.asdict(r)) + "\n" for r in rows)
    )
    (path / "comparison.json").write_text(json.dumps({"seeds": [0, 1, 2, 3]}))


def _manifest(tmp_path: Path, sections: str) -> Path:
    path = tmp_path / "headline.toml"
    path.write_text('title = "Standing"\nintro = "Read me first."\n' + sections)
    return path


SECTIONS = """
[[section]]
title = "Four seeds on iris"
kind = "compare"
command = "python -m lgt_graph compare --task iris --out new"
about = "What it measures."
folders = ["new", { path = "old", methods = ["none"], commit = "0ld0000" }]

[[section]]
title = "Gone"
kind = "log"
about = "See the log."
"""


def test_page_computes_tables_verdicts_and_commits_from_the_folders(tmp_path: Path) -> None:
    _folder(
        tmp_path / "new", {"lgt": [0.9, 0.8, 0.85, 0.95], "grid": [0.8, 0.7, 0.75, 0.85]}, "abc1234"
    )
    # the old folder's LGT rows are not kept: only the methods the entry names
    _folder(tmp_path / "old", {"lgt": [0.1, 0.1, 0.1, 0.1], "none": [0.6, 0.6, 0.6, 0.6]})
    manifest = headline.read_manifest(_manifest(tmp_path, SECTIONS))
    text = headline.page(tmp_path, manifest, "python -m bench.headline --root R")

    assert text.startswith("<!-- written by `python -m bench.headline --root R`")
    assert "## Four seeds on iris" in text and "## Gone" in text and "See the log." in text
    assert "python -m lgt_graph compare --task iris --out new" in text
    # every session's commit: recorded by the rows, or the entry's for rows without one
    assert "- abc1234: LGT · GridSearch" in text and "- 0ld0000: NoTuning" in text
    # the glance line: LGT against the best rival (the grid), +0.1 on every seed, a win
    line = next(x for x in text.splitlines() if x.startswith("| [Four seeds on iris]"))
    cells = [c.strip() for c in line.split("|")[1:-1]]
    assert cells[0] == "[Four seeds on iris](#four-seeds-on-iris)"
    assert cells[1:5] == ["iris", "accuracy", "0.8750 ± 0.0645", "GridSearch 0.7750 ± 0.0645"]
    assert cells[5].startswith("+0.1000 [+0.1000, +0.1000]") and cells[6] == "**win**"
    assert cells[7] == "1 of 3" and cells[8] == "0ld0000, abc1234"
    # the table is the comparison's own, headings pushed under the section's
    assert "### iris" in text and "\n# " not in text.split("# Standing", 1)[1]
    assert "0.1000" not in text.split("### iris", 1)[1].split("\n\n")[1]  # old LGT left out


def test_a_missing_folder_or_command_is_named(tmp_path: Path) -> None:
    manifest = headline.read_manifest(_manifest(tmp_path, SECTIONS))
    with pytest.raises(headline.ManifestError, match=r"'Four seeds on iris'.*new does not exist"):
        headline.page(tmp_path, manifest, "x")
    bad = SECTIONS.replace('command = "python -m lgt_graph compare --task iris --out new"\n', "")
    with pytest.raises(headline.ManifestError, match="say the command"):
        headline.read_manifest(_manifest(tmp_path, bad))
    with pytest.raises(headline.ManifestError, match="kind, one of compare"):
        headline.read_manifest(_manifest(tmp_path, SECTIONS.replace('"log"', '"notes"')))


def test_main_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _folder(tmp_path / "new", {"lgt": [0.9, 0.8, 0.85, 0.95], "grid": [0.8, 0.7, 0.75, 0.85]})
    _folder(tmp_path / "old", {"none": [0.6, 0.6, 0.6, 0.6]})
    out = tmp_path / "RESULTS.md"
    headline.main(
        [
            "--root",
            str(tmp_path),
            "--manifest",
            str(_manifest(tmp_path, SECTIONS)),
            "--out",
            str(out),
        ]
    )
    assert f"wrote {out}" in capsys.readouterr().out
    assert "Commits:\n\n- not recorded: LGT · GridSearch\n- 0ld0000: NoTuning" in out.read_text()


def test_the_docs_page_is_the_manifests() -> None:
    """docs/RESULTS.md is the output for bench/headline.toml: its sections, in order."""
    manifest = tomllib.loads((ROOT / "bench" / "headline.toml").read_text())
    page = (ROOT / "docs" / "RESULTS.md").read_text()
    assert page.startswith("<!-- written by `python -m bench.headline")
    titles = [s["title"] for s in manifest["section"]]
    assert re.findall(r"^## (.+)$", page, re.M) == ["At a glance", *titles]
    for section in manifest["section"]:
        if section.get("command"):
            assert section["command"].strip() in page


def test_a_csv_task_is_named_by_its_file() -> None:
    assert headline.task_name("csv:/data/wage/Wage.csv") == "Wage"
    assert headline.task_name("iris") == "iris"
