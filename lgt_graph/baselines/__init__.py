"""The baselines LGT is compared with: NoTuning, random, grid, Bayesian (Optuna) and NAS.

Each is a searcher with two methods, ``ask()`` for the next configuration (None when it
has nothing left) and ``tell(config, score)`` for its validation score (None when the
trial failed). They search the same space from the same default configuration under the
same trial budget as LGT; :func:`lgt_graph.baselines.driver.run_search` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from lgt_graph.space import Config, Space


class Searcher(Protocol):
    """A tuning method driven one trial at a time."""

    def ask(self) -> Config | None:
        """Return the next configuration to train, or None when the method is done."""

    def tell(self, config: Config, score: float | None) -> None:
        """Report the validation score of a configuration (None: the trial failed)."""


def _searchers() -> dict[str, Callable[..., Searcher]]:
    from lgt_graph.baselines.evolution import ArchitectureEvolution
    from lgt_graph.baselines.grid import GridSearch
    from lgt_graph.baselines.optuna_search import OptunaSearch
    from lgt_graph.baselines.simple import NoTuning

    return {
        "none": NoTuning,
        "random": lambda space, **kw: OptunaSearch(space, sampler="random", **kw),
        "grid": GridSearch,
        "bayes": OptunaSearch,
        "nas": ArchitectureEvolution,
    }


METHODS = ("none", "random", "grid", "bayes", "nas")


def make_searcher(
    method: str, space: Space, budget: int, seed: int, maximize: bool, **options: Any
) -> Searcher:
    """Build the searcher of a baseline method."""
    from lgt_graph.errors import UserError

    table = _searchers()
    if method not in table:
        raise UserError(f"unknown method {method!r}; methods: lgt, {', '.join(METHODS)}")
    return table[method](space, budget=budget, seed=seed, maximize=maximize, **options)
