import pytest

from lgt_graph.errors import ConfigError
from lgt_graph.space import DIMENSIONS, FAMILIES, Change, config_key, diff, shape, space_for

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
    assert space_for("image")["model"].choices == ("mlp", "cnn")
    assert set(space_for("tabular_regression")["model"].choices) == {
        "mlp",
        "gbm",
        "random_forest",
        "linear",
    }
    assert "augmentation" not in space_for("tabular_classification")
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
