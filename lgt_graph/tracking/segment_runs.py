"""The epoch-level loop's MLflow records: a segment's control branch, and a trial's inner segments.

Called from :mod:`lgt_graph.tracking.session_runs` while it writes a trial's run.
"""

from __future__ import annotations

from typing import Any


def segment_metrics(client: Any, run_id: str, segment: dict[str, Any], stamp: int) -> None:
    """Log the control branch's curves (``control/...``) and the paired reference."""
    from mlflow.entities import Metric

    metrics = []
    control = segment.get("control")
    if control is not None:
        metrics += [
            Metric(f"control/{name}", float(value), stamp, int(step))
            for name, values in control["curves"].items()
            for step, value in zip(control["steps"], values, strict=True)
        ]
    if segment.get("reference") is not None:
        metrics.append(Metric("reference_score", float(segment["reference"]), stamp, 0))
    metrics.append(Metric("segment_cost_epochs", float(segment["cost"]), stamp, 0))
    for start in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[start : start + 1000])


def inner_segments(
    client: Any,
    experiment_id: str,
    trial_run: str,
    index: int,
    segments: list[dict[str, Any]],
    primary: str,
    tags: dict[str, str],
) -> None:
    """Write each segment of a ``--loop both`` trial's inner run as a child of the trial's run.

    The child carries the segment's changes with their reasons, the Evaluator's
    verdict on the paired comparison, and the score its branch reached.
    """
    from mlflow.entities import Metric

    for seg in segments:
        run = client.create_run(
            experiment_id,
            run_name=f"trial-{index:03d}-segment-{int(seg['segment']):03d}",
            tags={
                **tags,
                "mlflow.parentRunId": trial_run,
                "kind": "inner_segment",
                "lgt.outer_trial": str(index),
                "lgt.segment": str(seg["segment"]),
                "lgt.epochs": str(seg["epochs"]),
                "lgt.changes": (", ".join(seg["changes"]) or "no change")[:5000],
                "lgt.outcome": str(seg.get("outcome")),
                "lgt.paired": str(seg.get("paired", False)).lower(),
                "mlflow.note.content": seg.get("verdict", "")[:5000],
            },
        )
        run_id = run.info.run_id
        if seg.get("reasons"):
            client.log_text(run_id, "\n".join(seg["reasons"]), "reasons.md")
        if seg.get("score") is not None:
            metric = Metric(f"val_{primary}", float(seg["score"]), run.info.start_time, 0)
            client.log_batch(run_id, metrics=[metric])
        client.set_terminated(run_id, "FINISHED" if seg.get("score") is not None else "FAILED")
