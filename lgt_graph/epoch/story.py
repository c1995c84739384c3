"""The story of an epoch-level run: the curve its weights went through, with every change.

Written at the end of a ``--loop epoch`` session to its MLflow run (``line.json`` and
``line/...`` metrics, one step per epoch), and drawn by the report: the line, each
switch point where a change was kept, and each rejected change with the score its
branch reached before the weights went back.
"""

from __future__ import annotations

from typing import Any

from lgt_graph import history
from lgt_graph.epoch.loop import kept, line_of, run_of
from lgt_graph.state import State


def story(state: State) -> dict[str, Any]:
    """Return the run's line (steps and curves) and its events, oldest first."""
    run = run_of(state)
    line = line_of(state, run.get("current"))
    events = []
    for trial in history.trials(state):
        segment = trial.get("segment")
        if segment is None or not trial["changes"]:
            continue
        verdict = history.verdict_for(state, trial["index"])
        outcome = verdict["outcome"] if verdict else "pending"
        events.append(
            {
                "segment": trial["index"],
                "epoch": segment["start_epoch"],
                "end_epoch": segment["start_epoch"] + segment["epochs"],
                "changes": [f"{c['knob']}={c['new']}" for c in trial["changes"]],
                "outcome": outcome,
                "kept": kept(trial, outcome),
                "score": trial["score"],
                "reference": segment["reference"],
                "paired": segment["paired"],
            }
        )
    best = run.get("best")
    return {
        "steps": line["steps"],
        "curves": line["curves"],
        "events": events,
        "best_epoch": best["epoch"] if best else None,
        "epochs_trained": run.get("epochs_trained", 0),
    }
