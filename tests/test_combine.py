"""bench.combine: comparisons run in parts (different seeds, different days) read back as one."""

from __future__ import annotations

import json
from pathlib import Path

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
