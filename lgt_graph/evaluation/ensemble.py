"""An ensemble of a session's trials, chosen on validation: Caruana's greedy selection.

What AutoGluon's weighted ensemble does with its models (Caruana et al., "Ensemble
selection from libraries of models", ICML 2004), done with a session's trials: start from
nothing, and :data:`ROUNDS` times add (with replacement) the trial whose outputs, averaged
with those already in, score best on the validation split; a trial's weight is the share
of rounds that picked it. The pool is the :data:`POOL` best trials whose validation outputs
were kept (:mod:`lgt_graph.evaluation.val_outputs`). Every chosen configuration is then refit on the
training split, as the final refit of one trial is, and the weighted average of their
test outputs is scored once. The weights are fitted on the validation split, so the
ensemble's validation score is optimistic, as any chosen trial's is.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from lgt_graph import history
from lgt_graph.evaluation import val_outputs
from lgt_graph.evaluation.metrics import better, classification_metrics, regression_metrics

ROUNDS = 25
"""Rounds of greedy selection: AutoGluon's default ``ensemble_size``."""
POOL = 10
"""The trials the ensemble may draw from: the best ones on validation."""


def score_outputs(outputs: np.ndarray, y: np.ndarray, classes: int) -> dict[str, float]:
    """Score outputs (class probabilities, or predictions) with the metrics every trial has."""
    if classes:
        return classification_metrics(y, outputs, classes)
    return regression_metrics(y, outputs)


def select(
    outputs: dict[int, np.ndarray],
    y: np.ndarray,
    classes: int,
    metric: str,
    maximize: bool,
    rounds: int = ROUNDS,
) -> dict[int, float]:
    """Return the trials' weights chosen greedily on validation (ties: the earlier trial)."""
    picked: list[int] = []
    total: np.ndarray | None = None
    for _ in range(rounds):
        best, best_score = None, None
        for index in sorted(outputs):
            mixed = (
                outputs[index] if total is None else (total + outputs[index]) / (len(picked) + 1)
            )
            score = score_outputs(mixed, y, classes)[metric]
            if better(score, best_score, maximize):
                best, best_score = index, score
        assert best is not None
        picked.append(best)
        total = outputs[best].copy() if total is None else total + outputs[best]
    counts = Counter(picked)
    return {index: counts[index] / len(picked) for index in sorted(counts)}


def pool(state: Any, workdir: Any, maximize: bool, size: int = POOL) -> dict[int, np.ndarray]:
    """Return the validation outputs of the best trials that kept them, by trial number."""
    scored = [t for t in history.trials(state) if t["score"] is not None]
    scored.sort(key=lambda t: float(t["score"] or 0.0), reverse=maximize)
    out: dict[int, np.ndarray] = {}
    for trial in scored:
        kept = val_outputs.load(workdir, trial["index"])
        if kept is not None:
            out[trial["index"]] = kept.astype(np.float64)
        if len(out) == size:
            break
    return out


def blend(outputs: dict[int, np.ndarray], weights: dict[int, float]) -> np.ndarray:
    """Return the weighted average of the chosen trials' outputs."""
    return sum(weights[i] * outputs[i] for i in weights)  # type: ignore[return-value]
