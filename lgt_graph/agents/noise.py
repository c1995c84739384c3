"""The noise floor a trial's gain must clear before the Evaluator calls it a change.

A validation score is an estimate from a few examples: on iris's 24 validation flowers
one flower is 4 points of accuracy. The floor is one standard error of the difference
between the trial's score and the best's, worked out from the validation size
(:func:`lgt_graph.evaluation.metrics.noise_floor`); ``--tolerance`` replaces it with the fixed rule.
"""

from __future__ import annotations

from lgt_graph.context import Context
from lgt_graph.evaluation.metrics import noise_floor
from lgt_graph.state import Trial


def session_floor(ctx: Context, trial: Trial, best: Trial | None) -> float | None:
    """Return the noise floor a gain of ``trial`` over ``best`` must clear, or None.

    None under ``--tolerance`` (the fixed rule), without a best to compare with, or where
    the metric has no sampling-error formula or the validation size is unknown.
    """
    n = ctx.profile.get("val_examples")
    if ctx.settings.tolerance is not None or best is None or trial["score"] is None or not n:
        return None
    metrics = trial["result"].get("metrics", {})
    return noise_floor(ctx.primary, metrics, best["result"].get("metrics", {}), int(n))


def judging(ctx: Context, floor: float | None) -> str:
    """Say, for the Evaluator's prompt, what a gain must clear."""
    if floor is None:
        return f"tolerance {ctx.settings.tolerance_fraction} of the best"
    return (
        f"a gain must clear the noise floor ±{floor:.4g} (one standard error of the"
        " difference, from the validation size)"
    )
