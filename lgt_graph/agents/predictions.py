"""Prediction accountability: whether the Advisor's expected effect came true, and how sure it was.

Each proposal says what it expects: ``expected_outcome`` (improve, neutral or regress
against the noise floor) with a ``probability``, or failing those ``expected_gain`` (the
gain over its base trial, positive for better; not said means better). When the trial is
judged, the expectation is checked against the verdict — improve against *improved*,
neutral against *neutral*, regress against *regressed* or *failed* — and, where a size was
given and the trial improved, whether the gain over the base was within a factor of
three of it. The share of hits is the Advisor's hit rate.

A stated probability is scored too, by the Brier score of the three outcomes: the
forecast gives the expected outcome its probability and splits the rest evenly over the
other two; the score is the squared distance from the verdict's outcome (0 is perfect,
2 the worst). Its skill, ``1 - brier / reference``, compares it with the base-rate
forecast (:func:`so_far`): before each trial, each outcome's share of the session's
verdicts so far, each count plus one — what a reader who ignores the Advisor's reasons
would have said with what was known then. Above 0, the Advisor's probabilities carry
information beyond the base rates; below 0, it would do better to state them.

The base rates of the very verdicts being scored (``hindsight``) are reported beside it:
no forecaster knows them in advance, and where nearly every verdict is alike (every
change inside the noise floor) they are almost a perfect forecast, so that their skill
says more about the table than about the Advisor. The Optimizer reads the misses and the
calibration (:func:`calibration_text`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lgt_graph.evaluation.metrics import gain
from lgt_graph.state import ProposalRecord, State, Trial, VerdictRecord

OBSERVED = {"improved": "better", "neutral": "same", "regressed": "worse", "failed": "worse"}
OUTCOMES = ("better", "same", "worse")
"""The three outcomes a prediction is scored on, in the order of a forecast vector."""
STATED = {"improve": "better", "neutral": "same", "regress": "worse"}
"""An ``expected_outcome`` as the outcome it predicts."""
SIZE_FACTOR = 3.0
"""A size came true when the gain is within this factor of the expected one."""


def proposal_for(state: State, index: int) -> ProposalRecord | None:
    """Return the proposal the trial ``index`` trained, if the agents made one."""
    for proposal in state.get("proposals", []):
        if proposal["for_trial"] == index:
            return proposal
    return None


def check(
    state: State, trial: Trial, outcome: str, maximize: bool, hits: Sequence[bool] = ()
) -> dict[str, Any] | None:
    """Return the check of the trial's proposal against its verdict, or None.

    None for a trial with no language proposal to hold to account (the first trial, a
    baseline's searcher, a random fallback). ``hits``: the earlier checks' outcomes, for
    the hit rate so far.
    """
    proposal = proposal_for(state, trial["index"])
    if (
        proposal is None
        or not proposal["changes"]
        or proposal["expected_effect"] == "unknown"
        or str(proposal["status"]).startswith(("fallback", "random"))
    ):
        return None
    expected_gain = proposal.get("expected_gain")
    stated = proposal.get("expected_outcome")
    by_gain = (
        "better"
        if expected_gain is None or expected_gain > 0
        else "same"
        if expected_gain == 0
        else "worse"
    )
    expected = STATED.get(str(stated), by_gain)
    observed = OBSERVED.get(outcome, "worse")
    base = next((t for t in state.get("trials", []) if t["index"] == proposal["base"]), None)
    over_base = None
    if base is not None and base["score"] is not None and trial["score"] is not None:
        over_base = gain(trial["score"], base["score"], maximize)
    size = None
    if expected_gain and expected_gain > 0 and observed == "better" and over_base is not None:
        ratio = over_base / expected_gain
        size = "right" if 1 / SIZE_FACTOR <= ratio <= SIZE_FACTOR else "off"
    hit = expected == observed and size != "off"
    done = [*hits, hit]
    probability = proposal.get("probability")
    brier_score = _scored(proposal, expected, probability, observed)
    return {
        "expected": expected,
        "expected_gain": expected_gain,
        "observed": observed,
        "gain_over_base": over_base,
        "size": size,
        "hit": hit,
        "hit_rate": sum(done) / len(done),
        "expected_effect": proposal["expected_effect"],
        "probability": probability,
        "brier": brier_score,
        "reference": None if brier_score is None else _distance(so_far(state, trial), observed),
        "exploratory": bool(proposal.get("exploratory", False)),
    }


def so_far(state: State, trial: Trial) -> list[float]:
    """Return the base-rate forecast before ``trial``: each outcome's share of the verdicts so far.

    Over :data:`OUTCOMES`, from the session's verdicts of the trials before it that
    changed something (the first trial is no change), each count plus one (Laplace's rule
    of succession: at the start, a third each). It is what a reader who ignores the
    Advisor's reasons would have forecast, with only what was known before the trial.
    """
    changed = {t["index"] for t in state.get("trials", []) if t.get("changes")}
    counts = dict.fromkeys(OUTCOMES, 1)
    for verdict in state.get("verdicts", []):
        if verdict["trial"] in changed and verdict["trial"] < trial["index"]:
            counts[OBSERVED.get(verdict["outcome"], "worse")] += 1
    total = sum(counts.values())
    return [counts[o] / total for o in OUTCOMES]


def _scored(
    proposal: ProposalRecord, expected: str, probability: float | None, observed: str
) -> float | None:
    """Return the Brier score of the proposal's forecast, or None where it stated none."""
    stated = proposal.get("forecast")
    if stated:
        vector = [float(stated.get(k, 0.0)) for k in ("improve", "neutral", "regress")]
        total = sum(vector)
        if total > 0:  # a model's numbers that do not quite sum to 1 are normalised
            return _distance([f / total for f in vector], observed)
    return None if probability is None else brier(expected, float(probability), observed)


def _distance(vector: list[float], observed: str) -> float:
    """Return the squared distance of a forecast over :data:`OUTCOMES` from what happened."""
    return sum((f - (o == observed)) ** 2 for f, o in zip(vector, OUTCOMES, strict=True))


def forecast(expected: str, probability: float) -> list[float]:
    """Return the forecast over :data:`OUTCOMES`: ``probability`` on ``expected``, rest split."""
    rest = (1.0 - probability) / (len(OUTCOMES) - 1)
    return [probability if o == expected else rest for o in OUTCOMES]


def brier(expected: str, probability: float, observed: str) -> float:
    """Return the Brier score of one forecast against the observed outcome (0 best, 2 worst)."""
    return _distance(forecast(expected, probability), observed)


def calibration(checks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return the hit rate, the mean Brier score and its skill over the checked predictions.

    ``checks`` are the verdicts' ``prediction`` dicts. The Brier score and its skill count
    the predictions that stated a probability; the reference is the base-rate forecast
    before each trial (each check's ``reference``, :func:`so_far`), and ``hindsight`` the
    base rates of these same verdicts, each count plus one, with its ``hindsight_skill``.
    ``said`` is the mean probability the Advisor gave and ``came`` the share that came
    true: ``said`` well above ``came`` is over-confidence.
    """
    hits = [bool(c["hit"]) for c in checks]
    scored = [c for c in checks if c.get("brier") is not None]
    out: dict[str, Any] = {
        "predictions": len(hits),
        "hit_rate": sum(hits) / len(hits) if hits else None,
        "scored": len(scored),
        "brier": None,
        "reference": None,
        "skill": None,
        "hindsight": None,
        "hindsight_skill": None,
        "said": None,
        "came": None,
    }
    if not scored:
        return out
    mean = sum(float(c["brier"]) for c in scored) / len(scored)
    # in hindsight: the base rates of these very verdicts, each count plus one (Laplace)
    rates = [
        (sum(c["observed"] == o for c in scored) + 1) / (len(scored) + len(OUTCOMES))
        for o in OUTCOMES
    ]
    hindsight = sum(_distance(rates, c["observed"]) for c in scored) / len(scored)
    before = [float(r) for c in scored if (r := c.get("reference")) is not None]
    reference = (
        sum(before) / len(before)
        if len(before) == len(scored)
        else hindsight  # checks recorded before the reference was
    )
    out.update(
        brier=mean,
        reference=reference,
        skill=1.0 - mean / reference,
        hindsight=hindsight,
        hindsight_skill=1.0 - mean / hindsight,
        said=sum(float(c["probability"]) for c in scored) / len(scored),
        came=sum(bool(c["hit"]) for c in scored) / len(scored),
    )
    return out


def checks_of(verdicts: Sequence[VerdictRecord]) -> list[dict[str, Any]]:
    """Return the verdicts' checked predictions, oldest first."""
    return [v["prediction"] for v in verdicts if v.get("prediction")]


def calibration_text(verdicts: Sequence[VerdictRecord]) -> str:
    """Say in a line or two how the Advisor's stated probabilities fared (for the Optimizer)."""
    checks = checks_of(verdicts)
    c = calibration(checks)
    if not checks:
        return "(no predictions checked yet)"
    text = f"hit rate {c['hit_rate']:.0%} over {c['predictions']} predictions"
    if c["brier"] is not None:
        skill = f"{c['skill']:+.2f}"
        text += (
            f"; Brier score {c['brier']:.3f} against {c['reference']:.3f} for the base rates"
            f" (skill {skill}); stated probability {c['said']:.0%} on average, {c['came']:.0%}"
            " came true"
        )
        expected = [c2 for c2 in checks if c2.get("brier") is not None]
        for outcome, word in (("better", "improve"), ("same", "neutral"), ("worse", "regress")):
            said = [c2 for c2 in expected if c2["expected"] == outcome]
            if said:
                true = sum(c2["observed"] == outcome for c2 in said)
                text += f"; said {word} {len(said)} times, {true} came true"
    return text


def hits_of(verdicts: Sequence[VerdictRecord]) -> list[bool]:
    """Return the checked predictions' outcomes, oldest first."""
    return [bool(v["prediction"]["hit"]) for v in verdicts if v.get("prediction")]


def misses(state: State, limit: int = 5) -> list[dict[str, Any]]:
    """Return the latest predictions that did not come true, for the Optimizer."""
    out = []
    for verdict in state.get("verdicts", []):
        prediction = verdict.get("prediction")
        if prediction and not prediction["hit"]:
            proposal = proposal_for(state, verdict["trial"])
            out.append(
                {
                    "trial": verdict["trial"],
                    "changes": [
                        f"{c['knob']} {c['old']} -> {c['new']}"
                        for c in (proposal["changes"] if proposal else [])
                    ],
                    "expected": prediction["expected_effect"],
                    "expected_outcome": prediction["expected"],
                    "probability": prediction.get("probability"),
                    "expected_gain": prediction["expected_gain"],
                    "observed": f"{verdict['outcome']} ({verdict['delta']:+.4g})",
                }
            )
    return out[-limit:]


def misses_text(missed: Sequence[dict[str, Any]]) -> str:
    """Write the misses as lines for the Optimizer's prompt."""
    lines = [
        f"trial {m['trial']}: {', '.join(m['changes'])}: expected {m['expected']}"
        f" ({_said(m)}); got {m['observed']}"
        for m in missed
    ]
    return "\n".join(lines) or "(none)"


def _said(miss: dict[str, Any]) -> str:
    """Say the outcome a missed prediction expected, with its probability where stated."""
    word = {v: k for k, v in STATED.items()}.get(miss.get("expected_outcome", ""), "improve")
    p = miss.get("probability")
    return word if p is None else f"{word}, p={p:.2f}"
