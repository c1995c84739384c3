"""Which trial a session's final refit takes: the best, or by the one-standard-error rule.

A session that tries forty configurations and keeps the one with the best validation
score keeps, among near-ties, the one the validation rows happened to favour: its lead
is partly luck, and its test score regresses towards the others (the winner's curse).
The one-standard-error rule, a practitioner's prior since Breiman's CART, takes instead
the simplest trial whose score is within one standard error of the best's. Here the
earliest stands for the simplest: a session starts from the default and changes a few
knobs at a time. Across model families it is a poor stand-in (on house it took the
default net over a linear model within reach of it; docs/log/results-2026-12-07.md), which
is why this is an ablation (``--node finalize=one-se``), not LGT's default. The error is paired
(:func:`lgt_graph.evaluation.metrics.paired_standard_error`): both trials are scored on the same
rows, so two models that differ little are compared closely, and one that is worse on
most rows is not within reach however noisy the scores.
"""

from __future__ import annotations

from typing import Any

from lgt_graph import history
from lgt_graph.context import Context
from lgt_graph.evaluation import val_outputs
from lgt_graph.evaluation.metrics import gain, paired_standard_error
from lgt_graph.state import State, Trial


def one_se_trial(state: State, ctx: Context) -> tuple[Trial | None, dict[str, Any]]:
    """Return the earliest trial within one paired standard error of the best, and why.

    Trials whose validation outputs were not kept (:mod:`lgt_graph.evaluation.val_outputs`) are
    passed over; without the best's, the best is taken.
    """
    best = history.best_trial(state, ctx.maximize)
    if best is None:
        return None, {"rule": "best"}
    reference = val_outputs.load(ctx.workdir, best["index"])
    if reference is None:
        return best, {"rule": "best", "reason": "the best trial's validation outputs were not kept"}
    for trial in history.contenders(state):
        if trial["index"] == best["index"]:
            break
        outputs = val_outputs.load(ctx.workdir, trial["index"])
        if outputs is None:
            continue
        error = paired_standard_error(
            ctx.primary, ctx.data.y_val, outputs, reference, ctx.data.n_classes
        )
        behind = gain(float(best["score"] or 0.0), float(trial["score"] or 0.0), ctx.maximize)
        if error is not None and behind <= error:
            return trial, {
                "rule": "one-se",
                "best_trial": best["index"],
                "behind": behind,
                "standard_error": error,
            }
    return best, {"rule": "one-se", "best_trial": best["index"]}
