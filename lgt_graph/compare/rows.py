"""One row of a comparison: a finished session, summarised."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lgt_graph.agents.predictions import checks_of
from lgt_graph.evaluation.metrics import better
from lgt_graph.history import trial_epochs, trial_seconds
from lgt_graph.provenance import source

if TYPE_CHECKING:
    from lgt_graph.session import Outcome


@dataclass
class Row:
    """One session of a comparison.

    Fields with defaults may be missing from an older ``sessions.jsonl``; there the
    per-trial lists (``best_at``, ``seconds_at``, ``epochs_at``) are empty: not recorded.
    """

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
    best_at: list[float | None] = field(default_factory=list)
    """Best validation primary metric after each trial: one entry a trial, in any loop."""
    seconds_at: list[float] = field(default_factory=list)
    """Seconds spent training by the end of each trial (the trials' wall times summed)."""
    epochs_at: list[int] = field(default_factory=list)
    """Epochs trained by the end of each trial (every branch counted; a tree's fit is one)."""
    predictions: list[dict[str, Any]] = field(default_factory=list)
    """The checks of the Advisor's predictions (:mod:`lgt_graph.agents.predictions`); none for a
    method whose proposals predict nothing."""
    calls: list[dict[str, Any]] = field(default_factory=list)
    """Each agent call: agent, status (ok, repaired, fallback), tokens measured before
    sending and counted by the server, seconds, whether the prompt was shortened."""
    commit: str = ""
    """The lgt_graph source that ran the session (:func:`lgt_graph.provenance.source`):
    a commit such as ``e8bd55c`` (``-dirty`` when the package's files differed from it) or
    ``lgt_graph 0.1.0``; empty in a ``sessions.jsonl`` from before it was recorded. A session
    stopped and resumed records the source of the process that finished it."""

    @property
    def train_seconds(self) -> float | None:
        """Return the seconds all trials spent training (None when not recorded)."""
        return self.seconds_at[-1] if self.seconds_at else None


def row_of(task: str, method: str, seed: int, outcome: Outcome, seconds: float) -> Row:
    """Summarise a finished session for the comparison."""
    ctx = outcome.ctx
    trials = outcome.values.get("trials", [])
    best: float | None = None
    curve: list[float | None] = []
    best_at: list[float | None] = []
    seconds_at: list[float] = []
    epochs_at: list[int] = []
    epochs, trained_seconds = 0, 0.0
    for trial in trials:
        score = trial["score"]
        if score is not None and better(score, best, ctx.maximize):
            best = score
        trained = trial_epochs(trial)
        epochs += trained
        trained_seconds += trial_seconds(trial)
        best_at.append(best)
        seconds_at.append(trained_seconds)
        epochs_at.append(epochs)
        curve += [best] * (trained if ctx.settings.loop != "trial" else 1)
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
        best_at=best_at,
        seconds_at=seconds_at,
        epochs_at=epochs_at,
        predictions=[
            {k: v for k, v in c.items() if k in KEPT}
            for c in checks_of(outcome.values.get("verdicts", []))
        ],
        calls=[
            {
                "agent": c["agent"],
                "status": c["status"],
                "prompt_tokens": c.get("prompt_tokens", 0),
                "input_tokens": c["input_tokens"],
                "output_tokens": c["output_tokens"],
                "seconds": c.get("seconds", 0.0),
                "shortened": bool(c.get("fit")),
            }
            for c in calls
            if ctx.settings.llm != "heuristic"
        ],
        commit=source(),
    )


KEPT = ("expected", "observed", "hit", "probability", "brier", "reference")
"""What a row keeps of each checked prediction: enough to score them again."""
