"""The heuristic expert between epochs: each mid-run rule, read from the facts it is given."""

from lgt_graph.epoch import guards as epoch_guards
from lgt_graph.expert import judge, live
from lgt_graph.space import space_for

PROFILE = {
    "task": "t",
    "family": "image",
    "problem": "classification",
    "primary_metric": "accuracy",
    "direction": "maximize",
}
SPACE = space_for("image")
LIVE = {
    k.name: {
        "kind": k.kind,
        **({"choices": list(k.choices)} if k.kind == "choice" else {}),
        **({"low": k.low, "high": k.high} if k.kind in ("int", "float") else {}),
        "used_by": list(k.used_by),
    }
    for k in SPACE.live()
}


def facts(train, val_loss, acc, spent=None, budget=40, avoid=(), **config):
    base = {**SPACE.default(), "model": "cnn", "optimizer": "adam", "learning_rate": 0.001}
    base.update(config)
    return {
        "loop": "epoch",
        "task": PROFILE,
        "space": LIVE,
        "base": {"config": base},
        "avoid": list(avoid),
        "last": None,
        "run": {
            "epoch": len(train),
            "epochs_trained": spent if spent is not None else len(train),
            "budget": budget,
            "line": {"train_loss": train, "val_loss": val_loss, "val_accuracy": acc},
        },
    }


def changes(proposal):
    return {c["knob"]: c["value"] for c in proposal["changes"]}


def test_while_validation_improves_a_bolder_rate_early_none_midway_an_annealed_one_late():
    curves = ([1.0, 0.5, 0.3], [0.9, 0.5, 0.35], [0.7, 0.85, 0.9])
    assert changes(live.propose(facts(*curves, spent=3, budget=40))) == {"learning_rate": 0.002}
    midway = live.propose(facts(*curves, spent=20, budget=40))
    assert midway["changes"] == [] and "still improves" in midway["rationale"]
    late = live.propose(facts(*curves, spent=30, budget=40))
    assert changes(late) == {"learning_rate": 0.001 * live.DECAY}
    # a move that just lost its paired segment is not tried again in the same direction
    hurt = facts(*curves, spent=3, budget=40)
    hurt["history"] = [
        {
            "outcome": "regressed",
            "changes": [{"knob": "learning_rate", "old": 0.0005, "new": 0.001}],
        }
    ]
    assert live.propose(hurt)["changes"] == []


def test_a_plateau_decays_the_rate_and_the_last_third_anneals_it():
    curves = (
        [1.0, 0.3, 0.25, 0.24, 0.235],
        [0.32, 0.26, 0.25, 0.25, 0.25],
        [0.9, 0.95, 0.951, 0.95, 0.949],
    )
    one_dip = [c[:-1] for c in curves]  # one epoch without a better score is noise
    assert live.propose(facts(*one_dip, spent=15, budget=40))["changes"] == []
    midway = live.propose(facts(*curves, spent=15, budget=40))
    assert changes(midway) == {"learning_rate": 0.001 * live.DECAY}
    assert "plateau" in midway["rationale"]
    # an answer sent back takes the next candidate; a change that just hurt is not repeated
    assert changes(live.propose(facts(*curves, spent=15, budget=40), attempt=2)) == {
        "batch_size": 128
    }
    avoided = live.propose(facts(*curves, spent=15, budget=40, avoid=["learning_rate=0.0003"]))
    assert changes(avoided) == {"batch_size": 128}
    late = live.propose(facts(*curves, spent=30, budget=40))
    assert changes(late) == {"learning_rate": 0.001 * live.DECAY}
    assert "anneal" in late["rationale"]


def test_rising_validation_loss_adds_regularisation_until_one_loses():
    curves = ([0.5, 0.2, 0.1], [0.3, 0.25, 0.32], [0.9, 0.93, 0.925])
    proposal = live.propose(facts(*curves))
    assert changes(proposal) == {"dropout": 0.1}
    assert "overfits" in proposal["rationale"]
    lost = facts(*curves)
    lost["history"] = [
        {"outcome": "regressed", "changes": [{"knob": "weight_decay", "old": 0.0, "new": 5e-4}]}
    ]
    # a regulariser lost its paired segment lately: no regulariser for a while
    assert live.propose(lost)["changes"] == []


def test_plain_sgd_gets_momentum_and_sgd_that_stalls_early_switches_to_adam():
    curves = ([2.3, 2.2], [2.3, 2.25], [0.1, 0.2])
    plain = live.propose(facts(*curves, optimizer="sgd", learning_rate=0.01))
    assert changes(plain) == {"momentum": 0.9, "nesterov": True}
    stalled = live.propose(facts(*curves, optimizer="sgd", learning_rate=0.01, momentum=0.9))
    assert changes(stalled) == {"optimizer": "adam", "learning_rate": 0.001}


def test_no_progress_at_all_raises_the_rate_never_decays_it():
    proposal = live.propose(facts([1.1, 1.09, 1.08], [1.1, 1.1, 1.1], [0.33, 0.33, 0.33]))
    assert changes(proposal) == {"learning_rate": 0.003}


def test_only_live_knobs_are_ever_proposed():
    for train, val, acc in (
        ([1.0, 0.2, 0.15, 0.14], [0.3, 0.2, 0.2, 0.21], [0.9, 0.95, 0.951, 0.95]),
        ([0.5, 0.2, 0.1], [0.3, 0.25, 0.32], [0.9, 0.93, 0.925]),
    ):
        for attempt in range(1, 6):
            proposal = live.propose(facts(train, val, acc), attempt=attempt)
            assert set(changes(proposal)) <= set(LIVE)


def test_the_judge_keeps_the_better_branch():
    base = {"primary": "accuracy", "maximize": True, "reference_is": "control"}
    trial = {"index": 3, "score": 0.95, "summary": {}, "changes": [
        {"knob": "learning_rate", "old": 0.001, "new": 0.0003}]}  # fmt: skip
    lost = live.judge({**base, "trial": trial, "best_before": {"score": 0.96}})
    assert lost["outcome"] == "regressed" and "hurt" in lost["diagnosis"]
    won = live.judge({**base, "trial": trial, "best_before": {"score": 0.94}})
    assert won["outcome"] == "improved" and won["delta"] > 0


def test_a_kept_change_is_not_reversed_until_a_segment_fails():
    curves = (
        [1.0, 0.3, 0.25, 0.24, 0.235],
        [0.32, 0.26, 0.25, 0.25, 0.25],
        [0.9, 0.95, 0.951, 0.95, 0.949],
    )
    raised = {"knob": "learning_rate", "old": 0.0005, "new": 0.001}
    entry = {"trial": 4, "outcome": "improved", "kept": True, "score": 0.95, "changes": [raised]}
    plateau = facts(*curves, spent=15, budget=40)
    plateau["history"] = [entry]
    # the plateau calls for a decay, which would undo the rate just raised: the larger batch
    proposal = live.propose(plateau)
    assert changes(proposal) == {"batch_size": 128}
    why = epoch_guards.reversal(plateau["history"], "learning_rate", 0.001, 0.0003)
    assert why is not None and "segment 4 moved learning_rate 0.0005 -> 0.001" in why
    # the same way again, or a change that was rolled back, is no reversal
    assert epoch_guards.reversal([entry], "learning_rate", 0.001, 0.002) is None
    assert (
        epoch_guards.reversal([{**entry, "kept": False}], "learning_rate", 0.0005, 0.0002) is None
    )
    # new evidence: a segment failed since the change; or it is older than RECENT segments
    failed = {"trial": 5, "outcome": "failed", "kept": None, "score": None, "changes": []}
    assert epoch_guards.reversal([entry, failed], "learning_rate", 0.001, 0.0003) is None
    plain = {"trial": 6, "outcome": "neutral", "kept": None, "score": 0.95, "changes": []}
    assert (
        epoch_guards.reversal(
            [entry, *[plain] * epoch_guards.RECENT], "learning_rate", 0.001, 0.0003
        )
        is None
    )
    # a choice knob: taking back the value it just left
    switched = {**entry, "changes": [{"knob": "optimizer", "old": "sgd", "new": "adam"}]}
    assert epoch_guards.reversal([switched], "optimizer", "adam", "sgd") is not None
    assert epoch_guards.reversal([switched], "optimizer", "adam", "adamw") is None


def test_patience_waits_after_changes_inside_the_noise_floor():
    def judged(trial, outcome):
        change = {"knob": "learning_rate", "old": 0.001, "new": 0.0003}
        return {"trial": trial, "changes": [change], "paired": True, "outcome": outcome,
                "delta": 0.001, "floor": 0.004}  # fmt: skip

    def plain(trial):
        return {"trial": trial, "changes": [], "paired": False, "outcome": "neutral", "delta": 0.0}

    neutral = [judged(2, "neutral"), judged(3, "neutral")]
    why = epoch_guards.waiting(neutral, patience=2)
    assert why is not None and "+0.0010 (floor ±0.0040)" in why and "2 more segment" in why
    assert epoch_guards.waiting([*neutral, plain(4)], patience=2) is not None
    assert epoch_guards.waiting([*neutral, plain(4), plain(5)], patience=2) is None
    assert epoch_guards.waiting(neutral, patience=0) is None
    # one kept change among the last two: the Advisor proposes
    assert epoch_guards.waiting([judged(2, "neutral"), judged(3, "improved")], 2) is None
    # the Optimizer's rule: few changes kept makes it wait longer, many kept shorter
    history = [{**judged(i, "neutral"), "score": 0.9} for i in range(2, 7)]
    rewrite = {"maximize": True, "task": PROFILE, "history": history, "loop": "epoch"}
    assert judge.rewrite(rewrite)["patience"] == 2 * epoch_guards.PATIENCE
    kept = [{**h, "outcome": "improved"} for h in history]
    assert judge.rewrite({**rewrite, "history": kept})["patience"] == 1
    assert judge.rewrite({**rewrite, "loop": "trial"})["patience"] is None


def test_an_overfitting_run_on_photos_gets_cutout_and_a_weight_average_and_mirror_scoring():
    photo = {**PROFILE, "input_shape": [3, 32, 32], "channels": 3, "train_examples": 6400}
    curves = ([0.5, 0.2, 0.1], [0.3, 0.25, 0.32], [0.9, 0.93, 0.925])

    def moves(profile, **config):
        f = facts(*curves, dropout=0.5, augmentation="flip_shift", **config)
        f["task"] = profile
        return [changes(live.propose(f, attempt=a)) for a in range(1, 6)]

    on_photos = moves(photo)
    assert on_photos[:2] == [{"cutout": 8}, {"ema": 0.99}]  # 100 steps an epoch
    assert {"test_time_flip": True} in on_photos
    small = moves({**photo, "input_shape": [1, 8, 8]})
    assert not any("cutout" in m for m in small)  # a cutout would hide most of 8 pixels
    assert {"test_time_flip": True} not in moves(photo, test_time_flip=True)
