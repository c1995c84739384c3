"""Every tuning method by name — LGT, its ablation variants and the baselines — as node sets.

A method is a choice of nodes for the one LGT graph. LGT's variants swap one or two
nodes. A baseline puts a searcher behind the Advisor and judges by the metric alone
(numeric Evaluator, no Optimizer, no rollback), so budgets, splits, seeds, the final
refit, resume, tracking and reports are the same for every method by construction.
``run --method``, ``compare`` and ``ablate`` read this table, and the node registry
offers each baseline's Advisor by name: a new baseline is a searcher module (see
:mod:`lgt_graph.baselines`) and one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lgt_graph.errors import UserError

SEARCH_NODES = {"evaluator": "numeric", "optimizer": "none", "rollback": "none"}
"""The nodes around a baseline's Advisor: a verdict from the metric alone, nothing else."""


@dataclass(frozen=True)
class Method:
    """A tuning method: its name, its title in tables, and the nodes it runs with."""

    name: str
    title: str
    nodes: Mapping[str, str] = field(default_factory=dict)
    """Node choices (``--node`` slots) that differ from LGT's defaults."""
    searcher: str | None = None
    """``module:Factory`` of a baseline's searcher; None for LGT and its variants."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments of the searcher's factory."""
    advisor: str | None = None
    """The name of a baseline's Advisor built-in, when it is not the method's name."""

    @property
    def baseline(self) -> bool:
        """Say whether a searcher, not the language agents, proposes the configurations."""
        return self.searcher is not None

    @property
    def advisor_name(self) -> str:
        """Return the name under which the registry offers this baseline's Advisor."""
        return self.advisor or self.name

    def node_set(self) -> dict[str, str]:
        """Return the node choices of this method (slots not named keep LGT's default)."""
        if self.baseline:
            return {**SEARCH_NODES, "advisor": self.advisor_name, **self.nodes}
        return dict(self.nodes)


_OPTUNA = "lgt_graph.baselines.optuna_search:OptunaSearch"
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("none", "NoTuning", searcher="lgt_graph.baselines.simple:NoTuning"),
        Method(
            "random",
            "RandomSearch",
            searcher=_OPTUNA,
            options={"sampler": "random"},
            advisor="random-search",
        ),
        Method("grid", "GridSearch", searcher="lgt_graph.baselines.grid:GridSearch"),
        Method("bayes", "Bayesian (Optuna)", searcher=_OPTUNA, options={"sampler": "tpe"}),
        Method("bayes-gp", "Bayesian (Optuna GP)", searcher=_OPTUNA, options={"sampler": "gp"}),
        Method("nas", "NAS", searcher="lgt_graph.baselines.evolution:ArchitectureEvolution"),
        Method("lgt", "LGT"),
        Method("no-optimizer", "LGT, no Optimizer (prompt frozen)", {"optimizer": "none"}),
        Method(
            "numeric-evaluator",
            "LGT, numeric Evaluator (no textual gradient)",
            {"evaluator": "numeric"},
        ),
        Method(
            "advisor-only",
            "LGT, Advisor alone (numeric Evaluator, frozen prompt)",
            {"evaluator": "numeric", "optimizer": "none"},
        ),
        Method(
            "random-advisor", "LGT, random Advisor (no language guidance)", {"advisor": "random"}
        ),
        Method(
            "no-rollback", "LGT, no rollback (a regression stays the base)", {"rollback": "none"}
        ),
    )
}
COMPARED = ("none", "random", "grid", "bayes", "nas", "lgt")
"""What ``compare`` runs unless told otherwise: the paper's baselines and LGT."""
VARIANTS = tuple(name for name, m in METHODS.items() if not m.baseline)
"""What ``ablate`` runs unless told otherwise: LGT and every variant of it."""


def method(name: str) -> Method:
    """Return the method of this name, or a user error listing them."""
    try:
        return METHODS[name]
    except KeyError:
        raise UserError(f"unknown method {name!r}; methods: {', '.join(METHODS)}") from None
