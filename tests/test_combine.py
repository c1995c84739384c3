"""The benchmarks' readers: bench.combine (comparisons run in parts, read back as one) and
bench.chosen / bench.failures (what a store's sessions chose, and their failures)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.combine import load
from lgt_graph.compare.render import write_outputs
from lgt_graph.compare.run import PLAN, ROWS


def _part(folder: Path, seeds: list[int], scores: dict[str, list[float]]) -> Path:
    """Write a compare --out folder: its plan and one session a method and seed."""
    folder.mkdir()
    (folder / PLAN).write_text(json.dumps({"seeds": seeds}))
    lines = []
    for method, values in scores.items():
        for seed, value in zip(seeds, values, strict=True):
            row = {
                "task": "iris",
                "method": method,
                "seed": seed,
                "session_id": f"{method}-{seed}",
                "primary": "accuracy",
                "maximize": True,
                "status": "ok",
                "best_val": value,
                "test": {"accuracy": value},
                "trials": 3,
                "wall_seconds": 1.0,
            }
            lines.append(json.dumps(row))
    (folder / ROWS).write_text("\n".join(lines) + "\n")
    return folder


def test_parts_with_different_seeds_pair_up_over_all_of_them(tmp_path: Path) -> None:
    first = _part(tmp_path / "a", [0, 1], {"lgt": [0.9, 0.8], "grid": [0.8, 0.7]})
    second = _part(tmp_path / "b", [2], {"lgt": [0.95], "grid": [0.85]})
    rows, seeds = load([first, second])
    assert seeds == [0, 1, 2]
    assert sorted((r.method, r.seed) for r in rows) == [
        ("grid", 0),
        ("grid", 1),
        ("grid", 2),
        ("lgt", 0),
        ("lgt", 1),
        ("lgt", 2),
    ]
    out = tmp_path / "combined"
    out.mkdir()
    write_outputs(rows, out, None, seeds, budget_note="Equal trials")
    text = (out / "results.md").read_text()
    assert "seeds 0, 1, 2;" in text
    # LGT leads by 0.1 on every seed: the paired gain is 0.1 over all three seeds.
    assert "gain +0.1000 paired over 3 seeds, 95% CI [+0.1000, +0.1000] → **win**" in text


def test_an_equal_compute_folder_reads_as_its_parts_and_a_wrong_one_is_named(
    tmp_path: Path,
) -> None:
    top = tmp_path / "eq"
    top.mkdir()
    _part(top / "part-lgt", [0, 1], {"lgt": [0.9, 0.8]})
    _part(top / "part-grid", [0, 1], {"grid": [0.8, 0.7]})
    (top / "part-grid.log").write_text("a stream's log, not a comparison\n")
    rows, seeds = load([top])
    assert seeds == [0, 1] and sorted({r.method for r in rows}) == ["grid", "lgt"]
    for wrong, said in (
        (tmp_path / "nothing", "does not exist"),
        (top / "part-grid.log", "holds no"),
    ):
        with pytest.raises(SystemExit, match=said):
            load([wrong])


def test_chosen_shows_the_trial_the_session_refit(store_uri: str, tmp_path: Path) -> None:
    """bench.chosen (and bench.failures, through the same walk of the store) read a real session."""
    from bench.chosen import lines
    from bench.failures import count

    command = ["run", "--task", "iris", "--budget", "3", "--tracking-uri", store_uri]
    proc = subprocess.run(
        [sys.executable, "-m", "lgt_graph", *command, "--threads", "1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    every = lines(store_uri, ["model"], ["lgt"], trials=True)
    chosen = lines(store_uri, ["model"], ["lgt"], trials=False)
    assert len(every) == 2 + 3 and len(chosen) == 2 + 1  # header, rule, then the rows
    assert "(chosen)" in chosen[2] and chosen[2] in every
    assert "| default |" in every[2] and "model=" in every[2]
    assert sum(c["trials"] for c in count(store_uri, None).values()) == 3


def test_pairs_takes_the_reference_from_its_own_folder(tmp_path: Path) -> None:
    from bench.pairs import table

    both = _part(tmp_path / "both", [0, 1], {"lgt": [0.99, 0.98]})
    epoch = _part(tmp_path / "epoch", [0, 1], {"lgt": [0.90, 0.91], "pbt": [0.95, 0.93]})
    text = table([both], "pbt", ["lgt"], reference=epoch)
    # the --loop both LGT (0.99, 0.98) against PBT (0.95, 0.93), not the epoch folder's LGT
    assert "| iris | LGT | 0.9850 ± 0.0071 | 0.9400 ± 0.0141 | +0.0450" in text
    assert text.rstrip().endswith("| win |")


def test_experience_pairs_sessions_with_and_without_lessons_by_seed(tmp_path: Path) -> None:
    from bench.experience import table

    without = _part(tmp_path / "without", [0, 1, 2], {"lgt": [0.90, 0.91, 0.92]})
    with_ = _part(tmp_path / "with", [0, 1, 2], {"lgt": [0.93, 0.94, 0.95]})
    for folder, reach in ((without, [0.5, 0.9, 0.9]), (with_, [0.9, 0.9, 0.9])):
        rows = [json.loads(x) for x in (folder / ROWS).read_text().splitlines()]
        for row in rows:  # best so far per trial: without reaches it at trial 2, with at 1
            row["best_at"] = reach
            row["predictions"] = [{"hit": True}, {"hit": folder is with_}]
        (folder / ROWS).write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    text = table([(without, with_)])
    assert "| iris (accuracy) | 0.91 ± 0.01 | 0.94 ± 0.01 | +0.03 [+0.03, +0.03] | win |" in text
    assert "| 2 ± 0 → 1 ± 0 |" in text and "| 50% → 100% |" in text
