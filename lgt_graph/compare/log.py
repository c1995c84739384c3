"""Record a comparison (or an ablation) as one MLflow run with its outputs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lgt_graph.compare.rank import summary
from lgt_graph.compare.render import OUTPUTS
from lgt_graph.compare.rows import Row


def log_comparison(
    rows: list[Row],
    out: Path,
    tracking_uri: str | None,
    params: dict[str, Any],
    kind: str = "compare",
) -> str:
    """Record the comparison (``kind`` compare or ablate) as an MLflow run with its outputs."""
    from mlflow.entities import Metric, Param

    from lgt_graph.tracking import Tracker
    from lgt_graph.tracking import tracking_uri as resolve_uri

    tracker = Tracker(resolve_uri(tracking_uri), f"lgt-{kind}")
    client = tracker.client
    run = client.create_run(
        tracker.experiment_id,
        run_name=f"{kind}-{time.strftime('%m%d-%H%M%S')}",
        tags={"kind": "comparison" if kind == "compare" else "ablation"},
    )
    run_id = str(run.info.run_id)
    now = int(time.time() * 1000)
    metrics = []
    for task, per in summary(rows).items():
        for method, v in per.items():
            for metric, (mean, _) in v["test"].items():
                metrics.append(Metric(f"{task}.{method}.test_{metric}", mean, now, 0))
            if v["rank"] is not None:
                metrics.append(Metric(f"{task}.{method}.rank", float(v["rank"]), now, 0))
    client.log_batch(run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
    for start in range(0, len(metrics), 900):
        client.log_batch(run_id, metrics=metrics[start : start + 900])
    for name in OUTPUTS:
        client.log_artifact(run_id, str(out / name))
    client.set_terminated(run_id, "FINISHED")
    return run_id
