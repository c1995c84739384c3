import numpy as np
import pandas as pd
import pytest

from lgt_graph.context import Settings
from lgt_graph.errors import ConfigError
from lgt_graph.session import run_session
from lgt_graph.session.opening import open_task
from lgt_graph.space import DIMENSIONS, FAMILIES, Change, config_key, diff, shape, space_for
from lgt_graph.tasks import get_task, load_task_data
from lgt_graph.training import train
from tests.conftest import needs_data

REQUIRED = {
    "image": {
        "model",
        "depth",
        "width",
        "channels",
        "dropout",
        "batch_norm",
        "activation",
        "optimizer",
        "lr_schedule",
        "batch_size",
        "epochs",
        "early_stopping_patience",
        "label_smoothing",
        "augmentation",
        "class_weighting",
        "input_normalization",
        "learning_rate",
        "weight_decay",
        "momentum",
    },
    "tabular_classification": {
        "model",
        "depth",
        "width",
        "dropout",
        "batch_norm",
        "activation",
        "optimizer",
        "lr_schedule",
        "batch_size",
        "epochs",
        "early_stopping_patience",
        "label_smoothing",
        "class_weighting",
        "imputation",
        "scaling",
        "polynomial_degree",
        "feature_selection",
        "learning_rate",
        "weight_decay",
        "momentum",
        "n_estimators",
        "tree_max_depth",
    },
    "tabular_regression": {
        "model",
        "depth",
        "width",
        "dropout",
        "batch_norm",
        "activation",
        "optimizer",
        "lr_schedule",
        "batch_size",
        "epochs",
        "early_stopping_patience",
        "imputation",
        "scaling",
        "polynomial_degree",
        "feature_selection",
        "target_transform",
        "learning_rate",
        "weight_decay",
        "momentum",
    },
}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_covers_the_four_dimensions_and_the_required_knobs(family):
    space = space_for(family)
    groups = space.by_dimension()
    assert set(groups) == set(DIMENSIONS)
    assert all(groups[d] for d in DIMENSIONS)
    assert REQUIRED[family] <= set(space.knobs)
    for knob in space.knobs.values():
        assert knob.meaning.endswith(".")
        assert knob.name in space.describe()


@pytest.mark.parametrize("family", FAMILIES)
def test_default_configuration_is_valid_and_plain(family):
    space = space_for(family)
    default = space.default()
    assert space.validate(default) == default
    assert default["model"] == "mlp"
    assert default["dropout"] == 0.0 and default["batch_norm"] is False
    assert default["lr_schedule"] == "constant" and default["early_stopping_patience"] == 0
    if family == "tabular_regression":  # a net regresses standardised features and target
        assert default["scaling"] == "standard" and default["target_transform"] == "standardize"


def test_model_choices_per_family():
    assert space_for("image")["model"].choices == ("mlp", "cnn", "resnet")
    assert set(space_for("tabular_regression")["model"].choices) == {
        "mlp",
        "gbm",
        "random_forest",
        "linear",
    }
    assert "augmentation" not in space_for("tabular_classification")
    for knob in ("crop_padding", "cutout", "ema", "test_time_flip", "nesterov", "stages"):
        assert knob not in space_for("tabular_classification")  # the image family's
    assert "target_transform" not in space_for("tabular_classification")
    assert "label_smoothing" not in space_for("tabular_regression")


def test_unknown_knob_lists_what_is_allowed():
    space = space_for("tabular_classification")
    with pytest.raises(ConfigError) as err:
        space.validate({"learnig_rate": 0.1})
    message = str(err.value)
    assert "unknown knob 'learnig_rate'" in message
    assert "did you mean 'learning_rate'" in message
    assert "knobs: model, depth" in message


@pytest.mark.parametrize(
    ("knob", "value", "expected"),
    [
        ("depth", 9, "depth=9 is out of range: an integer in [1, 6]"),
        ("depth", 2.5, "depth=2.5 is not an integer in [1, 6]"),
        ("depth", "3", "depth='3' has the wrong type: expected an integer in [1, 6]"),
        ("learning_rate", 0.0, "out of range: a number in [1e-05, 1], log scale"),
        ("learning_rate", float("nan"), "is not a number in [1e-05, 1]"),
        ("dropout", True, "has the wrong type"),
        ("batch_norm", 1, "batch_norm=1 has the wrong type: expected true or false"),
        ("optimizer", "adamm", "is not one of sgd, adam, adamw, rmsprop (did you mean 'adam'?)"),
    ],
)
def test_bad_values_are_rejected_with_the_allowed_range(knob, value, expected):
    space = space_for("image")
    with pytest.raises(ConfigError) as err:
        space.apply(space.default(), {knob: value})
    assert expected in str(err.value)


def test_integral_floats_become_ints_and_ints_become_floats():
    space = space_for("image")
    config = space.apply(space.default(), {"depth": 3.0, "dropout": 0})
    assert config["depth"] == 3 and isinstance(config["depth"], int)
    assert isinstance(config["dropout"], float)


def test_parse_assignments_from_the_command_line():
    space = space_for("image")
    parsed = space.parse_assignments(
        ["model=cnn", "depth=3", "dropout=0.25", "batch_norm=yes", " learning_rate = 3e-3"]
    )
    assert parsed == {
        "model": "cnn",
        "depth": 3,
        "dropout": 0.25,
        "batch_norm": True,
        "learning_rate": 0.003,
    }
    for bad, message in [
        ("depth", "--set expects knob=value, got 'depth'"),
        ("=3", "--set expects knob=value"),
        ("depth=three", "depth='three' is not an integer in [1, 6]"),
        ("batch_norm=maybe", "batch_norm='maybe' is not true or false"),
        ("colour=red", "unknown knob 'colour'"),
    ]:
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            space.parse_assignments([bad])


def test_diff_names_what_changed():
    space = space_for("tabular_regression")
    a = space.default()
    b = space.apply(a, {"model": "gbm", "learning_rate": 0.1})
    assert diff(a, b) == [Change("model", "mlp", "gbm"), Change("learning_rate", 0.001, 0.1)]
    assert str(diff(a, b)[0]) == "model: mlp -> gbm"
    assert diff(a, a) == []


def test_config_key_ignores_order():
    space = space_for("image")
    a = space.default()
    b = dict(reversed(list(a.items())))
    assert config_key(a) == config_key(b)
    assert config_key(a) != config_key(space.apply(a, {"depth": 2}))


def test_active_knobs_follow_the_model():
    space = space_for("tabular_classification")
    linear = space.apply(space.default(), {"model": "linear"})
    names = {k.name for k in space.active(linear)}
    assert "l2_penalty" in names and "scaling" in names
    assert "learning_rate" not in names and "n_estimators" not in names


def test_momentum_and_the_selected_fraction_count_only_where_the_configuration_reads_them():
    space = space_for("tabular_classification")
    adam = space.apply(space.default(), {"optimizer": "adam", "momentum": 0.9})
    sgd = space.apply(adam, {"optimizer": "sgd"})
    assert "momentum" not in {k.name for k in space.active(adam)}
    assert "momentum" in {k.name for k in space.active(sgd)}
    assert space.changed(adam) == []  # adam is the default: nothing trains differently
    assert space.changed(sgd) == [Change("optimizer", "adam", "sgd"), Change("momentum", 0, 0.9)]
    half = space.apply(space.default(), {"selected_fraction": 0.5})
    assert space.changed(half) == []
    assert [c.knob for c in space.changed(space.apply(half, {"feature_selection": "f_test"}))] == [
        "feature_selection",
        "selected_fraction",
    ]
    assert "read only when optimizer is sgd or rmsprop" in space["momentum"].describe()


def test_the_data_shapes_the_space_for_every_method():
    space = space_for("tabular_classification")
    shaped, notes = shape.shaped(space, rows=40, numeric=30)
    assert (shaped["polynomial_degree"].low, shaped["polynomial_degree"].high) == (1, 2)
    assert shape.polynomial_features(30, 3) > shape.MAX_FEATURES >= shape.polynomial_features(30, 2)
    assert shaped["min_samples_leaf"].high == 20 and shaped["batch_size"].high == 40
    assert notes == [
        "space: batch_size at most 40 (the 40 training examples)",
        "space: polynomial_degree at most 2 (degree 3 would make 5455 features from 30 numeric"
        " columns (limit 5000))",
        "space: min_samples_leaf at most 20 (half of the 40 training examples)",
    ]
    # a default past the new bound moves to it: still one first trial, alike for every method
    assert shaped.default() == {**space.default(), "batch_size": 40}
    with pytest.raises(ConfigError, match="polynomial_degree"):
        shaped.validate({**shaped.default(), "polynomial_degree": 3})
    # a small table with few columns takes the whole range
    roomy, none = shape.shaped(space, rows=5000, numeric=8)
    assert none == [] and roomy["polynomial_degree"].high == 3


def test_a_target_that_reaches_minus_one_takes_no_log_transform():
    space = space_for("tabular_regression")
    assert "log" in space["target_transform"].choices
    shaped, notes = shape.shaped(space, rows=5000, numeric=8, target_low=-36.6)
    assert shaped["target_transform"].choices == ("none", "standardize")
    assert notes == [
        "space: target_transform without log (the training target reaches -36.6;"
        " log1p needs every target above -1)"
    ]
    with pytest.raises(ConfigError, match="target_transform"):
        shaped.validate({**shaped.default(), "target_transform": "log"})
    # a target above -1 keeps it, and so does a classification task (no target_low)
    kept, none = shape.shaped(space, rows=5000, numeric=8, target_low=-0.5)
    assert none == [] and "log" in kept["target_transform"].choices


@needs_data
def test_knobs_the_data_makes_inert_are_left_out_of_the_session_space(store_uri, tmp_path):
    # iris: no value missing and three classes of 32 training examples each, so neither the
    # imputation strategy nor class weights change a fit; a short session never tries them
    outcome = run_session(
        Settings.resolve(
            task="iris",
            method="random",
            budget=3,
            limits={"epochs": (1, 5)},
            tracking_uri=store_uri,
        ),
        checkpoints=str(tmp_path / "ck.db"),
        echo=lambda line: None,
    )
    assert "imputation" not in outcome.ctx.space and "class_weighting" not in outcome.ctx.space
    assert (
        "space: imputation left out (no number is missing in the training and validation rows:"
        " every strategy fits the same model; a gap in the held-out test rows is filled with"
        " the mean)" in outcome.ctx.data.notes
    )
    assert (
        "space: class_weighting left out (the 3 classes are equally frequent in the training"
        " split (32 examples each), so balanced weights are all 1)" in outcome.ctx.data.notes
    )
    trials = outcome.values["trials"]
    assert len(trials) == 3 and outcome.values["final"]["status"] == "ok"
    for trial in trials:
        assert not {"imputation", "class_weighting"} & set(trial["config"])
        assert not {c["knob"] for c in trial["changes"]} & {"imputation", "class_weighting"}
    # a knob the user sets stays, with the user's value
    _, kept, _, _ = open_task(Settings.resolve(task="iris", start={"imputation": "median"}))
    assert kept["imputation"].default == "median" and "class_weighting" not in kept
    # water keeps its missing values and its unequal classes: both knobs are searched
    _, water, _, _ = open_task(Settings.resolve(task="water"))
    assert "imputation" in water and "class_weighting" in water


def test_a_gap_in_the_held_out_rows_alone_is_filled_with_the_default(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    frame["y"] = (frame["a"] + frame["b"] > 0).astype(int)
    path = tmp_path / "gap.csv"
    frame.to_csv(path, index=False)
    task = get_task(f"csv:{path}", "y")
    # the split depends on the labels alone: a gap written into a test row stays there
    frame.loc[load_task_data(task, 0).index["test"][0], "a"] = np.nan
    frame.to_csv(path, index=False)
    data = load_task_data(task, 0)
    space, _ = shape.shaped_by_data(space_for(task.family), data)
    assert "imputation" not in space
    config = space.apply(space.default(), {"model": "linear"})
    with data.open_test():  # as the final refit scores the best configuration
        assert int(data.X_test["a"].isna().sum()) == 1
        result = train(config, data, score_test=True)
    assert result.ok and np.isfinite(list(result.test_metrics.values())).all()
