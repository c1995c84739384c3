import inspect
import itertools

from lgt_graph.agents.schemas import Proposal
from lgt_graph.context import Settings
from lgt_graph.expert import findings
from lgt_graph.expert.advisor import parse_guidance, propose
from lgt_graph.expert.case import Case
from lgt_graph.expert.findings import FAILURES, RULES, Knobs, diagnose
from lgt_graph.expert.judge import judge, outcome, rewrite
from lgt_graph.graph.routing import decide
from lgt_graph.space import space_for

PROFILE = {
    "task": "t",
    "family": "image",
    "problem": "classification",
    "primary_metric": "accuracy",
    "direction": "maximize",
    "classes": 10,
    "channels": 1,
    "smallest_class_share": 0.09,
}
CONFIG = space_for("image").default()


def curve(values, best_high=False):
    best = max(values) if best_high else min(values)
    at = values.index(best) + 1
    third = values[-max(2, len(values) // 3) :]
    steps = list(itertools.pairwise(values))
    turns = sum(1 for (a, b), (_, c) in itertools.pairwise(steps) if (b - a) * (c - b) < 0)
    scale = sum(abs(v) for v in values) / len(values)
    swing = sum(abs(b - a) for a, b in itertools.pairwise(values)) / (len(values) - 1) / scale
    return {
        "first": values[0],
        "last": values[-1],
        "best": best,
        "best_at": at,
        "tail_change": (third[-1] - third[0]) / scale,
        "direction_changes": turns,
        "swing": swing,
    }


def summary(train, val, acc, f1=None):
    s = {
        "status": "ok",
        "step_unit": "epoch",
        "steps_run": len(train),
        "primary": "accuracy",
        "train_loss": curve(train),
        "val_loss": curve(val),
        "val_accuracy": curve(acc, True),
        "validation": {"accuracy": acc[-1], "macro_f1": f1 if f1 is not None else acc[-1]},
    }
    s["gap"] = (val[-1] - train[-1]) / val[-1]
    s["val_loss_rise"] = (val[-1] - min(val)) / min(val)
    return s


def names(findings):
    return [f.name for f in findings]


def test_overfitting_calls_for_regularisation():
    s = summary(
        [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02],
        [1.0, 0.6, 0.5, 0.52, 0.58, 0.65, 0.7, 0.75],
        [0.6, 0.8, 0.85, 0.85, 0.84, 0.84, 0.83, 0.83],
    )
    found = diagnose(s, CONFIG, PROFILE, Knobs())
    assert names(found)[0] == "overfitting"
    # images first get varied data and averaged weights (1,000 examples, batches of 64)
    assert found[0].changes == {"augmentation": "shift", "ema": 0.936}
    assert "bottomed at epoch 3" in found[0].evidence
    varied = {**CONFIG, "augmentation": "shift", "cutout": 7, "ema": 0.9, "label_smoothing": 0.1}
    found = diagnose(s, varied, PROFILE, Knobs())
    assert found[0].changes == {"dropout": 0.2, "early_stopping_patience": 3}


def test_slow_convergence_adds_momentum_to_plain_sgd():
    s = summary(
        [2.0, 1.6, 1.3, 1.1, 0.95, 0.85],
        [2.0, 1.65, 1.35, 1.15, 1.0, 0.9],
        [0.3, 0.5, 0.6, 0.66, 0.7, 0.73],
    )
    found = diagnose(s, CONFIG, PROFILE, Knobs())
    assert names(found) == ["slow convergence"]
    assert found[0].changes == {"momentum": 0.9}


def test_oscillation_lowers_the_learning_rate():
    s = summary(
        [1.0, 0.8, 0.9, 0.7, 0.85, 0.6, 0.8, 0.65],
        [1.0, 0.6, 1.1, 0.7, 1.2, 0.6, 1.0, 0.7],
        [0.5, 0.7, 0.5, 0.7, 0.5, 0.7, 0.5, 0.7],
    )
    found = diagnose(s, CONFIG, PROFILE, Knobs())
    assert "oscillation" in names(found)
    osc = found[names(found).index("oscillation")]
    assert osc.changes["learning_rate"] < CONFIG["learning_rate"]
    assert osc.changes["lr_schedule"] == "cosine"
    # a validation loss that zigzags on its way up from its best, the training loss far
    # below: the net memorises, and regularising it comes before a smaller rate
    s = summary(
        [1.0, 0.6, 0.4, 0.3, 0.2, 0.15, 0.1, 0.08],
        [1.0, 0.6, 0.8, 0.55, 0.9, 0.7, 1.0, 0.8],
        [0.5, 0.7, 0.65, 0.72, 0.66, 0.7, 0.64, 0.68],
    )
    found = diagnose(s, CONFIG, PROFILE, Knobs())
    assert "overfitting" in names(found) and "oscillation" not in names(found)


def test_divergence_and_data_scale_findings():
    failed = {"status": "failed", "failure": "diverged: training loss became nan at epoch 2"}
    found = diagnose(failed, {**CONFIG, "learning_rate": 0.1}, PROFILE, Knobs())
    assert found[0].name == "divergence"
    assert found[0].changes["learning_rate"] == 0.01 and found[0].changes["grad_clip"] == 1.0
    raw = {"scaling": "none", "target_transform": "none"}  # the raw data, as a user may set it
    config = {**space_for("tabular_regression").default(), **raw}
    s = {"status": "ok", "steps_run": 2, "validation": {"mae": 50.0}, "primary": "mae"}
    found = diagnose(s, config, REGRESSION, Knobs())
    assert names(found)[:2] == ["unscaled features", "target scale"]
    assert found[0].changes == {"scaling": "standard"} and found[1].changes == {
        "target_transform": "log"
    }


def test_imbalance_is_seen_in_the_macro_f1_gap():
    s = summary(
        [0.7, 0.69, 0.69, 0.69, 0.69],
        [0.7, 0.69, 0.69, 0.69, 0.69],
        [0.61, 0.61, 0.61, 0.61, 0.61],
        f1=0.38,
    )
    profile = {**PROFILE, "classes": 2, "smallest_class_share": 0.39}
    found = diagnose(s, CONFIG, profile, Knobs())
    assert "class imbalance" in names(found)


def test_guidance_lines_are_parsed():
    parsed = parse_guidance(
        "Prefer: model=gbm (+0.08); learning_rate up\n- Avoid: dropout\n"
        "Try next: model=random_forest"
    )
    assert parsed == {
        "prefer": [("model", "gbm"), ("learning_rate", "up")],
        "avoid": [("dropout", None)],
        "try": [("model", "random_forest")],
    }


def advisor_facts(**over):
    space = space_for("image")
    knobs = {
        k.name: {
            "dimension": k.dimension,
            "kind": k.kind,
            "choices": list(k.choices),
            "low": k.low,
            "high": k.high,
            "log": k.log,
            "default": k.default,
            "used_by": list(k.used_by),
        }
        for k in space.knobs.values()
    }
    s = summary(
        [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02],
        [1.0, 0.6, 0.5, 0.52, 0.58, 0.65, 0.7, 0.75],
        [0.6, 0.8, 0.85, 0.85, 0.84, 0.84, 0.83, 0.83],
    )
    facts = {
        "task": PROFILE,
        "space": knobs,
        "base": {"trial": 1, "config": CONFIG, "summary": s},
        "history": [{"trial": 1, "model": "mlp"}],
        "avoid": [],
        "guidance": "",
        "tried_digests": [],
        "verdict": None,
        "budget_left": 1,
    }
    return {**facts, **over}


def test_the_advisor_tries_an_untried_model_family_first():
    first = propose(advisor_facts(budget_left=5))
    assert {c["knob"]: c["value"] for c in first["changes"]}["model"] == "cnn"
    tried = propose(advisor_facts(budget_left=5, history=[{"trial": 1, "model": "cnn"}]))
    assert "model" not in {c["knob"] for c in tried["changes"]}


def test_the_cnn_move_pools_the_image_down_to_a_few_pixels_with_batch_norm():
    for shape, blocks in (([3, 32, 32], 3), ([1, 28, 28], 3), ([1, 8, 8], 1)):
        task = {**PROFILE, "input_shape": shape}
        first = propose(advisor_facts(task=task, budget_left=5))
        changes = {c["knob"]: c["value"] for c in first["changes"]}
        assert changes["model"] == "cnn" and changes.get("depth", 1) == blocks  # default 1
        assert changes["batch_norm"] is True
        if shape[-1] >= 16:  # room for the fast trainings' block; momentum comes next
            assert changes["convs_per_block"] == 2 and "momentum" not in changes
        else:
            assert changes["momentum"] == 0.9 and "convs_per_block" not in changes
        Proposal.model_validate(first)  # within the schema's limits, so never repaired


def length_history(gain_of_second_doubling):
    """A CNN whose epochs were doubled twice: +0.04, then the given gain."""
    cnn = {**CONFIG, "model": "cnn", "optimizer": "adam", "learning_rate": 0.001}
    rows = [
        {"trial": 1, "base": None, "changes": [], "score": 0.40, "model": "mlp"},
        {"trial": 2, "base": 1, "score": 0.63, "model": "cnn",
         "changes": [{"knob": "model", "old": "mlp", "new": "cnn"}]},
        {"trial": 3, "base": 2, "score": 0.67, "model": "cnn",
         "changes": [{"knob": "epochs", "old": 5, "new": 10}]},
        {"trial": 4, "base": 3, "score": 0.67 + gain_of_second_doubling, "model": "cnn",
         "changes": [{"knob": "epochs", "old": 10, "new": 20}]},
    ]  # fmt: skip
    for row in rows:
        row.update(outcome="improved", delta=0.01)
    still_falling = summary(
        [1.6, 1.3, 1.1, 1.0, 0.95, 0.9],
        [1.65, 1.35, 1.2, 1.1, 1.05, 1.0],
        [0.5, 0.58, 0.62, 0.64, 0.66, 0.67],
    )
    base = {"trial": 4, "config": {**cnn, "epochs": 20}, "summary": still_falling}
    return {"history": rows, "base": base, "budget_left": 40}


def test_a_doubling_of_the_epochs_that_bought_too_little_is_not_repeated():
    # Still falling at the end: the slow-convergence rule asks for more epochs...
    paid = propose(advisor_facts(**length_history(0.02)))
    assert {c["knob"]: c["value"] for c in paid["changes"]} == {"epochs": 40}
    # ...unless the last doubling bought less than a hundredth of the score: then the next
    # change is tried at the shorter length, half the cost, with the reason why
    spent = propose(advisor_facts(**length_history(0.003)))
    moved = {c["knob"]: c for c in spent["changes"]}
    assert moved["epochs"]["value"] == 10 and len(moved) == 2
    assert "bought only +0.003 over trial 3" in moved["epochs"]["reason"]
    # With 20 epochs left of an epoch budget, 40 would train the same 20 again.
    poor = propose(
        advisor_facts(**{**length_history(0.02), "budget_left": 20}, budget_unit="epochs")
    )
    assert "epochs" not in {c["knob"] for c in poor["changes"]}


def test_the_evaluator_says_when_more_length_is_not_worth_its_cost():
    s = summary([1.0, 0.9, 0.85, 0.8], [1.0, 0.95, 0.93, 0.92], [0.6, 0.64, 0.66, 0.67])
    change = [{"knob": "epochs", "old": 10, "new": 20}]
    trial = {"index": 4, "score": 0.673, "config": CONFIG, "summary": s, "changes": change}
    facts = {
        "task": PROFILE,
        "maximize": True,
        "primary": "accuracy",
        "tolerance": 0.01,
        "trial": trial,
        "parent": {"index": 3, "score": 0.67},
        "best_before": {"index": 3, "score": 0.67},
    }
    verdict = judge(facts)
    assert "bought only +0.003" in verdict["diagnosis"]
    assert not any("continue in that direction" in s for s in verdict["suggestions"])
    worth = judge({**facts, "trial": {**trial, "score": 0.72}})
    assert worth["suggestions"][0].startswith("epochs=40: moving it from 10 to 20 helped")
    # a way back to a shorter schedule that came with another change is a saving: the
    # gain is the other change's, and no "continue in that direction" follows from it
    back = [{"knob": "epochs", "old": 20, "new": 10}, {"knob": "dropout", "old": 0.0, "new": 0.2}]
    saved = judge({**facts, "trial": {**trial, "score": 0.72, "changes": back}})
    assert not any(s.startswith("epochs=") for s in saved["suggestions"])


def test_the_advisor_follows_the_diagnosis_and_respects_avoid_and_guidance():
    first = propose(advisor_facts())
    assert {c["knob"] for c in first["changes"]} == {"augmentation", "ema"}
    assert "bottomed at epoch 3" in first["rationale"]
    avoided = propose(advisor_facts(avoid=["augmentation=shift"]))
    assert "augmentation" not in {c["knob"] for c in avoided["changes"]}
    guided = propose(advisor_facts(guidance="Avoid: augmentation; ema"))
    assert not {"augmentation", "ema"} & {c["knob"] for c in guided["changes"]}
    second = propose(advisor_facts(), attempt=2)
    assert second["changes"] != first["changes"]


def test_judge_outcomes_and_directional_suggestions():
    assert outcome(0.9, None, True, 0.01) == "improved"
    assert outcome(None, 0.9, True, 0.01) == "failed"
    assert outcome(None, None, True, 0.01) == "failed"  # a failed first trial too
    assert outcome(0.895, 0.9, True, 0.01) == "neutral"
    assert outcome(0.85, 0.9, True, 0.01) == "regressed"
    assert outcome(40.0, 42.0, False, 0.01) == "improved"
    s = summary(
        [1.0, 0.8, 0.6, 0.5, 0.45, 0.42],
        [1.0, 0.8, 0.62, 0.52, 0.48, 0.46],
        [0.6, 0.7, 0.8, 0.84, 0.86, 0.87],
    )
    facts = {
        "task": PROFILE,
        "maximize": True,
        "primary": "accuracy",
        "tolerance": 0.01,
        "trial": {
            "index": 3,
            "score": 0.87,
            "config": CONFIG,
            "summary": s,
            "changes": [{"knob": "learning_rate", "old": 0.01, "new": 0.03}],
        },
        "parent": {"index": 2, "score": 0.8},
        "best_before": {"index": 2, "score": 0.8},
    }
    verdict = judge(facts)
    assert verdict["outcome"] == "improved" and abs(verdict["delta"] - 0.07) < 1e-9
    assert "Changing learning_rate 0.01 -> 0.03 moved accuracy from 0.8000" in verdict["diagnosis"]
    assert verdict["suggestions"][0].startswith("learning_rate=0.09: moving it from 0.01 to 0.03")


def test_rewrite_prefers_what_helped_and_avoids_what_hurt():
    history = [
        {
            "trial": 1,
            "changes": [],
            "score": 0.8,
            "outcome": "improved",
            "delta": 0.0,
            "model": "mlp",
        },
        {
            "trial": 2,
            "changes": [{"knob": "learning_rate", "old": 0.01, "new": 0.03}],
            "score": 0.85,
            "outcome": "improved",
            "delta": 0.05,
            "model": "mlp",
        },
        {
            "trial": 3,
            "changes": [{"knob": "augmentation", "old": "none", "new": "flip"}],
            "score": 0.82,
            "outcome": "regressed",
            "delta": -0.03,
            "model": "mlp",
        },
    ]
    out = rewrite({"task": PROFILE, "maximize": True, "history": history, "guidance": ""})
    assert "Prefer: learning_rate up (+0.05)" in out["guidance"]
    assert "Avoid: augmentation=flip (-0.03)" in out["guidance"]
    assert "Try next: model=cnn" in out["guidance"]
    parsed = parse_guidance(out["guidance"])
    assert ("augmentation", "flip") in parsed["avoid"]


def test_rewrite_credits_a_model_family_not_the_knobs_that_came_with_it():
    # the CNN's start set its depth and batch norm: the gain is the family's, and the next
    # proposal should not read "depth up" as a direction that helped
    start = [
        {"knob": "model", "old": "mlp", "new": "cnn"},
        {"knob": "depth", "old": 1, "new": 3},
        {"knob": "batch_norm", "old": False, "new": True},
    ]
    history = [
        {"trial": 1, "changes": [], "score": 0.4, "outcome": "improved", "delta": 0.0},
        {"trial": 2, "changes": start, "score": 0.66, "outcome": "improved", "delta": 0.26},
    ]
    out = rewrite({"task": PROFILE, "maximize": True, "history": history, "guidance": ""})
    assert "Prefer: model=cnn (+0.26)" in out["guidance"]
    assert "depth" not in out["guidance"] and "batch_norm" not in out["guidance"]


def test_decide_stops_rolls_back_or_goes_on():
    def trial(i, score):
        return {"index": i, "score": score, "changes": []}

    def verdict(i, outcome_, delta=0.0):
        return {"trial": i, "outcome": outcome_, "delta": delta}

    s = Settings(task="iris", budget=5, patience=2, tolerance=0.01)
    state = {
        "trials": [trial(1, 0.8), trial(2, 0.7)],
        "verdicts": [verdict(1, "improved"), verdict(2, "regressed", -0.1)],
    }
    assert decide(state, s, True)[0] == "rollback"
    state = {
        "trials": [trial(1, 0.8), trial(2, 0.85)],
        "verdicts": [verdict(1, "improved"), verdict(2, "improved", 0.05)],
    }
    assert decide(state, s, True)[0] == "optimize"
    state = {"trials": [trial(1, 0.8), trial(2, 0.8), trial(3, 0.79)], "verdicts": []}
    route, why = decide(state, s, True)
    assert route == "finalize" and "patience 2" in why
    done = {"trials": [trial(i, 0.8 + i / 100) for i in range(1, 6)], "verdicts": []}
    assert decide(done, s, True) == ("finalize", "the budget of 5 trials is spent")
    target = Settings(task="iris", budget=9, stop_at=0.84)
    route, why = decide(done, target, True)
    assert route == "finalize" and "reached 0.85" in why


TABULAR = {
    "task": "t",
    "family": "tabular_classification",
    "problem": "classification",
    "primary_metric": "accuracy",
    "direction": "maximize",
    "classes": 2,
    "smallest_class_share": 0.5,
    "train_examples": 1000,
}
REGRESSION = {
    **TABULAR,
    "family": "tabular_regression",
    "problem": "regression",
    "feature_std_ratio": 900.0,
    "feature_abs_mean_max": 1400.0,
    "target_std": 115.0,
    "target_mean": 206.0,
    "target_skew": 0.98,
    "target_min": 15.0,
}


def tabular(family="tabular_classification", **over):
    return {**space_for(family).default(), **over}


def failed(text):
    return {"status": "failed", "step_unit": "epoch", "steps_run": 1, "failure": text}


def boosted(val):
    s = summary([v * 0.8 for v in val], val, [0.8] * len(val))
    return {**s, "step_unit": "iteration"}


OVERFIT = (
    [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02],
    [1.0, 0.6, 0.5, 0.52, 0.58, 0.65, 0.7, 0.75],
)
UNSCALED = {"status": "ok", "steps_run": 2, "validation": {"mae": 50.0}, "primary": "mae"}
# One input per rule that shows its symptom: (summary, config, profile).
SYMPTOMS = {
    "divergence": (failed("diverged: training loss became nan at epoch 2"), CONFIG, PROFILE),
    "too_many_features": (
        failed("polynomial expansion would make 12000 features"),
        tabular(polynomial_degree=3),
        TABULAR,
    ),
    "unscaled_features": (UNSCALED, tabular("tabular_regression", scaling="none"), REGRESSION),
    "target_scale": (
        UNSCALED,
        tabular("tabular_regression", target_transform="none"),
        REGRESSION,
    ),
    "long_tailed_target": (
        UNSCALED,
        tabular("tabular_regression", model="gbm"),
        {**REGRESSION, "primary_metric": "mae", "target_min": 0.0, "target_skew": 2.5},
    ),
    "zero_sentinels": (
        UNSCALED,
        tabular("tabular_regression"),
        {**REGRESSION, "zero_sentinels": ["bp"]},
    ),
    "degenerate_model": (
        {**summary([0.7] * 5, [0.7] * 5, [0.5] * 5), "predicted_classes": 1},
        CONFIG,
        {**PROFILE, "classes": 2, "smallest_class_share": 0.01},
    ),
    "class_imbalance": (
        summary([0.7, 0.69, 0.69, 0.69, 0.69], [0.7] + [0.69] * 4, [0.61] * 5, f1=0.38),
        CONFIG,
        {**PROFILE, "classes": 2, "smallest_class_share": 0.39},
    ),
    "oscillation": (
        summary(
            [1.0, 0.8, 0.9, 0.7, 0.85, 0.6, 0.8, 0.65],
            [1.0, 0.6, 1.1, 0.7, 1.2, 0.6, 1.0, 0.7],
            [0.5, 0.7, 0.5, 0.7, 0.5, 0.7, 0.5, 0.7],
        ),
        CONFIG,
        PROFILE,
    ),
    "overfitting": (summary(*OVERFIT, [0.8] * 8), CONFIG, PROFILE),
    "slow_convergence": (
        summary([2.0, 1.6, 1.3, 1.1, 0.95, 0.85], [2.0, 1.65, 1.35, 1.15, 1.0, 0.9], [0.5] * 6),
        CONFIG,
        PROFILE,
    ),
    "plateau": (
        summary([1.0, 0.6, 0.5, 0.5, 0.5, 0.5], [1.02, 0.62, 0.51, 0.51, 0.51, 0.51], [0.5] * 6),
        CONFIG,
        PROFILE,
    ),
    "boosting_overfits": (
        boosted([1.0, 0.8, 0.7, 0.72, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]),
        tabular(model="gbm", n_estimators=100),
        TABULAR,
    ),
    "boosting_unfinished": (
        boosted([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]),
        tabular(model="gbm", n_estimators=10),
        TABULAR,
    ),
    "forest_memorises": (
        {"status": "ok", "steps_run": 1, "primary": "accuracy", "gap": 1.5, "validation": {}},
        tabular(model="random_forest"),
        TABULAR,
    ),
}


def test_every_rule_is_a_named_function_that_diagnoses_its_own_symptom():
    rules = RULES + FAILURES
    assert all(inspect.isfunction(rule) for rule in rules)
    assert sorted(rule.__name__ for rule in rules) == sorted(SYMPTOMS)
    seen = set()
    for rule in rules:
        s, config, profile = SYMPTOMS[rule.__name__]
        finding = rule(Case.of(s, config, profile, Knobs()))
        assert finding is not None, rule.__name__
        assert finding.name.replace(" ", "_") == rule.__name__
        assert finding.changes and finding.reason
        assert finding.name in names(diagnose(s, config, profile, Knobs()))
        seen.add(finding.name)
    assert len(seen) == len(rules)


def test_a_healthy_trial_is_sound_and_an_unexplained_failure_is_reported():
    healthy = summary(
        [1.0, 0.5, 0.3, 0.25, 0.24, 0.24],
        [1.0, 0.6, 0.45, 0.4, 0.39, 0.39],
        [0.6, 0.8, 0.85, 0.86, 0.87, 0.87],
    )
    case = Case.of(healthy, CONFIG, PROFILE, Knobs())
    assert [rule.__name__ for rule in RULES if rule(case)] == []
    assert names(diagnose(healthy, CONFIG, PROFILE, Knobs())) == ["sound"]
    oom = diagnose(failed("out of memory"), CONFIG, PROFILE, Knobs())
    assert [(f.name, f.changes) for f in oom] == [("failure", {})]
    both = failed("diverged after the polynomial expansion")
    assert names(diagnose(both, CONFIG, PROFILE, Knobs())) == ["divergence"]


def test_findings_come_most_urgent_first_whatever_the_rules_order(monkeypatch):
    profile = {
        **TABULAR,
        "feature_std_ratio": 900.0,
        "feature_abs_mean_max": 1400.0,
        "smallest_class_share": 0.1,
    }
    s = summary(*OVERFIT, [0.6, 0.8, 0.85, 0.85, 0.84, 0.84, 0.83, 0.83], f1=0.5)
    found = diagnose(s, tabular(model="mlp"), profile, Knobs())
    assert names(found) == ["unscaled features", "class imbalance", "overfitting"]
    assert [f.priority for f in found] == [10, 20, 30]
    monkeypatch.setattr(findings, "RULES", tuple(reversed(RULES)))
    assert diagnose(s, tabular(model="mlp"), profile, Knobs()) == found


def test_an_absolute_error_metric_calls_for_the_matching_loss_and_forests_try_random_splits():
    from lgt_graph.expert.case import Knobs as SpaceKnobs
    from lgt_graph.expert.moves import explorations

    space = space_for("tabular_regression")
    specs = {
        k.name: {"kind": k.kind, "low": k.low, "high": k.high, "used_by": list(k.used_by)}
        for k in space.knobs.values()
    }
    knobs = SpaceKnobs(specs)
    gbm = space.apply(space.default(), {"model": "gbm"})
    profile = {"family": "tabular_regression", "problem": "regression", "train_examples": 900}
    by_mae = explorations(gbm, {**profile, "primary_metric": "mae"}, knobs)
    assert by_mae[0].changes == {"regression_loss": "absolute_error"}
    assert "median" in by_mae[0].reason
    by_rmse = explorations(gbm, {**profile, "primary_metric": "rmse"}, knobs)
    assert all("regression_loss" not in c.changes for c in by_rmse)  # squared error fits rmse
    matched = explorations({**gbm, "regression_loss": "absolute_error"},
                           {**profile, "primary_metric": "mae"}, knobs)  # fmt: skip
    assert all("regression_loss" not in c.changes for c in matched)
    forest = space.apply(space.default(), {"model": "random_forest"})
    moves = [c.changes for c in explorations(forest, {**profile, "primary_metric": "mae"}, knobs)]
    assert {"randomized_splits": True} in moves and all("regression_loss" not in m for m in moves)


def test_a_cnn_as_wide_as_the_space_allows_steps_up_to_a_resnet():
    from lgt_graph.expert.image_moves import image_moves

    task = {**PROFILE, "input_shape": [3, 32, 32], "channels": 3}
    wide = {**CONFIG, "model": "cnn", "convs_per_block": 2, "channels": 128, "momentum": 0.9}
    flat = summary(  # both losses stalled together, side by side
        [1.0, 0.7, 0.62, 0.6, 0.6, 0.6, 0.6, 0.6],
        [1.02, 0.72, 0.64, 0.62, 0.62, 0.62, 0.62, 0.62],
        [0.6, 0.7, 0.72, 0.73, 0.73, 0.73, 0.73, 0.73],
    )
    found = diagnose(flat, wide, task, Knobs(advisor_facts()["space"]))
    plateau = next(f for f in found if f.name == "plateau")
    assert plateau.changes == {"model": "resnet", "stages": 4, "nesterov": True}
    assert image_moves(wide, task)[-1][0] == plateau.changes  # the CNN's last exploration


def test_image_moves_read_the_images_shape_and_colour_never_the_dataset():
    from lgt_graph.expert.image_moves import image_moves

    cnn = {**CONFIG, "model": "cnn", "momentum": 0.9, "batch_norm": True, "batch_size": 100}
    photo = {**PROFILE, "input_shape": [3, 32, 32], "channels": 3, "train_examples": 5000}
    digits = {**PROFILE, "input_shape": [1, 8, 8], "channels": 1, "train_examples": 5000}
    moves = [changes for changes, _ in image_moves(cnn, photo)]
    assert moves[0] == {"nesterov": True}
    assert {"augmentation": "flip_shift"} in moves and {"convs_per_block": 2} in moves
    assert {"ema": 0.98} in moves  # 50 steps an epoch: a horizon of about one epoch
    small = [changes for changes, _ in image_moves(cnn, digits)]
    assert {"augmentation": "shift"} in small  # mirror images change a digit, not a photo
    assert {"convs_per_block": 2} not in small  # 8 pixels: little room for a second pooled conv
    flipped = {**cnn, "augmentation": "flip_shift"}
    later = [changes for changes, _ in image_moves(flipped, photo)]
    assert {"test_time_flip": True} in later and {"cutout": 8} in later
    # crops first, with the cheap moves; cutout once the net is wider and its weights averaged
    assert moves.index({"augmentation": "flip_shift"}) < moves.index({"channels": 32})
    assert later.index({"channels": 32}) < later.index({"cutout": 8})
    assert later.index({"test_time_flip": True}) < later.index({"channels": 32})
    shifted = [c for c, _ in image_moves({**cnn, "augmentation": "shift"}, digits)]
    assert not any("cutout" in c for c in shifted)  # a cutout would hide most of 8 pixels
    renamed = {**photo, "task": "another-name"}
    assert image_moves(flipped, renamed) == image_moves(flipped, photo)


def test_an_overfitting_image_net_gets_varied_data_and_averaged_weights_first():
    from lgt_graph.expert.symptoms import overfitting

    cnn = {**CONFIG, "model": "cnn", "batch_size": 100}
    photo = {**PROFILE, "input_shape": [3, 32, 32], "channels": 3, "train_examples": 5000}
    s = summary(
        [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02],
        [1.0, 0.6, 0.5, 0.52, 0.58, 0.65, 0.7, 0.75],
        [0.6, 0.8, 0.85, 0.85, 0.84, 0.84, 0.83, 0.83],
    )
    knobs = Knobs(advisor_facts()["space"])

    def remedy(config):
        finding = overfitting(Case.of(s, config, photo, knobs))
        assert finding is not None
        return finding.changes

    assert remedy(cnn) == {"augmentation": "flip_shift", "ema": 0.98}
    assert remedy({**cnn, "augmentation": "flip_shift", "ema": 0.98}) == {
        "cutout": 8,
        "label_smoothing": 0.1,
    }


def test_a_conv_net_that_lacks_capacity_gets_a_second_conv_then_wider_blocks():
    from lgt_graph.expert.image_moves import capacity

    def clip(name, value):
        return min(value, {"channels": 128, "depth": 6}.get(name, 1024))

    photo = {"input_shape": [3, 32, 32]}
    cnn = {"model": "cnn", "optimizer": "sgd"}
    assert capacity({**cnn, "convs_per_block": 1}, photo, clip) == {"convs_per_block": 2}
    assert capacity({**cnn, "convs_per_block": 2, "channels": 32}, photo, clip) == {"channels": 64}
    widest = {**cnn, "convs_per_block": 2, "channels": 128}
    assert capacity(widest, photo, clip) == {"model": "resnet", "stages": 4, "nesterov": True}
    assert capacity({"model": "resnet", "channels": 128, "depth": 1}, photo, clip) == {"depth": 2}
    assert capacity({"model": "mlp", "width": 64}, photo, clip) == {"width": 128}
