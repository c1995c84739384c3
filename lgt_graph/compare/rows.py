"""One row of a comparison: a finished session, summarised."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lgt_graph.metrics import better

if TYPE_CHECKING:
    from lgt_graph.session import Outcome


@dataclass
class Row:
    """One session of a comparison."""

    task: str
    method: str
    seed: int
    session_id: str
    primary: str
    maximize: bool
    status: str
    best_val: float | None
    test: dict[str, float]
    trials: int
    wall_seconds: float
    input_tokens: int = 0
    output_tokens: int = 0
    curve: list[float | None] = field(default_factory=list)
    """Best validation primary metric after each trial (after each epoch trained, when the
    budget counts epochs)."""
    epochs: int = 0
    """Epochs trained, every branch counted (0 in the trial loop, which does not count them)."""
    failed: int = 0
    """Trials without a score."""


def row_of(task: str, method: str, seed: int, outcome: Outcome, seconds: float) -> Row:
    """Summarise a finished session for the comparison."""
    ctx = outcome.ctx
    trials = outcome.values.get("trials", [])
    best: float | None = None
    curve: list[float | None] = []
    epochs = 0
    for trial in trials:
        score = trial["score"]
        if score is not None and better(score, best, ctx.maximize):
            best = score
        cost = _cost(trial) if ctx.settings.loop != "trial" else 1
        epochs += cost
        curve += [best] * cost
    final = outcome.values.get("final", {})
    calls = outcome.values.get("agent_calls", [])
    return Row(
        task=task,
        method=method,
        seed=seed,
        session_id=outcome.session_id,
        primary=ctx.primary,
        maximize=ctx.maximize,
        status=final.get("status", "failed"),
        best_val=best,
        test=dict(final.get("test", {})),
        trials=len(trials),
        wall_seconds=seconds,
        input_tokens=sum(c["input_tokens"] for c in calls),
        output_tokens=sum(c["output_tokens"] for c in calls),
        curve=curve,
        epochs=epochs if ctx.settings.loop != "trial" else 0,
        failed=sum(t["score"] is None for t in trials),
    )


def _cost(trial: dict) -> int:
    """Epochs a trial trained: a segment's both branches, or an inner run's every epoch."""
    if "segment" in trial:
        return int(trial["segment"]["cost"])
    return int(trial["result"].get("diagnostics", {}).get("epochs_trained", 1))
