"""The configuration space: knobs declared once, grouped in the four dimensions of LGT.

A knob carries its type, range or choices, default and one-line meaning. Validation,
the agents' prompts, the baselines' search distributions and the MLflow params all
derive from these declarations, so a knob added here reaches every tuner.
"""

from __future__ import annotations

import difflib
import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
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

NEURAL_MODELS = ("mlp", "cnn")
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

    def allowed(self) -> str:
        """Describe the allowed values, as shown in errors and prompts."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        noun = "an integer" if self.kind == "int" else "a number"
        scale = ", log scale" if self.log else ""
        return f"{noun} in [{_fmt(self.low)}, {_fmt(self.high)}]{scale}"

    def describe(self) -> str:
        """Return one line: name, allowed values, default, meaning and who reads it."""
        users = f" (used by {', '.join(self.used_by)})" if self.used_by else ""
        return f"{self.name}: {self.allowed()}; default {_fmt(self.default)}. {self.meaning}{users}"

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
            hint = _did_you_mean(str(value), self.choices)
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
            raise ConfigError(f"{self.name}={_fmt(number)} is out of range: {self.allowed()}")
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


@dataclass(frozen=True)
class Change:
    """One knob whose value differs between two configurations."""

    knob: str
    old: Value | None
    new: Value | None

    def __str__(self) -> str:
        return f"{self.knob}: {_fmt(self.old)} -> {_fmt(self.new)}"


class Space:
    """The knobs of one task family, with validation, defaults and differences."""

    def __init__(self, family: Family, knobs: Iterable[Knob]) -> None:
        self.family = family
        self.knobs: dict[str, Knob] = {}
        for knob in knobs:
            if knob.name in self.knobs:
                raise ValueError(f"knob {knob.name!r} declared twice in the {family} space")
            knob.validate(knob.default)
            self.knobs[knob.name] = knob

    def __contains__(self, name: object) -> bool:
        return name in self.knobs

    def __getitem__(self, name: str) -> Knob:
        try:
            return self.knobs[name]
        except KeyError:
            hint = _did_you_mean(name, list(self.knobs))
            raise ConfigError(
                f"unknown knob {name!r} for the {self.family} space{hint}; "
                f"knobs: {', '.join(self.knobs)}"
            ) from None

    def default(self) -> Config:
        """Return the default configuration: the plain, untuned start (the NoTuning baseline)."""
        return {name: knob.default for name, knob in self.knobs.items()}

    def validate(self, config: Mapping[str, object]) -> Config:
        """Return a complete, typed configuration; missing knobs take their defaults."""
        out = self.default()
        for name, value in config.items():
            out[name] = self[name].validate(value)
        return out

    def apply(self, base: Mapping[str, Value], changes: Mapping[str, object]) -> Config:
        """Return ``base`` with ``changes`` applied, every change validated."""
        return self.validate({**base, **changes})

    def parse_assignments(self, assignments: Iterable[str]) -> dict[str, Value]:
        """Parse ``knob=value`` strings (the ``--set`` flag) into validated values."""
        out: dict[str, Value] = {}
        for item in assignments:
            name, sep, text = item.partition("=")
            if not sep or not name.strip():
                raise ConfigError(f"--set expects knob=value, got {item!r}")
            knob = self[name.strip()]
            out[knob.name] = knob.parse(text)
        return out

    def narrowed(self, limits: Mapping[str, Sequence[float]]) -> Space:
        """Return the space with numeric ranges narrowed to ``(low, high)`` (``--limit``).

        Every method of a comparison searches the same narrowed space, e.g. fewer
        epochs for images on a CPU; a default outside the new range moves to its edge.
        """
        unknown = set(limits) - set(self.knobs)
        if unknown:
            self[sorted(unknown)[0]]  # raises the unknown-knob error
        knobs = []
        for knob in self.knobs.values():
            if knob.name in limits:
                if knob.kind not in ("int", "float"):
                    raise ConfigError(f"--limit {knob.name}: only numeric knobs have bounds")
                assert knob.low is not None and knob.high is not None
                low, high = (float(x) for x in limits[knob.name])
                if not knob.low <= low <= high <= knob.high:
                    raise ConfigError(
                        f"--limit {knob.name}={low:g}:{high:g} is not within {knob.allowed()}"
                    )
                cast = int if knob.kind == "int" else float
                default = min(max(float(knob.default), low), high)
                knob = replace(knob, low=cast(low), high=cast(high), default=cast(default))
            knobs.append(knob)
        return Space(self.family, knobs)

    def by_dimension(self) -> dict[Dimension, list[Knob]]:
        """Group the knobs by dimension, in declaration order."""
        groups: dict[Dimension, list[Knob]] = {d: [] for d in DIMENSIONS}
        for knob in self.knobs.values():
            groups[knob.dimension].append(knob)
        return groups

    def active(self, config: Mapping[str, Value]) -> list[Knob]:
        """Return the knobs that the configuration's model actually reads."""
        model = str(config.get("model", ""))
        return [k for k in self.knobs.values() if k.applies_to(model)]

    def describe(self) -> str:
        """Render the space as text, one knob a line, grouped by dimension."""
        lines = []
        for dimension, knobs in self.by_dimension().items():
            lines.append(f"[{dimension}]")
            lines.extend(f"  {k.describe()}" for k in knobs)
        return "\n".join(lines)


def diff(a: Mapping[str, Value], b: Mapping[str, Value]) -> list[Change]:
    """Name the knobs whose values differ from ``a`` to ``b``, in ``a``'s order."""
    names = list(a) + [n for n in b if n not in a]
    return [Change(n, a.get(n), b.get(n)) for n in names if a.get(n) != b.get(n)]


def config_key(config: Mapping[str, Value]) -> str:
    """Return a canonical text form of a configuration, equal for equal configurations."""
    return json.dumps({k: config[k] for k in sorted(config)}, separators=(",", ":"))


def space_for(family: Family) -> Space:
    """Return the configuration space of a task family."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown task family {family!r}; families: {', '.join(FAMILIES)}")
    return Space(family, _knobs(family))


def _knobs(family: Family) -> list[Knob]:
    image = family == "image"
    classification = family != "tabular_regression"
    models = NEURAL_MODELS if image else ("mlp", *TREE_MODELS, "linear")
    neural = ("mlp", "cnn") if image else ("mlp",)
    trees = () if image else TREE_MODELS
    knobs = [
        # architecture
        Knob("model", "architecture", "choice", "mlp",
             "Model family." + (" mlp reads flattened pixels; cnn convolves the image."
                                if image else
                                " mlp is a PyTorch net; gbm is histogram gradient boosting;"
                                " random_forest and linear are scikit-learn models."),
             choices=models),
        Knob("depth", "architecture", "int", 1,
             "Hidden layers of the MLP" + (", or convolution blocks of the CNN." if image else "."),
             low=1, high=6, used_by=neural),
        Knob("width", "architecture", "int", 128 if image else 64,
             "Units in each hidden layer (the CNN's dense head too).",
             low=8, high=1024, log=True, used_by=neural),
        *([Knob("channels", "architecture", "int", 16,
                "Filters of the first convolution block; each later block doubles them.",
                low=4, high=128, log=True, used_by=("cnn",))] if image else []),
        Knob("dropout", "architecture", "float", 0.0,
             "Dropout probability after each hidden layer.", low=0.0, high=0.7, used_by=neural),
        Knob("batch_norm", "architecture", "bool", False,
             "Batch normalisation after each hidden layer.", used_by=neural),
        Knob("activation", "architecture", "choice", "relu", "Hidden-layer nonlinearity.",
             choices=("relu", "gelu", "silu", "tanh", "leaky_relu"), used_by=neural),
        *([Knob("n_estimators", "architecture", "int", 100,
                "Trees in the ensemble (boosting iterations for gbm).",
                low=10, high=1000, log=True, used_by=trees),
           Knob("tree_max_depth", "architecture", "int", 0,
                "Maximum depth of each tree; 0 leaves it unlimited.",
                low=0, high=32, used_by=trees)] if not image else []),
        # training strategy
        Knob("optimizer", "training_strategy", "choice", "sgd" if image else "adam",
             "Gradient-descent optimiser.",
             choices=("sgd", "adam", "adamw", "rmsprop"), used_by=neural),
        Knob("lr_schedule", "training_strategy", "choice", "constant",
             "Learning-rate schedule over the epochs (step divides by 10 at 1/2 and 3/4).",
             choices=("constant", "step", "cosine", "onecycle"), used_by=neural),
        Knob("batch_size", "training_strategy", "int", 64, "Examples per gradient step.",
             low=8, high=1024, log=True, used_by=neural),
        Knob("epochs", "training_strategy", "int", 5 if image else 30,
             "Passes over the training split.", low=1, high=200, used_by=neural),
        Knob("early_stopping_patience", "training_strategy", "int", 0,
             "Stop after this many epochs without a better validation score and keep the best"
             " epoch; 0 turns early stopping off.", low=0, high=30, used_by=neural),
        Knob("grad_clip", "training_strategy", "float", 0.0,
             "Clip the gradient norm to this value; 0 turns clipping off.",
             low=0.0, high=10.0, used_by=neural),
        *([Knob("label_smoothing", "training_strategy", "float", 0.0,
                "Label smoothing of the cross-entropy target.", low=0.0, high=0.3,
                used_by=neural),
           Knob("class_weighting", "training_strategy", "choice", "none",
                "Weight classes inversely to their frequency (balanced) or not.",
                choices=("none", "balanced"))] if classification else []),
        *([Knob("augmentation", "training_strategy", "choice", "none",
                "Random training-time transforms: horizontal flip, shifts of up to 2 pixels,"
                " or both.", choices=("none", "flip", "shift", "flip_shift"))] if image else []),
        # feature engineering
        *([Knob("input_normalization", "feature_engineering", "choice", "scale01",
                "Pixel scaling: raw 0-255, divided by 255, or standardised per channel with"
                " training-split statistics.", choices=("none", "scale01", "standardize"))]
          if image else
          [Knob("imputation", "feature_engineering", "choice", "mean",
                "How missing values are filled, from training-split statistics.",
                choices=("mean", "median", "most_frequent")),
           Knob("scaling", "feature_engineering", "choice", "none",
                "Feature scaling fitted on the training split.",
                choices=("none", "standard", "minmax", "robust", "quantile")),
           Knob("polynomial_degree", "feature_engineering", "int", 1,
                "Add products of features up to this degree; 1 keeps the raw features.",
                low=1, high=3),
           Knob("feature_selection", "feature_engineering", "choice", "none",
                "Keep the features with the highest univariate score (F-test or mutual"
                " information).", choices=("none", "f_test", "mutual_info")),
           Knob("selected_fraction", "feature_engineering", "float", 1.0,
                "Share of the features kept when feature_selection is on.", low=0.1, high=1.0)]),
        *([Knob("target_transform", "feature_engineering", "choice", "none",
                "Transform of the regression target before fitting; predictions are mapped back.",
                choices=("none", "log", "standardize"))] if family == "tabular_regression"
          else []),
        # hyperparameters
        Knob("learning_rate", "hyperparameters", "float", 0.01 if image else 0.001,
             "Step size of the optimiser (shrinkage for gbm).", low=1e-5, high=1.0, log=True,
             used_by=(*neural, "gbm")),
        Knob("weight_decay", "hyperparameters", "float", 0.0,
             "L2 penalty on the weights (decoupled for adamw).", low=0.0, high=0.1,
             used_by=neural),
        Knob("momentum", "hyperparameters", "float", 0.0,
             "Momentum of sgd and rmsprop.", low=0.0, high=0.99, used_by=neural),
        *([Knob("min_samples_leaf", "hyperparameters", "int", 1,
                "Fewest training examples in a tree leaf.", low=1, high=100, log=True,
                used_by=trees),
           Knob("l2_penalty", "hyperparameters", "float", 1.0,
                "L2 penalty of the linear model (Ridge alpha; logistic regression C = 1/l2).",
                low=1e-6, high=100.0, log=True, used_by=("linear",))] if not image else []),
    ]  # fmt: skip
    return knobs


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _did_you_mean(name: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
