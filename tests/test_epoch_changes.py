"""bench.epoch_changes: a run's judged, kept and reversed mid-run changes, from its segments."""

from bench.epoch_changes import line_counts


def segment(changes, outcome, paired=True, epochs=1):
    return {"changes": changes, "outcome": outcome, "paired": paired, "epochs": epochs}


def test_a_kept_move_undone_within_three_segments_is_a_reversal():
    start = {"learning_rate": "0.003", "optimizer": "sgd"}
    counts = line_counts(
        start,
        [
            segment({}, "improved", paired=False),  # the first segment: no change
            segment({"learning_rate": 0.009}, "improved"),  # up, kept
            segment({"learning_rate": 0.0027}, "improved"),  # down, kept: a reversal
            segment({"learning_rate": 0.0081}, "neutral"),  # up, rolled back: not kept
            segment({"optimizer": "adam"}, "regressed"),
            segment({}, "neutral", paired=False),
            segment({}, "neutral", paired=False),
            segment({}, "neutral", paired=False),
            segment({"learning_rate": 0.0081}, "improved"),  # up, four segments later: none
        ],
    )
    assert counts["judged"] == 5 and counts["kept"] == 3
    assert counts["reversals"] == 1
    # 5 paired segments of one epoch (two branches each), 4 plain: 14 epochs, 5 on losing branches
    assert counts["epochs"] == 14 and counts["epochs_lost"] == 5
