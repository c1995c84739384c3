"""What a session is called in MLflow: its experiment, its parent run, and their tags."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lgt_graph import provenance
from lgt_graph.context import Settings


def experiment_name(task: str) -> str:
    """Return the default MLflow experiment of a task."""
    if ":" in task:
        kind, _, path = task.partition(":")
        return f"lgt-{kind}-{Path(path).stem}"
    return f"lgt-{task}"


def start_parent_run(
    tracker: Any,
    settings: Settings,
    facts: dict[str, Any],
    nodes: dict[str, str],
    placement: Any = None,
) -> str:
    """Create a session's parent run: tags and params that say what the session is.

    ``placement`` (a :class:`~lgt_graph.training.device.Placement`) adds the tags
    ``device`` (the device ``--device`` resolved to, e.g. ``cuda:0 (NVIDIA H200)``) and
    ``amp`` (the autocast dtype, or off); the settings' ``--device auto`` is a param.
    """
    from mlflow.entities import Param

    tags = {
        "kind": "session",
        "task": settings.task,
        "seed": str(settings.seed),
        "budget": str(settings.budget),
        "method": settings.method,
        "llm": settings.llm,
        "nodes": ",".join(f"{k}={v}" for k, v in nodes.items()),
        "mlflow.note.content": f"Tuning {settings.task} with {settings.method}.",
        "lgt.source": provenance.source(),
        **({"mlflow.source.git.commit": commit} if (commit := provenance.full_commit()) else {}),
        **(placement.tags() if placement is not None else {}),
    }
    run = tracker.client.create_run(
        tracker.experiment_id,
        run_name=f"{settings.method}-{settings.task}-{time.strftime('%m%d-%H%M%S')}",
        tags=tags,
    )
    run_id = str(run.info.run_id)
    values = {f"setting.{k}": v for k, v in settings.to_dict().items()}
    values |= {f"node.{k}": v for k, v in nodes.items()}
    values |= {f"data.{k}": v for k, v in facts.items()}
    items = [Param(k, str(v)[:6000]) for k, v in values.items()]
    for start in range(0, len(items), 100):
        tracker.client.log_batch(run_id, params=items[start : start + 100])
    tracker.client.set_tag(run_id, "lgt.session", run_id)
    return run_id


def tag_placement(tracker: Any, run_id: str, placement: Any) -> None:
    """Record on a resumed session's run where its nets now train (``device`` and ``amp`` tags)."""
    for key, value in placement.tags().items():
        tracker.client.set_tag(run_id, key, value)
