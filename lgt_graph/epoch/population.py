"""Population Based Training's exploit and explore (Jaderberg et al. 2017), as Ray Tune does them.

A population of nets trains side by side over the live knobs of the epoch-level loop.
Each member trains a segment in turn; when every member has trained one (a round), the
bottom quantile of members by validation score copies the weights and configuration of a
member drawn from the top quantile (*exploit*), then perturbs that configuration
(*explore*). The settings are Ray Tune's ``PopulationBasedTraining`` defaults:
``quantile_fraction`` 0.25 (at most half the population), ``resample_probability`` 0.25,
perturbation factors 1.2 and 0.8; a choice moves to a neighbouring value, as Ray Tune moves
along a list. The members' first configurations are the default (member 0, so that every
method starts where LGT does) and random draws of the live knobs (the others), as in the
paper. Everything is a function of the state and the seed, so a resumed session continues
the very same population.
"""

from __future__ import annotations

import math
import random
from typing import Any

from lgt_graph.evaluation.metrics import oriented
from lgt_graph.space import Config, Knob, Space

POPULATION = 4
"""Members of the population (``--node advisor=pbt?population=8``)."""
QUANTILE = 0.25
"""Ray Tune's ``quantile_fraction``: the share of members that exploit, and that are copied."""
RESAMPLE = 0.25
"""Ray Tune's ``resample_probability``: explore draws a knob afresh instead of perturbing it."""
FACTORS = (1.2, 0.8)
"""Ray Tune's ``perturbation_factors``: explore multiplies a number by one of these."""


def mutable(space: Space, config: Config) -> list[Knob]:
    """Return the live knobs that ``config`` reads: what PBT may change during a run."""
    return [k for k in space.live() if k.active_in(config)]


def first_configs(space: Space, size: int, rng: random.Random) -> list[Config]:
    """Return the members' first configurations: the default, then random live knobs."""
    default = space.default()
    configs = [dict(default)]
    for _ in range(size - 1):
        config = dict(default)
        for knob in mutable(space, config):
            config[knob.name] = _short(knob, knob.sample(rng))
        configs.append(space.validate(config))
    return configs


def quantiles(
    scores: list[float | None], maximize: bool, fraction: float
) -> tuple[list[int], list[int]]:
    """Return the members of the bottom and of the top quantile (as Ray Tune's ``_quantiles``).

    A member without a score (it failed, or diverged) ranks below every scored one.
    """
    if len(scores) <= 1:
        return [], []
    order = sorted(
        range(len(scores)),
        key=lambda i: -math.inf if scores[i] is None else oriented(scores[i], maximize),  # type: ignore[arg-type]
    )
    size = min(math.ceil(len(scores) * fraction), len(scores) // 2)
    return order[:size], order[-size:]


def explore(
    config: Config, space: Space, rng: random.Random, resample: float = RESAMPLE
) -> tuple[Config, dict[str, str]]:
    """Perturb every mutable knob of ``config``; return it and, per knob, how it moved."""
    out = dict(config)
    how: dict[str, str] = {}
    for knob in mutable(space, out):
        old = out[knob.name]
        if rng.random() < resample:
            new: Any = knob.sample(rng)
            what = "resampled"
        elif knob.kind in ("choice", "bool"):
            values: list[Any] = list(knob.choices) if knob.kind == "choice" else [False, True]
            at = values.index(old) + rng.choice((-1, 1))
            new = values[min(max(at, 0), len(values) - 1)]
            what = "moved to a neighbouring value"
        else:
            factor = rng.choice(FACTORS)
            assert knob.low is not None and knob.high is not None
            new = min(max(float(old) * factor, knob.low), knob.high)
            new = round(new) if knob.kind == "int" else new
            what = f"×{factor:g}"
        out[knob.name] = new = _short(knob, new)
        if new != old:
            how[knob.name] = what
    return space.validate(out), how


def _short(knob: Knob, value: Any) -> Any:
    """Keep four significant digits of a float drawn or multiplied, inside the knob's range."""
    if not isinstance(value, float) or knob.kind != "float":
        return value
    assert knob.low is not None and knob.high is not None
    return min(max(float(f"{value:.4g}"), knob.low), knob.high)
