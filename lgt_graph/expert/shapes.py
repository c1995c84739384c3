"""Findings on the shape of the data itself, whatever the curves: rules a practitioner applies.

A long-tailed positive target scored by absolute error is fitted on the log scale; zeros
that stand for missing measurements are treated as missing and imputed. Each reads the
data's profile (:func:`lgt_graph.evaluation.curves.profile`), never its name.
"""

from __future__ import annotations

from lgt_graph.expert.case import Case, Finding


def long_tailed_target(case: Case) -> Finding | None:
    """Fit a long-tailed positive target on the log scale when the metric is absolute error.

    The mean absolute error is minimised by the median; a model fitted to a long right tail
    in squared error is pulled towards the mean, far above most targets. Fitting log1p(y)
    (predictions mapped back) brings it to the bulk of the data, whatever the model family.
    """
    skew = float(case.profile.get("target_skew", 0.0))
    if not (
        case.regression
        and case.profile.get("primary_metric") in ("mae", "medae")
        and case.knobs.has("target_transform")
        and case.config.get("target_transform") != "log"
        and float(case.profile.get("target_min", -1.0)) >= 0
        and skew > 1
    ):
        return None
    return Finding(
        "long tailed target",
        f"the target is positive with a long right tail (skew {skew:.2f}) and the metric is"
        f" {case.profile['primary_metric']}",
        {"target_transform": "log"},
        "absolute error is minimised by the median, and a fit in squared error on a long"
        " tail is pulled towards its mean: fit log1p of the target and map predictions back",
        18,
    )


def zero_sentinels(case: Case) -> Finding | None:
    """Treat zeros that stand for missing measurements as missing, and impute them."""
    columns = list(case.profile.get("zero_sentinels", []))
    if not (columns and case.knobs.has("zeros_as_missing")) or case.config.get("zeros_as_missing"):
        return None
    named = ", ".join(columns[:4]) + (f" and {len(columns) - 4} more" if len(columns) > 4 else "")
    return Finding(
        "zero sentinels",
        f"{named}: a cluster of exact zeros far below every other value",
        {"zeros_as_missing": True, "imputation": "median"},
        "zeros that stand for missing measurements pull the model towards a value no real"
        " example has: treat them as missing and fill them with the median of the measured"
        " values (robust to skew); the verdict tells whether they were true zeros",
        24,
    )
