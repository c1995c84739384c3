"""A knob: one tunable setting, its type, range or choices, default and one-line meaning."""

from __future__ import annotations

import difflib
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from lgt_graph.errors import ConfigError

Value = bool | int | float | str
Config = dict[str, Value]
Kind = Literal["int", "float", "bool", "choice"]
Dimension = Literal["architecture", "training_strategy", "feature_engineering", "hyperparameters"]
Family = Literal["image", "tabular_classification", "tabular_regression"]

DIMENSIONS: tuple[Dimension, ...] = (
    "architecture",
    "training_strategy",
    "feature_engineering",
    "hyperparameters",
)
FAMILIES: tuple[Family, ...] = ("image", "tabular_classification", "tabular_regression")

NEURAL_MODELS = ("mlp", "cnn", "resnet")
CONV_MODELS = ("cnn", "resnet")
TREE_MODELS = ("gbm", "random_forest")

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass(frozen=True)
class Knob:
    """One tunable setting: what it is, what values it takes, and what it means."""

    name: str
    dimension: Dimension
    kind: Kind
    default: Value
    meaning: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[str, ...] = ()
    used_by: tuple[str, ...] = ()
    """Model families that read this knob; empty means every model does."""
    when: tuple[str, tuple[str, ...]] | None = None
    """``(knob, values)``: the knob is read only while that other knob, declared before it,
    takes one of ``values`` (momentum by sgd and rmsprop alone); None: always."""
    live: bool = False
    """Whether the knob can change in the middle of a training run (``--loop epoch``): the
    weights carry over. Architecture, features and model family cannot."""

    def allowed(self) -> str:
        """Describe the allowed values, as shown in errors and prompts."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        noun = "an integer" if self.kind == "int" else "a number"
        scale = ", log scale" if self.log else ""
        return f"{noun} in [{fmt(self.low)}, {fmt(self.high)}]{scale}"

    def describe(self) -> str:
        """Return one line: name, allowed values, default, meaning and who reads it."""
        notes = [f"used by {', '.join(self.used_by)}"] if self.used_by else []
        if self.when is not None:
            notes.append(f"read only when {self.when[0]} is {' or '.join(self.when[1])}")
        users = f" ({'; '.join(notes)})" if notes else ""
        return f"{self.name}: {self.allowed()}; default {fmt(self.default)}. {self.meaning}{users}"

    def parse(self, text: str) -> Value:
        """Turn command-line text into a validated value."""
        raw = text.strip()
        value: Value
        if self.kind == "bool":
            if raw.lower() in _TRUE:
                value = True
            elif raw.lower() in _FALSE:
                value = False
            else:
                raise ConfigError(f"{self.name}={text!r} is not {self.allowed()}")
        elif self.kind == "int":
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"{self.name}={text!r} is not {self.allowed()}") from None
        elif self.kind == "float":
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(f"{self.name}={text!r} is not {self.allowed()}") from None
        else:
            value = raw
        return self.validate(value)

    def validate(self, value: object) -> Value:
        """Return ``value`` in this knob's type, or raise ConfigError naming what is allowed."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise ConfigError(f"{self.name}={value!r} has the wrong type: expected true or false")
        if self.kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            hint = did_you_mean(str(value), self.choices)
            raise ConfigError(f"{self.name}={value!r} is not {self.allowed()}{hint}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(
                f"{self.name}={value!r} has the wrong type: expected {self.allowed()}"
            )
        if self.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ConfigError(f"{self.name}={value!r} is not {self.allowed()}")
            number: int | float = int(value)
        else:
            number = float(value)
            if not math.isfinite(number):
                raise ConfigError(f"{self.name}={value!r} is not {self.allowed()}")
        assert self.low is not None and self.high is not None
        if not self.low <= number <= self.high:
            raise ConfigError(f"{self.name}={fmt(number)} is out of range: {self.allowed()}")
        return number

    def sample(self, rng: random.Random) -> Value:
        """Draw a value uniformly over the range (log-uniformly on a log scale) or choices."""
        if self.kind == "choice":
            return rng.choice(self.choices)
        if self.kind == "bool":
            return rng.random() < 0.5
        assert self.low is not None and self.high is not None
        if self.log:
            x = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            x = rng.uniform(self.low, self.high)
        if self.kind == "int":
            return int(min(max(round(x), int(self.low)), int(self.high)))
        return float(x)

    def applies_to(self, model: str) -> bool:
        """Say whether a configuration whose model is ``model`` reads this knob."""
        return not self.used_by or model in self.used_by

    def active_in(self, config: Mapping[str, Value]) -> bool:
        """Say whether ``config`` reads this knob: its model does, and its ``when`` holds.

        A configuration without the knob that ``when`` names (a space that left it out)
        cannot tell, and counts the knob as read.
        """
        if not self.applies_to(str(config.get("model", ""))):
            return False
        if self.when is None or self.when[0] not in config:
            return True
        return config[self.when[0]] in self.when[1]


@dataclass(frozen=True)
class Change:
    """One knob whose value differs between two configurations."""

    knob: str
    old: Value | None
    new: Value | None

    def __str__(self) -> str:
        return f"{self.knob}: {fmt(self.old)} -> {fmt(self.new)}"


def fmt(value: object) -> str:
    """Show a value as the command line writes it (true/false, 0.001)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """Return a hint naming the closest option, or nothing."""
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
