"""A study's distributions as knobs, and proposed values repaired back inside them."""

import math

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from lgt_graph.errors import ConfigError
from lgt_graph.optuna.space import config_of, params_of, space_of, to_distribution

DISTRIBUTIONS = {
    "C": FloatDistribution(1e-3, 1e3, log=True),
    "dropout": FloatDistribution(0.0, 0.5, step=0.1),
    "depth": IntDistribution(2, 12, step=2),
    "trees": IntDistribution(10, 1000, log=True),
    "kernel": CategoricalDistribution(["rbf", "linear", None, 3]),
    "shrinking": CategoricalDistribution([False, True]),
}


def test_each_distribution_becomes_a_knob_with_its_range_scale_and_choices():
    space = space_of(DISTRIBUTIONS)
    c, dropout, depth = space["C"], space["dropout"], space["depth"]
    assert (c.kind, c.low, c.high, c.log) == ("float", 1e-3, 1e3, True)
    assert math.isclose(float(c.default), 1.0)  # the middle on a log scale
    assert (dropout.kind, dropout.default) == ("float", 0.3)  # 0.25 to the step of 0.1, half up
    assert (depth.kind, depth.low, depth.high, depth.default) == ("int", 2, 12, 8)
    assert space["trees"].log and space["trees"].default == 100
    assert space["kernel"].choices == ("rbf", "linear", "None", "3")
    assert space["shrinking"].kind == "bool"
    ints = space_of({"n": CategoricalDistribution([0, 1])})["n"]  # 0 == False, yet ints
    assert (ints.kind, ints.choices) == ("choice", ("0", "1"))
    # a trial's params become the defaults: the base the agents change from
    based = space_of(DISTRIBUTIONS, {"C": 10.0, "kernel": None, "shrinking": True})
    assert based["C"].default == 10.0 and based["kernel"].default == "None"
    assert based["shrinking"].default is True


def test_a_proposed_value_is_repaired_into_its_distribution_or_refused():
    assert to_distribution(DISTRIBUTIONS["C"], 5e6) == 1e3  # clipped
    assert to_distribution(DISTRIBUTIONS["C"], "0.5") == 0.5  # text read as a number
    assert to_distribution(DISTRIBUTIONS["dropout"], 0.26) == pytest.approx(0.3)  # to the step
    assert (
        to_distribution(DISTRIBUTIONS["depth"], 7.2) == 8
        and to_distribution(DISTRIBUTIONS["depth"], 99) == 12
    )
    assert to_distribution(IntDistribution(1, 9, step=4), 8) == 9  # the nearest step, half up
    assert to_distribution(DISTRIBUTIONS["kernel"], "None") is None  # by its text
    assert to_distribution(DISTRIBUTIONS["kernel"], "3") == 3
    assert to_distribution(DISTRIBUTIONS["shrinking"], "true") is True
    for distribution, bad in [
        (DISTRIBUTIONS["kernel"], "poly"),
        (DISTRIBUTIONS["C"], "large"),
        (DISTRIBUTIONS["C"], float("nan")),
    ]:
        with pytest.raises(ConfigError):
            to_distribution(distribution, bad)


def test_params_and_configurations_go_both_ways():
    space = space_of(DISTRIBUTIONS)
    params = {"C": 2.0, "dropout": 0.1, "depth": 4, "trees": 50, "kernel": 3, "shrinking": False}
    config = config_of(params, space)
    assert config["kernel"] == "3" and config["C"] == 2.0
    assert space.validate(config) == config  # every value a valid knob value
    assert params_of(config, DISTRIBUTIONS) == params
