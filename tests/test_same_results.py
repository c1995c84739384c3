"""bench.same_results: two runs of the same comparisons, compared session by session."""

import json

from bench.same_results import main


def write(folder, rows):
    folder.mkdir(parents=True)
    (folder / "sessions.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def row(seed, test, session):
    return {
        "task": "iris",
        "method": "lgt",
        "seed": seed,
        "session_id": session,  # differs in every run: not compared
        "wall_seconds": 3.0 + seed,
        "status": "ok",
        "best_val": 0.9,
        "test": {"accuracy": test},
        "trials": 4,
        "best_at": [0.8, 0.9],
    }


def test_same_sessions_pass_and_a_changed_score_is_named(tmp_path, capsys):
    write(tmp_path / "before" / "iris", [row(0, 0.9, "a"), row(1, 0.8, "b")])
    write(tmp_path / "same" / "iris", [row(1, 0.8, "d"), row(0, 0.9, "c")])
    write(tmp_path / "changed" / "iris", [row(0, 0.9, "e"), row(1, 0.7, "f")])
    assert main([str(tmp_path / "before"), str(tmp_path / "same")]) == 0
    assert "2 of 2 sessions measured the same" in capsys.readouterr().out
    assert main([str(tmp_path / "before"), str(tmp_path / "changed")]) == 1
    out = capsys.readouterr().out
    assert "iris: 2 sessions, DIFFERENT" in out and "('iris', 'lgt', 1): test" in out
