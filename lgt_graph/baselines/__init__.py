"""The baselines' searchers: NoTuning, random, grid, Bayesian (Optuna) and NAS.

A searcher has two methods, ``ask()`` for the next configuration (None when it has
nothing left) and ``tell(config, score)`` for its validation score (None when the
trial failed). A multi-fidelity searcher also has ``monitor(config)``, the judge that may stop
a trial between its epochs (:class:`PruningSearcher`).
The Advisor node :mod:`nodes.search` drives one inside the LGT graph,
telling it every result it finds in the session's trial history; the method table
(:mod:`lgt_graph.graph.methods`) names each searcher. A new baseline is a module here with
a class taking ``(space, budget, seed, maximize, **options)`` and one line there.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from lgt_graph.graph.methods import method
from lgt_graph.space import Config, Space


class Searcher(Protocol):
    """A tuning method driven one trial at a time."""

    def ask(self) -> Config | None:
        """Return the next configuration to train, or None when the method is done."""

    def tell(self, config: Config, score: float | None) -> None:
        """Report the validation score of a configuration (None: the trial failed)."""


class PruningSearcher(Searcher, Protocol):
    """A searcher that also judges its trials epoch by epoch (a multi-fidelity method)."""

    def monitor(self, config: Config) -> Callable[[int, float], bool] | None:
        """Return the judge that says whether the configuration just asked for stops early."""

    def tell(  # type: ignore[override]
        self,
        config: Config,
        score: float | None,
        curve: Sequence[float] | None = None,
        pruned: bool = False,
        curves: Mapping[str, Sequence[float]] | None = None,
    ) -> None:
        """Report a score, the epochs' curve, and whether the judge stopped the trial.

        ``curves``: every curve of the trial, for a sampler that reads them.
        """


def make_searcher(
    name: str,
    space: Space,
    budget: int,
    seed: int,
    maximize: bool,
    agents: Mapping[str, Any] | None = None,
    workers: int = 1,
) -> Searcher:
    """Build the searcher of the baseline method ``name`` (a row of the method table).

    ``agents``: what a searcher that asks LGT's agents is given (the chat model's
    ``llm`` and ``base_url``, the data ``profile``); other searchers ignore it.
    ``workers``: trials asked for per round; a searcher that asks differently then (Optuna's
    TPE with its constant liar) takes it as ``workers``, the others ask one by one anyway.
    """
    chosen = method(name)
    if chosen.searcher is None:
        raise ValueError(f"{name} is not a baseline: it has no searcher")
    module_name, _, attribute = chosen.searcher.partition(":")
    factory: Any = getattr(importlib.import_module(module_name), attribute)
    extra: dict[str, Any] = {"agents": dict(agents or {})} if chosen.agents else {}
    if workers > 1 and "workers" in inspect.signature(factory).parameters:
        extra["workers"] = workers
    searcher: Searcher = factory(
        space, budget=budget, seed=seed, maximize=maximize, **dict(chosen.options), **extra
    )
    return searcher
