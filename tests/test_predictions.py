"""Prediction accountability: each proposal's expectation against its verdict, hand-worked."""

import pytest

from lgt_graph import predictions


def state_of(expected_gain, score, base_score=0.80, effect="a better accuracy"):
    trials = [
        {"index": 1, "score": base_score, "config": {}, "changes": [], "base": None},
        {"index": 2, "score": score, "config": {}, "changes": [], "base": 1},
    ]
    proposal = {
        "for_trial": 2,
        "base": 1,
        "changes": [{"knob": "width", "old": 64, "new": 128, "reason": "more room"}],
        "rationale": "r",
        "expected_effect": effect,
        "status": "ok",
        "expected_gain": expected_gain,
    }
    return {"trials": trials, "proposals": [proposal], "verdicts": []}


@pytest.mark.parametrize(
    ("expected_gain", "score", "outcome", "hit", "size"),
    [
        (0.02, 0.83, "improved", True, "right"),  # 0.03 is within a factor 3 of 0.02
        (0.02, 0.90, "improved", False, "off"),  # 0.10 is five times it: the size was wrong
        (None, 0.81, "neutral", False, None),  # expected better (not said), got nothing
        (0.0, 0.80, "neutral", True, None),  # expected no change (a cheaper run), got none
        (0.05, 0.60, "regressed", False, None),
    ],
)
def test_a_prediction_is_checked_against_its_verdict(expected_gain, score, outcome, hit, size):
    state = state_of(expected_gain, score)
    trial = state["trials"][1]
    check = predictions.check(state, trial, outcome, maximize=True, hits=[True])
    assert check["hit"] is hit and check["size"] == size
    assert check["gain_over_base"] == pytest.approx(score - 0.80)
    assert check["hit_rate"] == pytest.approx((1 + hit) / 2)


def test_no_prediction_is_held_against_a_searcher_or_a_fallback():
    state = state_of(None, 0.9, effect="unknown")
    assert predictions.check(state, state["trials"][1], "improved", True) is None
    state = state_of(None, 0.9)
    state["proposals"][0]["status"] = "fallback: ValueError"
    assert predictions.check(state, state["trials"][1], "improved", True) is None


def test_the_optimizer_is_shown_the_misses():
    state = state_of(0.02, 0.78)
    check = predictions.check(state, state["trials"][1], "regressed", True)
    state["verdicts"] = [
        {"trial": 2, "outcome": "regressed", "delta": -0.02, "prediction": check},
    ]
    (miss,) = predictions.misses(state)
    assert miss["changes"] == ["width 64 -> 128"] and miss["observed"] == "regressed (-0.02)"
    text = predictions.misses_text([miss])
    assert text == "trial 2: width 64 -> 128: expected a better accuracy; got regressed (-0.02)"
