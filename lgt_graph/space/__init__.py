"""The configuration space: knobs declared once, grouped in the four dimensions of LGT.

A knob carries its type, range or choices, default and one-line meaning. Validation,
the agents' prompts, the baselines' search distributions and the MLflow params all
derive from these declarations, so a knob added here reaches every tuner.

- :mod:`~lgt_graph.space.knob`: a knob, and the types of values and configurations.
- :mod:`~lgt_graph.space.family_space`: a family's space: validate, apply, narrow, diff.
- :mod:`~lgt_graph.space.families`: the knobs of each family, declared once.
"""

from lgt_graph.space.families import space_for
from lgt_graph.space.family_space import Space, config_key, diff
from lgt_graph.space.knob import (
    CONV_MODELS,
    DIMENSIONS,
    FAMILIES,
    NEURAL_MODELS,
    TREE_MODELS,
    Change,
    Config,
    Dimension,
    Family,
    Kind,
    Knob,
    Value,
)

__all__ = [
    "CONV_MODELS",
    "DIMENSIONS",
    "FAMILIES",
    "NEURAL_MODELS",
    "TREE_MODELS",
    "Change",
    "Config",
    "Dimension",
    "Family",
    "Kind",
    "Knob",
    "Space",
    "Value",
    "config_key",
    "diff",
    "space_for",
]
