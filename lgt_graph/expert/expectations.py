"""What the heuristic Advisor expects of a proposal: a verdict and how likely it is.

An expectation is a probability over the three verdicts a trial can get against the noise
floor — improve, neutral, regress (a failure counts as regress) — worked out from evidence,
never from a dataset's name:

- **the kind of change** gives the prior: a fix for a diagnosed failure (a diverging
  loss, unscaled features) usually pays; an untried model family moves the model far,
  so it rarely lands inside the noise floor; a small exploration step usually does;
- **this session's verdicts** so far shift it towards what trials here have been getting
  (most changes on a tuned model land inside the noise floor);
- **changes to the same knobs** earlier in the session shift it further, each twice as
  much as any other verdict;
- **the size of the latest gains against the noise floor**: where they sat well inside
  it, the next change most likely will too; where they fell far outside it, a neutral
  verdict is unlikely (:func:`spread`);
- **finished sessions on similar tables** (``--experience``) add their verdicts' rates.

The forecast is the posterior mean of a Dirichlet: the prior's pseudo-counts plus the
weighted counts. The expected verdict is its most likely one, with that probability;
:mod:`lgt_graph.agents.predictions` scores both against the verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

OUTCOMES = ("improve", "neutral", "regress")
VERDICT = {"improved": "improve", "neutral": "neutral", "regressed": "regress", "failed": "regress"}
"""The Evaluator's verdict as the outcome it counts for."""

PRIORS: dict[str, tuple[float, float, float]] = {
    "fix": (2.5, 2.5, 1.0),
    "finding": (0.5, 4.0, 1.5),
    "model family": (1.2, 3.0, 1.8),
    "exploration": (0.2, 4.8, 1.0),
    "live": (1.5, 3.0, 1.5),
    "experience": (2.5, 2.0, 1.5),
}
"""Pseudo-counts over (improve, neutral, regress) for each kind of change, before the
session's evidence, worth twelve of this session's verdicts: a fix for a diagnosed failure
usually pays; a step on a model that already trains well mostly lands inside the noise
floor, and when it does not it more often loses than wins (the best so far is the bar)."""
SESSION_WEIGHT = 0.5
"""What one of this session's latest verdicts counts for."""
RECENT = 6
"""The latest verdicts, which count fully: a session's odds change as it goes (early
trials move the model far, later ones fine-tune it); older ones count a quarter."""
EXPERIENCE_WEIGHT = 4.0
"""What the verdicts of similar tables' sessions count for, in this session's verdicts."""
SAME_KNOB_WEIGHT = 1.0
NEAR, FAR, MAGNITUDE, SIZES = 0.5, 3.0, 1.0, 10
"""Gains within NEAR noise floors, or beyond FAR, over the latest SIZES verdicts, and how
strongly their shares move the odds of a neutral verdict (:func:`spread`)."""
"""What one earlier verdict of a change to the same knobs counts for."""


def forecast(
    kind: str,
    knobs: Iterable[str],
    history: list[dict[str, Any]],
    rates: dict[str, float] | None = None,
) -> dict[str, float]:
    """Return the probability of each outcome for a change of ``kind`` to ``knobs``.

    ``history``: the session's trials as the Advisor's facts list them (``changes`` and
    ``outcome``); trials not judged yet (``pending``) and the first one count for nothing.
    ``rates``: how the verdicts fell in finished sessions on similar tables
    (:func:`lgt_graph.agents.experience.prior`), worth :data:`EXPERIENCE_WEIGHT` verdicts.
    """
    counts = dict(zip(OUTCOMES, PRIORS.get(kind, PRIORS["finding"]), strict=True))
    for outcome, share in (rates or {}).items():
        counts[outcome] += EXPERIENCE_WEIGHT * share
    touched = set(knobs)
    judged = [
        row
        for row in history
        if VERDICT.get(str(row.get("outcome"))) is not None and row.get("changes")
    ]
    for age, row in enumerate(reversed(judged)):
        same = touched & {c["knob"] for c in row["changes"]}
        weight = SAME_KNOB_WEIGHT if same else SESSION_WEIGHT
        counts[VERDICT[str(row["outcome"])]] += weight if age < RECENT else weight / 4
    counts["neutral"] *= spread(judged[-SIZES:])
    total = sum(counts.values())
    return {o: counts[o] / total for o in OUTCOMES}


def spread(rows: list[dict[str, Any]]) -> float:
    """Return how much likelier (above 1) or less likely a neutral verdict is, from gain sizes.

    Where the latest trials' gains over the best sat well inside the noise floor (under
    :data:`NEAR` floors), the next one will most likely too; where they fell far outside
    it (over :data:`FAR` floors: a floor that is small against what the changes do), a
    neutral verdict is unlikely. ``exp(MAGNITUDE * (share near - share far))``, and never
    above 1 once any of them fell far outside: such a session can still surprise.
    """
    sizes = [
        abs(float(r["delta"]) / float(r["floor"]))
        for r in rows
        if r.get("floor") and r.get("delta") is not None
    ]
    if not sizes:
        return 1.0
    near = sum(s < NEAR for s in sizes) / len(sizes)
    far = sum(s > FAR for s in sizes) / len(sizes)
    odds = math.exp(MAGNITUDE * (near - far))
    return min(odds, 1.0) if far else odds


def expectation(
    kind: str,
    knobs: Iterable[str],
    history: list[dict[str, Any]],
    rates: dict[str, float] | None = None,
) -> tuple[str, float, dict[str, float]]:
    """Return the most likely outcome of the change, its probability and the whole forecast."""
    chances = forecast(kind, knobs, history, rates)
    probabilities = {o: round(p, 3) for o, p in chances.items()}
    outcome = max(OUTCOMES, key=lambda o: probabilities[o])
    return outcome, round(probabilities[outcome], 2), probabilities


def kind_of(source: str, urgent: bool) -> str:
    """Return the kind of change a candidate's source is: fix, finding, family, exploration."""
    if source in ("model family", "exploration", "experience"):
        return source
    return "fix" if urgent else "finding"


def said(outcome: str, probability: float, effect: str, exploratory: str = "") -> str:
    """Write the expected effect with the verdict it expects (and, exploring, what it teaches)."""
    verdict = {
        "improve": "a gain that clears the noise floor",
        "neutral": "a change within the noise floor",
        "regress": "a loss",
    }[outcome]
    text = f"{effect}; most likely {verdict} (p={probability:.2f})"
    return f"Exploratory: {exploratory}. {text}" if exploratory else text


def effect_of(source: str, facts: dict[str, Any]) -> str:
    """Say what a change from ``source`` (a finding's name, say) should do to the curves."""
    metric = facts["task"]["primary_metric"]
    effects = {
        "divergence": "a finite loss that falls steadily",
        "unscaled features": f"faster, steadier convergence and a better {metric}",
        "target scale": f"a lower validation loss within the same epochs and a better {metric}",
        "zero sentinels": f"a better {metric} if the zeros were missing values, none if true",
        "long tailed target": f"predictions nearer the bulk of the targets: a lower {metric}",
        "class imbalance": "a higher macro-F1, perhaps at a small cost in accuracy",
        "oscillation": "smoother validation curves that settle lower",
        "overfitting": "validation loss that stops rising; a smaller generalisation gap",
        "slow convergence": f"losses that reach lower values; a better {metric}",
        "plateau": "training loss that keeps falling past the old plateau",
        "boosting overfits": "a validation loss minimum later in boosting, and lower",
        "boosting unfinished": "validation loss that keeps falling over the extra rounds",
        "forest memorises": "a smaller gap between training and validation loss",
    }
    return effects.get(source, f"a better validation {metric}")
