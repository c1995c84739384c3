"""Prediction accountability: each proposal's expectation against its verdict, hand-worked."""

import pytest

from lgt_graph.agents import predictions


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
    assert text == (
        "trial 2: width 64 -> 128: expected a better accuracy (improve); got regressed (-0.02)"
    )


def test_a_stated_outcome_and_probability_are_checked_and_scored_by_hand():
    state = state_of(None, 0.805)
    state["proposals"][0].update(expected_outcome="neutral", probability=0.6)
    check = predictions.check(state, state["trials"][1], "neutral", True)
    # forecast (better, same, worse) = (0.2, 0.6, 0.2) against (0, 1, 0): 0.04 + 0.16 + 0.04
    assert check["hit"] is True and check["expected"] == "same"
    assert check["brier"] == pytest.approx(0.24)
    missed = predictions.check(state, state["trials"][1], "regressed", True)
    # against (0, 0, 1): 0.04 + 0.36 + 0.64
    assert missed["hit"] is False and missed["brier"] == pytest.approx(1.04)


def test_the_brier_skill_is_measured_against_the_base_rates_by_hand():
    def said(expected, p, observed):
        brier = predictions.brier(expected, p, observed)
        return {"expected": expected, "probability": p, "observed": observed,
                "hit": expected == observed, "brier": brier}  # fmt: skip

    checks = [said("same", 0.8, "same"), said("same", 0.8, "same"), said("better", 0.6, "better"),
              said("same", 0.5, "worse")]  # fmt: skip
    c = predictions.calibration(checks)
    # Brier: 0.02+0.04+0.02 = 0.06 twice; 0.16+0.04+0.04 = 0.24; 0.0625+0.25+0.5625 = 0.875
    assert c["brier"] == pytest.approx((0.06 + 0.06 + 0.24 + 0.875) / 4)
    # in hindsight, base rates plus one (better, same, worse) = (2/7, 3/7, 2/7); their Brier
    # score on a "same" is (4 + 16 + 4) / 49, on a "better" or a "worse" (25 + 9 + 4) / 49
    assert c["hindsight"] == pytest.approx((2 * 24 + 2 * 38) / 49 / 4)
    assert c["hindsight_skill"] == pytest.approx(1 - c["brier"] / c["hindsight"])
    assert c["reference"] == c["hindsight"]  # checks without a reference of their own
    assert c["skill"] == pytest.approx(1 - c["brier"] / c["reference"]) and c["skill"] > 0
    before = [{**x, "reference": 0.5} for x in checks]  # each trial's base rates so far
    assert predictions.calibration(before)["skill"] == pytest.approx(1 - c["brier"] / 0.5)
    assert c["hit_rate"] == pytest.approx(0.75) and c["said"] == pytest.approx(0.675)
    wrong = [said("better", 0.9, "same"), said("better", 0.9, "worse"), said("worse", 0.9, "same")]
    assert predictions.calibration(wrong)["skill"] < 0  # confidently wrong: worse than base rates
    same = [said("same", 0.5, "same"), said("same", 0.9, "same")]
    assert predictions.calibration(same)["skill"] > 0  # right and sure beats base rates of 3/5
    text = predictions.calibration_text([{"prediction": c} for c in checks])
    assert "hit rate 75% over 4 predictions" in text and "said neutral 3 times, 2 came true" in text


def test_the_reference_forecast_is_the_base_rates_so_far_by_hand():
    changed = [{"knob": "width", "old": 64, "new": 128}]
    trials = [{"index": 1, "changes": []}] + [{"index": i, "changes": changed} for i in (2, 3, 4)]
    verdicts = [
        {"trial": 1, "outcome": "improved"},  # the default: no change, not counted
        {"trial": 2, "outcome": "neutral"},
        {"trial": 3, "outcome": "failed"},  # counts as worse
    ]
    state = {"trials": trials, "verdicts": verdicts}
    # before trial 4: (better, same, worse) counts plus one = (1, 2, 2) of 5
    assert predictions.so_far(state, trials[3]) == pytest.approx([0.2, 0.4, 0.4])
    # before trial 2 nothing was known: a third each
    assert predictions.so_far(state, trials[1]) == pytest.approx([1 / 3] * 3)
    state["proposals"] = [{"for_trial": 4, "base": 1, "changes": changed, "rationale": "r",
                           "expected_effect": "e", "status": "ok", "expected_gain": None,
                           "expected_outcome": "neutral", "probability": 0.8}]  # fmt: skip
    state["trials"] = [{**t, "score": 0.8, "config": {}, "base": 1} for t in trials]
    check = predictions.check(state, state["trials"][3], "neutral", True)
    # the base rates' Brier score on a "same": 0.2² + 0.6² + 0.4² = 0.56
    assert check["reference"] == pytest.approx(0.56)
    assert check["brier"] == pytest.approx(0.1**2 + 0.2**2 + 0.1**2)


def test_the_heuristic_forecast_reads_the_kind_the_session_and_the_gain_sizes_by_hand():
    import math

    from lgt_graph.expert import expectations as e

    # no evidence yet: the kind's prior, (0.2, 4.8, 1.0) of 6 for a small exploration step
    alone = e.forecast("exploration", ["lr"], [])
    assert alone == pytest.approx({"improve": 0.2 / 6, "neutral": 0.8, "regress": 1 / 6})

    def row(outcome, knob="depth", delta=0.0, floor=None):
        return {"outcome": outcome, "changes": [{"knob": knob}], "delta": delta, "floor": floor}

    # two regressions, one of them on the same knob (worth 1) and one not (worth 0.5)
    two = e.forecast("exploration", ["lr"], [row("regressed"), row("regressed", "lr")])
    assert two["regress"] == pytest.approx(2.5 / 7.5)
    # gains well inside the floor make a neutral verdict likelier by e^(1 · share near)
    near = [row("neutral", delta=0.01, floor=0.1)] * 2
    assert e.spread(near) == pytest.approx(math.e)
    # one gain far outside it caps that at 1; all far: e^-1
    assert e.spread([*near, row("regressed", delta=0.5, floor=0.1)]) == 1.0
    assert e.spread([row("regressed", delta=0.5, floor=0.1)]) == pytest.approx(math.exp(-1))
    # similar tables' verdicts add four verdicts' worth at their rates
    rates = {"improve": 0.5, "neutral": 0.5, "regress": 0.0}
    told = e.forecast("exploration", ["lr"], [], rates)
    assert told["improve"] == pytest.approx(2.2 / 10)
