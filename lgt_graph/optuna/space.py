"""An Optuna study's distributions as LGT knobs, and the agents' values back inside them.

A float or int distribution becomes a numeric knob with its range and log scale; a
categorical one a choice knob (its choices written as text, read back by position), or a
true/false knob when its choices are exactly the two booleans. A value the agents propose
is repaired into its distribution — clipped to the range, snapped to the step, cast — or
refused when it cannot be (an unknown choice), so a proposal never leaves the study's space.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from lgt_graph.errors import ConfigError
from lgt_graph.space import Knob, Space, Value

_MIDDLE: Any = object()
"""No default given: a knob starts at its distribution's middle (its first choice)."""
FAMILY = "tabular_classification"
"""The family a study's space is filed under: a name only (no knob reads it)."""


def distribution_of(knob: Knob) -> BaseDistribution:
    """Return the distribution a define-by-run objective suggests one of our knobs with."""
    if knob.kind == "choice":
        return CategoricalDistribution(list(knob.choices))
    if knob.kind == "bool":
        return CategoricalDistribution([False, True])
    assert knob.low is not None and knob.high is not None
    if knob.kind == "int":
        return IntDistribution(int(knob.low), int(knob.high), log=knob.log)
    return FloatDistribution(knob.low, knob.high, log=knob.log)


def knob_of(name: str, distribution: BaseDistribution, default: Any = _MIDDLE) -> Knob:
    """Return the knob of one distribution; ``default`` (a value of it) or its middle."""
    meaning = f"The study's parameter {name!r} ({type(distribution).__name__})."
    if isinstance(distribution, CategoricalDistribution):
        choices = tuple(distribution.choices)
        if len(choices) == 2 and all(isinstance(c, bool) for c in choices):  # not 0 and 1
            value = bool(default) if default is not _MIDDLE else bool(choices[0])
            return Knob(name, "hyperparameters", "bool", value, meaning)
        texts = tuple(choice_text(c) for c in choices)
        chosen = choice_text(default) if default is not _MIDDLE else texts[0]
        return Knob(name, "hyperparameters", "choice", chosen, meaning, choices=texts)
    if isinstance(distribution, IntDistribution | FloatDistribution):
        low, high = distribution.low, distribution.high
        middle = math.sqrt(low * high) if distribution.log else (low + high) / 2
        value = to_distribution(distribution, middle if default is _MIDDLE else default)
        if isinstance(distribution, IntDistribution):
            return Knob(name, "hyperparameters", "int", value, meaning, low, high, distribution.log)
        return Knob(name, "hyperparameters", "float", value, meaning, low, high, distribution.log)
    raise ConfigError(f"parameter {name!r}: {type(distribution).__name__} is not supported")


def space_of(
    distributions: Mapping[str, BaseDistribution], defaults: Mapping[str, Any] | None = None
) -> Space:
    """Return the study's parameters as a space (defaults: a trial's params, or the middles)."""
    chosen = dict(defaults or {})
    knobs = [knob_of(n, d, chosen.get(n, _MIDDLE)) for n, d in sorted(distributions.items())]
    return Space(FAMILY, knobs)  # type: ignore[arg-type]


def choice_text(value: Any) -> str:
    """Write a categorical choice as the text a knob offers (strings as they are)."""
    return value if isinstance(value, str) else repr(value)


def to_distribution(distribution: BaseDistribution, value: Any) -> Any:
    """Return ``value`` repaired into ``distribution``: clipped, snapped to its step, cast.

    Raise ConfigError when it cannot be: a choice the distribution does not have, or text
    that is not a number.
    """
    if isinstance(distribution, CategoricalDistribution):
        for choice in distribution.choices:
            if choice == value or choice_text(choice) == value:
                return choice
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return to_distribution(distribution, value.strip().lower() == "true")
        offered = ", ".join(choice_text(c) for c in distribution.choices)
        raise ConfigError(f"{value!r} is not one of the choices ({offered})")
    assert isinstance(distribution, IntDistribution | FloatDistribution)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ConfigError(f"{value!r} is not a finite number")
    low, high = distribution.low, distribution.high
    number = min(max(number, low), high)
    step = distribution.step
    if step is not None:
        number = low + math.floor((number - low) / step + 0.5) * step  # half up
        number = min(number, low + math.floor((high - low) / step + 1e-9) * step)
        number = round(number, 12)  # 0.1 * 3 is 0.30000000000000004
    if isinstance(distribution, IntDistribution):
        return round(number)
    return float(number)


def inside(distribution: BaseDistribution, value: Any) -> bool:
    """Say whether ``value`` is one of ``distribution``'s values (in range, on its step)."""
    try:
        return bool(distribution._contains(distribution.to_internal_repr(value)))
    except (TypeError, ValueError):
        return False


def params_of(
    config: Mapping[str, Value], distributions: Mapping[str, BaseDistribution]
) -> dict[str, Any]:
    """Return a configuration of knobs as the study's parameters, each inside its distribution."""
    return {name: to_distribution(d, config[name]) for name, d in distributions.items()}


def config_of(params: Mapping[str, Any], space: Space) -> dict[str, Value]:
    """Return a trial's parameters as a configuration of the space's knobs."""
    config = space.default()
    for name, value in params.items():
        if name in space:
            knob = space[name]
            config[name] = choice_text(value) if knob.kind == "choice" else value
    return config
