import re

import numpy as np
import pytest

from lgt_graph.evaluation.metrics import CLASSIFICATION_METRICS
from lgt_graph.space import space_for
from lgt_graph.tasks import TASKS, load_task_data
from lgt_graph.training import train


@pytest.fixture(scope="module")
def iris():
    return load_task_data(TASKS["iris"], seed=0)


@pytest.fixture(scope="module")
def digits():
    return load_task_data(TASKS["digits"], seed=0, max_train_samples=400)


@pytest.fixture(scope="module")
def wine_like():
    # A regression task that needs no files: iris petal width from the other measurements.
    from lgt_graph.tasks.base import Dataset, Task, split

    base = TASKS["iris"].loader([])
    X = base.X.drop(columns=["petal_width"])
    y = base.X["petal_width"].to_numpy()
    task = Task(
        "petal",
        "tabular_regression",
        "",
        lambda d: None,
        "",
        lambda d: True,
        ("mae", "rmse", "r2"),
        "mae",
    )
    return split(task, Dataset(X=X, y=y), seed=0)


def config(data, **changes):
    space = space_for(data.task.family)
    return space.apply(space.default(), changes)


def test_image_mlp_trial_records_curves_per_epoch(digits):
    result = train(config(digits, epochs=3, learning_rate=0.1), digits)
    assert result.ok and result.step_unit == "epoch"
    assert result.steps == [1, 2, 3]
    assert set(result.curves) == {"train_loss", "val_loss", "train_accuracy"} | {
        f"val_{m}" for m in CLASSIFICATION_METRICS
    }
    assert all(len(v) == 3 for v in result.curves.values())
    assert result.curves["train_loss"][-1] < result.curves["train_loss"][0]
    assert result.metrics["accuracy"] == result.curves["val_accuracy"][-1]
    assert result.metrics["accuracy"] > 0.5
    assert result.diagnostics["epochs_run"] == 3 and result.diagnostics["parameters"] > 0


def test_cnn_with_every_architecture_knob(digits):
    c = config(
        digits,
        model="cnn",
        depth=2,
        channels=8,
        width=32,
        dropout=0.2,
        batch_norm=True,
        activation="gelu",
        optimizer="adamw",
        lr_schedule="onecycle",
        learning_rate=0.02,
        augmentation="flip_shift",
        input_normalization="standardize",
        label_smoothing=0.1,
        class_weighting="balanced",
        grad_clip=1.0,
        epochs=6,
    )
    result = train(c, digits)
    assert result.ok, result.reason
    assert result.curves["train_loss"][-1] < result.curves["train_loss"][0]
    assert result.metrics["accuracy"] > 0.25  # chance is 0.1; 42 steps with flips of digits


def test_same_seed_same_curves(digits):
    c = config(digits, epochs=2, model="cnn", channels=4, augmentation="shift")
    a, b = train(c, digits), train(c, digits)
    assert a.curves == b.curves
    other = train(c, digits, seed=1)
    assert other.curves != a.curves


def test_early_stopping_keeps_the_best_epoch(iris):
    # A learning rate this high makes validation accuracy bounce; patience 2 stops it.
    c = config(
        iris,
        epochs=60,
        optimizer="sgd",
        learning_rate=0.5,
        momentum=0.9,
        scaling="standard",
        early_stopping_patience=2,
    )
    result = train(c, iris)
    assert result.ok
    d = result.diagnostics
    assert d["stopped_early"] and d["epochs_run"] < 60
    assert d["epochs_run"] - d["best_epoch"] == 2
    best = max(result.curves["val_accuracy"])
    assert result.metrics["accuracy"] == best == result.curves["val_accuracy"][d["best_epoch"] - 1]


def test_divergence_is_a_failed_trial_not_an_exception(wine_like):
    raw = {"scaling": "none", "target_transform": "none"}  # the data as it comes
    c = config(
        wine_like,
        optimizer="sgd",
        learning_rate=1.0,
        momentum=0.99,
        width=512,
        polynomial_degree=3,
        **raw,
    )
    result = train(c, wine_like)
    assert result.status == "failed"
    assert re.match(
        r"diverged: (training|validation) loss became (nan|inf) at epoch \d+$", result.reason
    )
    assert result.metrics == {} and result.score("mae") is None


@pytest.mark.parametrize("model", ["gbm", "random_forest", "linear"])
def test_classical_models_classify_and_regress(iris, wine_like, model):
    clf = train(config(iris, model=model, n_estimators=20, learning_rate=0.1), iris)
    assert clf.ok and clf.metrics["accuracy"] > 0.8
    assert len(clf.steps) == len(clf.curves["val_accuracy"]) >= 1
    reg = train(config(wine_like, model=model, n_estimators=20, learning_rate=0.1), wine_like)
    assert reg.ok and reg.metrics["r2"] > 0.8
    assert {"mae", "rmse", "r2"} == set(reg.metrics)
    units = {"gbm": "iteration", "random_forest": "trees", "linear": "fit"}
    assert clf.step_unit == units[model]


@pytest.mark.parametrize(
    "changes",
    [
        {"scaling": "quantile", "imputation": "median"},
        {"polynomial_degree": 2, "scaling": "standard"},
        {"feature_selection": "f_test", "selected_fraction": 0.5, "scaling": "robust"},
        {"feature_selection": "mutual_info", "selected_fraction": 0.3, "scaling": "minmax"},
        {"target_transform": "log", "scaling": "standard"},
        {"target_transform": "standardize", "lr_schedule": "cosine", "optimizer": "rmsprop"},
    ],
)
def test_feature_engineering_knobs(wine_like, changes):
    result = train(config(wine_like, **changes), wine_like)
    assert result.ok, result.reason
    assert result.metrics["mae"] < 1.0


def test_regression_metrics_are_on_the_original_scale(wine_like):
    result = train(config(wine_like, model="linear", target_transform="log"), wine_like)
    assert result.metrics["mae"] < 0.5  # petal width is 0.1-2.5 cm; log-scale errors are tiny


def test_final_refit_scores_the_test_split_only_when_asked(iris):
    c = config(iris, model="linear")
    assert train(c, iris).test_metrics == {}
    with iris.open_test():
        scored = train(c, iris, score_test=True)
    assert set(scored.test_metrics) == set(CLASSIFICATION_METRICS)


def test_too_many_polynomial_features_fail_with_the_reason():
    from lgt_graph.tasks.base import Dataset, split

    rng = np.random.default_rng(0)
    import pandas as pd

    frame = pd.DataFrame(rng.normal(size=(30, 40)), columns=[f"f{i}" for i in range(40)])
    data = split(TASKS["iris"], Dataset(X=frame, y=np.repeat([0, 1, 2], 10)), seed=0)
    result = train(config(data, polynomial_degree=3), data)
    assert result.status == "failed"
    assert "polynomial_degree=3 would make 12340 features" in result.reason


def test_class_weighted_boosting_cuts_its_bins_as_an_unweighted_fit_and_still_weighs():
    from sklearn.ensemble import HistGradientBoostingClassifier

    from lgt_graph.training.boosting import BoostingClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    y = (X[:, 0] + 0.5 * rng.normal(size=400) > 1.2).astype(int)  # about 12 % positives
    weighted = BoostingClassifier(class_weight="balanced", max_iter=20, random_state=0).fit(X, y)
    plain = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)
    # the bins: the plain quantiles, not scikit-learn's per-feature, per-bin weighted ones
    for ours, theirs in zip(
        weighted._bin_mapper.bin_thresholds_, plain._bin_mapper.bin_thresholds_, strict=True
    ):
        np.testing.assert_array_equal(ours, theirs)
    # the class weights still weigh the fit: the rare class is called more often
    assert weighted.predict(X).sum() > plain.predict(X).sum()


@pytest.fixture(scope="module")
def outliers():
    """A regression target whose tail is one-sided outliers: the mean and the median differ."""
    import pandas as pd

    from lgt_graph.tasks.base import Dataset, Task, split

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (600, 2))
    y = 3 * x[:, 0] + rng.normal(0, 0.1, 600) + (rng.random(600) < 0.15) * 20.0
    task = Task("tail", "tabular_regression", "", lambda d: None, "", lambda d: True,
                ("mae", "rmse", "r2"), "mae")  # fmt: skip
    return split(task, Dataset(X=pd.DataFrame(x, columns=["a", "b"]), y=y), seed=0)


@pytest.mark.parametrize("model", ["gbm", "mlp"])
def test_absolute_error_loss_fits_the_median_and_wins_on_mae(outliers, model):
    common = {"model": model, "n_estimators": 50, "learning_rate": 0.1, "epochs": 40}
    if model == "mlp":
        common["learning_rate"] = 0.01
    squared = train(config(outliers, **common), outliers, seed=0)
    absolute = train(config(outliers, regression_loss="absolute_error", **common), outliers, seed=0)
    assert squared.ok and absolute.ok, (squared.reason, absolute.reason)
    # the squared loss chases the outliers' mean; the median ignores them: a lower MAE
    assert absolute.metrics["mae"] < 0.9 * squared.metrics["mae"], (
        absolute.metrics,
        squared.metrics,
    )


def test_randomized_splits_grow_extremely_randomised_trees(iris, wine_like):
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier

    from lgt_graph.training import prepare_arrays
    from lgt_graph.training.classic import build_classic

    for data, kind in ((iris, ExtraTreesClassifier), (wine_like, ExtraTreesRegressor)):
        chosen = config(data, model="random_forest", randomized_splits=True)
        assert isinstance(build_classic(chosen, prepare_arrays(chosen, data), 0, 1), kind)
    plain = config(iris, model="random_forest")
    assert type(build_classic(plain, prepare_arrays(plain, iris), 0, 1)) is RandomForestClassifier
    forest = train(config(wine_like, model="random_forest", n_estimators=30), wine_like, seed=0)
    extra = train(
        config(wine_like, model="random_forest", n_estimators=30, randomized_splits=True),
        wine_like,
        seed=0,
    )
    assert extra.ok and extra.metrics["r2"] > 0.8  # a good forest, and another one
    assert extra.metrics["mae"] != forest.metrics["mae"]
