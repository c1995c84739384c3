"""NAS: regularized evolution over the architecture knobs (Real et al., 2019).

Only knobs of the architecture dimension change; training strategy, feature engineering
and hyperparameters stay at their defaults. A population starts from the default and
random architectures; each step picks the best of a random sample, mutates one of its
architecture knobs, trains the child and retires the oldest member.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

from lgt_graph.evaluation.metrics import oriented
from lgt_graph.space import Config, Space, config_key

TOURNAMENT = 3
RETRIES = 100


class ArchitectureEvolution:
    """Aging evolution over architectures, with the rest of the configuration fixed."""

    def __init__(self, space: Space, budget: int, seed: int, maximize: bool, **_: Any) -> None:
        self.space = space
        self.rng = random.Random(seed)
        self.maximize = maximize
        self.population: deque[tuple[Config, float | None]] = deque()
        self.size = max(3, budget // 4)
        self.tried: set[str] = set()
        self.names = [k.name for k in space.knobs.values() if k.dimension == "architecture"]

    def _random(self) -> Config:
        config = self.space.default()
        if "model" in self.names:
            config["model"] = self.space["model"].sample(self.rng)
        for name in self.names:
            knob = self.space[name]
            if name != "model" and knob.applies_to(str(config.get("model"))):
                config[name] = knob.sample(self.rng)
        return self.space.validate(config)

    def _mutate(self, parent: Config) -> Config:
        child = dict(parent)
        movable = [n for n in self.names if self.space[n].applies_to(str(parent.get("model")))]
        name = self.rng.choice(movable)
        knob = self.space[name]
        value = knob.sample(self.rng)
        for _ in range(10):
            if value != parent[name]:
                break
            value = knob.sample(self.rng)
        child[name] = value
        return self.space.validate(child)

    def _score(self, entry: tuple[Config, float | None]) -> float:
        score = entry[1]
        if score is None:
            return float("-inf")
        return oriented(score, self.maximize)

    def ask(self) -> Config | None:
        """Return the next architecture: default, random ones, then mutated tournament winners."""
        for _ in range(RETRIES):
            if not self.tried:
                config = self.space.default()
            elif len(self.tried) < self.size or not self.population:
                config = self._random()
            else:
                sample = self.rng.sample(
                    list(self.population), min(TOURNAMENT, len(self.population))
                )
                config = self._mutate(max(sample, key=self._score)[0])
            if config_key(config) not in self.tried:
                self.tried.add(config_key(config))
                return config
        return None

    def tell(self, config: Config, score: float | None) -> None:
        """Add the trained architecture to the population; retire the oldest beyond its size."""
        self.population.append((config, score))
        if len(self.population) > self.size:
            self.population.popleft()
