"""The primary metric: every metric against scikit-learn's, the default chosen from the data,
``--metric`` for every method, and a rare class that accuracy would hide."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score, log_loss, roc_auc_score

from lgt_graph.context import Settings
from lgt_graph.errors import UserError
from lgt_graph.evaluation.metrics import classification_metrics, default_metric, maximized
from lgt_graph.session import run_session


@pytest.mark.parametrize("classes", [2, 3, 10])
def test_classification_metrics_match_scikit_learn(classes):
    rng = np.random.default_rng(classes)
    y = rng.integers(0, classes, 400)
    proba = rng.random((400, classes))
    proba[np.arange(400), y] += rng.random(400)
    proba = np.round(proba, 1) + 1e-9  # ties, which ROC-AUC must share out
    proba /= proba.sum(axis=1, keepdims=True)
    got = classification_metrics(y, proba, classes)
    auc = (
        roc_auc_score(y, proba[:, 1])
        if classes == 2
        else roc_auc_score(y, proba, multi_class="ovr", average="macro")
    )
    assert got["roc_auc"] == pytest.approx(auc)
    assert got["log_loss"] == pytest.approx(log_loss(y, proba))
    assert got["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, proba.argmax(1)))
    assert got["macro_f1"] == pytest.approx(f1_score(y, proba.argmax(1), average="macro"))
    assert maximized("roc_auc") and not maximized("log_loss")


def test_the_default_metric_follows_the_class_balance():
    assert default_metric("classification", [0.34, 0.33, 0.33])[0] == "accuracy"
    assert default_metric("classification", [0.61, 0.39])[0] == "accuracy"
    metric, why = default_metric("classification", [0.99, 0.01])
    assert metric == "macro_f1" and "1.0%" in why
    assert default_metric("classification", [0.96] + [0.004] * 10)[0] == "macro_f1"
    assert default_metric("regression")[0] == "mae"


def skewed_csv(path, rows=10000, share=0.01, seed=0):
    """A binary CSV with 1 % positives that a model can find (they sit apart)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < share).astype(int)
    X = rng.normal(size=(rows, 4)) + y[:, None] * np.array([2.5, -2.0, 1.5, 0.0])
    frame = pd.DataFrame(X, columns=["a", "b", "c", "noise"])
    frame["label"] = y
    frame.to_csv(path, index=False)
    return path


def test_a_rare_class_is_tuned_for_with_macro_f1(store_uri, tmp_path):
    csv = skewed_csv(tmp_path / "skewed.csv")
    lines: list[str] = []
    outcome = run_session(
        Settings.resolve(task=f"csv:{csv}", target="label", budget=6, tracking_uri=store_uri),
        checkpoints=str(tmp_path / "ck.db"),
        echo=lines.append,
    )
    said = next(line for line in lines if line.startswith("data: "))
    assert "classification, 2 classes (smallest 0.9%)" in said
    assert "primary metric macro_f1" in said
    assert outcome.ctx.primary == "macro_f1"
    final = outcome.values["final"]
    # a model that always says "negative" scores 0.99 accuracy and 0.5 macro-F1
    assert final["test"]["macro_f1"] > 0.75, final["test"]
    assert final["test"]["balanced_accuracy"] > 0.7, final["test"]


def test_metric_flag_sets_what_every_method_tunes_and_a_wrong_one_is_refused(store_uri, tmp_path):
    outcome = run_session(
        Settings.resolve(
            task="iris", method="random", budget=2, metric="log_loss", tracking_uri=store_uri
        ),
        checkpoints=str(tmp_path / "ck.db"),
        echo=lambda line: None,
    )
    assert outcome.ctx.primary == "log_loss" and not outcome.ctx.maximize
    scores = [t["score"] for t in outcome.values["trials"]]
    assert scores == [t["result"]["metrics"]["log_loss"] for t in outcome.values["trials"]]
    with pytest.raises(UserError, match="does not score classification"):
        run_session(
            Settings.resolve(task="iris", budget=1, metric="mae", tracking_uri=store_uri),
            checkpoints=str(tmp_path / "ck2.db"),
            echo=lambda line: None,
        )
    with pytest.raises(UserError, match="--seed must be"):
        Settings.resolve(task="iris", seed=-1)


def test_the_noise_floor_of_a_hand_worked_case():
    from lgt_graph.evaluation.metrics import noise_floor, standard_error

    # 9 of 12 right: sqrt(0.75 * 0.25 / 12) = 0.125; 6 of 12: sqrt(0.25 / 12) = 0.1443
    assert standard_error("accuracy", {"accuracy": 0.75}, 12) == pytest.approx(0.125)
    floor = noise_floor("accuracy", {"accuracy": 0.75}, {"accuracy": 0.5}, 12)
    assert floor == pytest.approx((0.125**2 + 0.25 / 12) ** 0.5)  # 0.1909
    # absolute errors 4 on average, squared errors 25: sd(|e|) = sqrt(25 - 16) = 3, / sqrt(9)
    assert standard_error("mae", {"mae": 4.0, "rmse": 5.0}, 9) == pytest.approx(1.0)
    assert standard_error("log_loss", {"log_loss": 0.3}, 100) is None  # no formula: no floor
    assert noise_floor("log_loss", {"log_loss": 0.3}, {"log_loss": 0.4}, 100) is None


def test_a_gain_inside_the_noise_floor_is_neutral_and_outside_it_counts():
    from lgt_graph.evaluation.metrics import outcome

    assert outcome(0.80, 0.75, True, 0.01, floor=0.19) == "neutral"  # one flower of 24
    assert outcome(0.95, 0.75, True, 0.01, floor=0.19) == "improved"
    assert outcome(0.55, 0.75, True, 0.01, floor=0.19) == "regressed"
    assert outcome(3.0, 4.0, False, 0.01, floor=0.5) == "improved"  # an MAE, minimised
    # the fixed rule (--tolerance): any gain improves
    assert outcome(0.80, 0.75, True, 0.01) == "improved"
