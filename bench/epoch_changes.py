"""What the epoch-level loop did with its changes, read back from ``compare`` folders.

For each folder's sessions (its ``sessions.jsonl``) and their MLflow records, per method:
the test score; the changes judged on a paired segment, a session; the share kept
(improved against the control branch); the *reversals* — a kept move of a knob followed,
within three segments of the same run, by a kept move of it the other way (ping-pong);
and the share of epochs trained on branches the run did not go on from. It reads
``--loop epoch`` sessions (their segments are the session's trials) and ``--loop both``
sessions (each trial's inner segments) alike, so a folder from before a change and one
from after it compare row by row.

    python -m bench.epoch_changes --tracking-uri sqlite:///mlflow.db DIR [DIR ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.common import mean_sd

WITHIN = 3
"""A kept move undone by a kept move the other way within this many segments: a reversal."""


def _value(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _moves(changes: str) -> dict[str, Any]:
    if changes in ("default", "no change", ""):
        return {}
    pairs = [part.split("=", 1) for part in changes.split(", ") if "=" in part]
    return {knob: _value(value) for knob, value in pairs}


def line_counts(start: dict[str, Any], segments: list[dict[str, Any]]) -> dict[str, int]:
    """Count one run's judged changes, kept ones, reversals and epochs not kept.

    ``segments``, in order: each with ``changes`` (knob to value), ``paired``,
    ``outcome`` and ``epochs`` (a branch's epochs).
    """
    current = {k: _value(str(v)) for k, v in start.items()}
    last: dict[str, tuple[int, int]] = {}  # knob -> (segment, direction) of its last kept move
    counts = {"judged": 0, "kept": 0, "reversals": 0, "epochs": 0, "epochs_lost": 0}
    for position, segment in enumerate(segments):
        moves, paired = segment["changes"], segment["paired"]
        counts["epochs"] += segment["epochs"] * (2 if paired else 1)
        if paired:
            counts["epochs_lost"] += segment["epochs"]
        if not moves:
            continue
        kept = segment["outcome"] == "improved" or (not paired and segment["outcome"] == "neutral")
        if paired:
            counts["judged"] += 1
            counts["kept"] += kept
        if not kept:
            continue
        for knob, new in moves.items():
            old = current.get(knob)
            numeric = isinstance(new, float) and isinstance(old, float)
            direction = (1 if new > old else -1) if numeric and new != old else 0
            if direction and knob in last:
                at, before = last[knob]
                if before == -direction and position - at <= WITHIN:
                    counts["reversals"] += 1
            if direction:
                last[knob] = (position, direction)
            current[knob] = new
    return counts


def _span(text: str) -> int:
    first, _, last = text.partition("-")
    return int(last or first) - int(first) + 1


def session_counts(client: Any, experiment_ids: list[str], session: str) -> dict[str, int]:
    """Read one session's runs of segments from MLflow and count them."""
    trials = client.search_runs(
        experiment_ids, f"tags.mlflow.parentRunId = '{session}'", max_results=50000
    )
    total: dict[str, int] = {}
    runs: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    segments = sorted(
        (t for t in trials if t.data.tags.get("kind") == "segment"),
        key=lambda r: int(r.data.tags["lgt.trial"]),
    )
    if segments:  # --loop epoch: the session's trials are the run's segments
        steps = [
            {
                "changes": _moves(r.data.tags.get("lgt.changes", "")),
                "paired": r.data.tags.get("lgt.paired") == "true",
                "outcome": r.data.tags.get("lgt.verdict"),
                "epochs": int(float(r.data.metrics.get("segment_cost_epochs", 1)))
                // (2 if r.data.tags.get("lgt.paired") == "true" else 1),
            }
            for r in segments
        ]
        runs.append((dict(segments[0].data.params), steps))
    for trial in (t for t in trials if t.data.tags.get("kind") == "trial"):
        inner = client.search_runs(
            experiment_ids, f"tags.mlflow.parentRunId = '{trial.info.run_id}'", max_results=50000
        )
        inner = sorted(
            (r for r in inner if r.data.tags.get("kind") == "inner_segment"),
            key=lambda r: int(r.data.tags["lgt.segment"]),
        )
        steps = [
            {
                "changes": _moves(r.data.tags.get("lgt.changes", "")),
                "paired": r.data.tags.get("lgt.paired") == "true",
                "outcome": r.data.tags.get("lgt.outcome"),
                "epochs": _span(r.data.tags.get("lgt.epochs", "1")),
            }
            for r in inner
        ]
        if steps:
            runs.append((dict(trial.data.params), steps))
    for start, steps in runs:
        for key, value in line_counts(start, steps).items():
            total[key] = total.get(key, 0) + value
    return total


def folder_rows(client: Any, folder: Path) -> list[dict[str, Any]]:
    """Return one row per session of a ``compare`` folder: its method, test score and counts."""
    experiment_ids = [e.experiment_id for e in client.search_experiments()]
    rows = []
    for line in (folder / "sessions.jsonl").read_text().splitlines():
        entry = json.loads(line)
        test = (entry.get("test") or {}).get(entry["primary"])
        counts = session_counts(client, experiment_ids, entry["session_id"])
        rows.append({"method": entry["method"], "seed": entry["seed"], "test": test, **counts})
    return rows


def table(named: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Format each folder's methods as one row each."""
    lines = [
        "| folder | method | sessions | test | changes judged a session | kept | reversals"
        " | epochs on branches not kept |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in named.items():
        for method in dict.fromkeys(r["method"] for r in rows):
            mine = [r for r in rows if r["method"] == method]
            tests = [r["test"] for r in mine if r["test"] is not None]
            test = mean_sd(tests)
            judged = sum(r.get("judged", 0) for r in mine)
            kept = sum(r.get("kept", 0) for r in mine)
            epochs = sum(r.get("epochs", 0) for r in mine)
            lost = sum(r.get("epochs_lost", 0) for r in mine)
            lines.append(
                f"| {name} | {method} | {len(mine)} | {test} | {judged / len(mine):.1f} |"
                f" {kept} of {judged} ({kept / judged if judged else 0:.0%}) |"
                f" {sum(r.get('reversals', 0) for r in mine)} |"
                f" {lost / epochs if epochs else 0:.0%} |"
            )
    return lines


def main() -> None:
    """Read the folders, print and save the table."""
    from mlflow import MlflowClient

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    parser.add_argument("--out", type=Path, help="write epoch_changes.md and .json here")
    args = parser.parse_args()
    client = MlflowClient(args.tracking_uri)
    named = {
        f"{folder.parent.name}/{folder.name}": folder_rows(client, folder)
        for folder in args.folders
    }
    lines = table(named)
    print("\n".join(lines))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "epoch_changes.md").write_text("\n".join(lines) + "\n")
        (args.out / "epoch_changes.json").write_text(json.dumps(named, indent=2))


if __name__ == "__main__":
    main()
