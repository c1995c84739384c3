"""A trial as an MLflow run: its configuration as params, its curves as metrics."""

from __future__ import annotations

import time
from typing import Any

from lgt_graph.training.result import TrialResult

CURVE_PREFIX = "curve/"
MAX_BATCH, MAX_PARAMS = 1000, 100
"""MLflow takes at most 1000 entries, of which at most 100 params, per log_batch call."""


def write_trial(
    client: Any,
    experiment_id: str,
    result: dict[str, Any],
    tags: dict[str, str],
    run_name: str | None,
    parent_run_id: str | None,
    terminate: bool = True,
    start_time: int | None = None,
) -> str:
    """Create the run of one trial and write it in one batch; return the run id.

    With ``terminate=False`` the run stays open for the caller to add to and close.
    """
    from mlflow.entities import Metric, Param

    trial = TrialResult.from_dict(result)
    all_tags = {
        **tags,
        "status": trial.status,
        "model": str(trial.config.get("model", "")),
        "step_unit": trial.step_unit,
        "mlflow.note.content": _note(trial),
    }
    if trial.reason:
        all_tags["failure_reason"] = trial.reason[:5000]
    listed = {k: v for k, v in trial.diagnostics.items() if isinstance(v, list | dict)}
    for key, value in trial.diagnostics.items():
        if key != "traceback" and key not in listed:
            all_tags[f"diagnostics.{key}"] = str(value)[:5000]
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    run_id: str = client.create_run(
        experiment_id, run_name=run_name, tags=all_tags, start_time=start_time
    ).info.run_id
    now = int(time.time() * 1000)
    metrics = [
        Metric(f"{CURVE_PREFIX}{name}", float(value), now, int(step))
        for name, values in trial.curves.items()
        for step, value in zip(trial.steps, values, strict=True)
    ]
    metrics += [Metric(f"val_{k}", float(v), now, 0) for k, v in trial.metrics.items()]
    metrics += [Metric(f"test_{k}", float(v), now, 0) for k, v in trial.test_metrics.items()]
    metrics.append(Metric("wall_time_s", trial.wall_time, now, 0))
    params = [Param(k, _param(v)) for k, v in trial.config.items()]
    for batch_params, batch_metrics in _batches(params, metrics):
        client.log_batch(run_id, metrics=batch_metrics, params=batch_params)
    if "traceback" in trial.diagnostics:
        client.log_text(run_id, trial.diagnostics["traceback"], "failure.txt")
    for key, value in listed.items():  # e.g. the segments of a --loop both trial's inner run
        client.log_dict(run_id, {key: value}, f"{key}.json")
    if terminate:
        client.set_terminated(run_id, "FINISHED" if trial.ok else "FAILED")
    return run_id


def set_status(client: Any, experiment_id: str, run_id: str, status: str) -> None:
    """Set a run's status: RUNNING reopens it, FINISHED, FAILED or KILLED closes it."""
    if status == "RUNNING":
        client.update_run(run_id, status="RUNNING")
    else:
        client.set_terminated(run_id, status)


def _batches(params: list[Any], metrics: list[Any]) -> list[tuple[list[Any], list[Any]]]:
    """Split params and metrics into log_batch calls that respect MLflow's limits."""
    batches: list[tuple[list[Any], list[Any]]] = []
    while params or metrics or not batches:
        head, params = params[:MAX_PARAMS], params[MAX_PARAMS:]
        room = MAX_BATCH - len(head)
        batches.append((head, metrics[:room]))
        metrics = metrics[room:]
    return batches


def _param(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _note(result: TrialResult) -> str:
    """Return the run description shown at the top of its MLflow page."""
    if not result.ok:
        return f"Failed trial: {result.reason}"
    scores = ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items())
    unit = result.step_unit if result.step_unit.endswith("s") else f"{result.step_unit}s"
    return f"Validation: {scores}. {len(result.steps)} {unit} in {result.wall_time:.1f}s."
