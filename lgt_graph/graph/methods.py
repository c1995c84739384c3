"""Every tuning method by name — LGT, its ablation variants and the baselines — as node sets.

A method is a choice of nodes for the one LGT graph. LGT's variants swap one or two
nodes. A baseline puts a searcher behind the Advisor and judges by the metric alone
(numeric Evaluator, no Optimizer, no rollback), so budgets, splits, seeds, the final
refit, resume, tracking and reports are the same for every method by construction.
``run --method``, ``compare`` and ``ablate`` read this table, and the node registry
offers each baseline's Advisor by name: a new baseline is a searcher module (see
:mod:`lgt_graph.baselines`) and one line here; a peer (a whole tool run on the session's
splits) is a module of :mod:`lgt_graph.peers` and one line here. The module is long because
the table is one literal with a row per method, kept in the one place a reader looks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lgt_graph.errors import UserError

SEARCH_NODES = {"evaluator": "numeric", "optimizer": "none", "rollback": "none"}
"""The nodes around a baseline's Advisor: a verdict from the metric alone, nothing else."""
LOOPS = ("trial", "epoch", "both")
"""trial: a trial trains from scratch; epoch: a trial is the next segment of one run;
both: each trial of the trial loop is one epoch-level run."""
LOOP_NODES = {"epoch": {"train": "paired"}, "both": {"train": "nested"}}
"""The nodes a loop runs unless a method or ``--node`` says otherwise."""
SCHEDULE_NODES = {**SEARCH_NODES, "train": "unpaired"}
"""The nodes around an epoch-level baseline's Advisor: one branch a segment, no judging."""


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
    loops: tuple[str, ...] = ("trial",)
    """The loops the method runs: a searcher of whole trainings has no epoch-level form."""
    epoch_nodes: Mapping[str, str] | None = None
    """Node choices in the epoch-level loop, when they differ from ``nodes``."""
    agents: bool = False
    """The searcher asks LGT's agents (an LGTSampler): it gets the session's chat model."""
    inner: str | None = None
    """At ``--loop both``, the method whose epoch-level loop runs inside each trial of a net,
    for a searcher without one of its own (the agents' samplers run LGT's); None: its own."""
    peer: str | None = None
    """``module:function`` of a whole tool with its own space and models (FLAML, AutoGluon)
    that runs on the session's splits instead of the graph (:mod:`lgt_graph.peers`)."""
    requires: tuple[str, ...] = ()
    """Modules the method imports that the core install lacks (FLAML, SMAC3, …)."""
    extra: str | None = None
    """The optional extra that brings them (``pip install 'lgt_graph[EXTRA]'``)."""

    @property
    def baseline(self) -> bool:
        """Say whether a searcher, not the language agents, proposes the configurations."""
        return self.searcher is not None

    @property
    def ours(self) -> bool:
        """Say whether the method is LGT or a variant of it: never a baseline or a peer.

        The agents propose (LGT, its ablations, the hybrid and lgt-optuna samplers); a
        variant whose Advisor is not the language model (random-advisor) is a control.
        """
        if self.peer is not None:
            return False
        if self.baseline:
            return self.agents
        return self.epoch_nodes is None and self.nodes.get("advisor", "llm") == "llm"

    @property
    def kind(self) -> str:
        """Return ``lgt`` (LGT or a variant), ``peer`` (a whole tool) or ``baseline``."""
        return "lgt" if self.ours else "peer" if self.peer is not None else "baseline"

    @property
    def language(self) -> bool:
        """Say whether a language model (LGT's agents) takes part in the method."""
        if self.peer is not None:
            return False
        if self.baseline:
            return self.agents
        nodes = self.epoch_nodes if self.epoch_nodes is not None else self.nodes
        return any(
            nodes.get(slot, "llm") == "llm" for slot in ("advisor", "evaluator", "optimizer")
        )

    @property
    def advisor_name(self) -> str:
        """Return the name under which the registry offers this baseline's Advisor."""
        return self.advisor or self.name

    @property
    def inner_method(self) -> str:
        """Return the method whose epoch-level loop runs inside each trial at ``--loop both``."""
        return self.inner or self.name

    def node_set(self, loop: str = "trial") -> dict[str, str]:
        """Return the node choices of this method (slots not named keep the loop's default).

        A peer runs no graph: it has no nodes, and no loop but its own search.
        """
        if self.peer is not None:
            if loop != "trial":
                raise UserError(
                    f"method {self.name!r} runs {self.title}'s own search once on the session's"
                    f" splits; it has no {loop}-level loop (drop --loop {loop})"
                )
            return {}
        if loop == "both":  # the trial loop outside, an epoch-level loop inside (inner_method)
            inner = method(self.inner_method).node_set("epoch")
            if "trial" not in self.loops and not self.baseline:
                # a variant of the epoch-level loop alone (unpaired segments): LGT's trial
                # loop outside, the variant's own segments inside each trial
                return {slot: name for slot, name in inner.items() if slot != "train"}
            return self.node_set("trial")
        if loop not in self.loops:
            able = ", ".join(m.name for m in METHODS.values() if loop in m.loops)
            raise UserError(
                f"method {self.name!r} does not run the {loop}-level loop; methods that do: {able}"
            )
        if loop == "epoch" and self.epoch_nodes is not None:
            return dict(self.epoch_nodes)
        if self.baseline:
            return {**SEARCH_NODES, "advisor": self.advisor_name, **self.nodes}
        return dict(self.nodes)


_OPTUNA = "lgt_graph.baselines.optuna_search:OptunaSearch"
BOTH = ("trial", "epoch")
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "none",
            "NoTuning",
            searcher="lgt_graph.baselines.simple:NoTuning",
            loops=BOTH,
            epoch_nodes={**SCHEDULE_NODES, "advisor": "keep"},
        ),
        Method(
            "cosine",
            "Cosine schedule",
            loops=("epoch",),
            epoch_nodes={**SCHEDULE_NODES, "advisor": "cosine"},
        ),
        Method(
            "plateau",
            "ReduceLROnPlateau + early stopping",
            loops=("epoch",),
            epoch_nodes={**SCHEDULE_NODES, "advisor": "plateau"},
        ),
        Method(
            "pbt",
            "Population Based Training (4 members; Ray Tune's exploit and explore)",
            loops=("epoch",),
            epoch_nodes={**SCHEDULE_NODES, "advisor": "pbt"},
        ),
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
        Method("cmaes", "CMA-ES (Optuna)", searcher=_OPTUNA, options={"sampler": "cmaes"}),
        Method(
            "hyperband",
            "Hyperband (Optuna TPE + pruner)",
            searcher=_OPTUNA,
            options={"sampler": "tpe", "pruner": "hyperband"},
        ),
        Method("nas", "NAS", searcher="lgt_graph.baselines.evolution:ArchitectureEvolution"),
        Method(
            "smac",
            "SMAC3 (random-forest Bayesian optimisation)",
            searcher="lgt_graph.baselines.smac_search:SmacSearch",
            requires=("smac",),
            extra="smac",
        ),
        Method(
            "flaml",
            "FLAML AutoML (its own models and search)",
            peer="lgt_graph.peers.flaml_automl:fit",
            requires=("flaml", "lightgbm"),
            extra="flaml",
        ),
        Method(
            "autogluon",
            "AutoGluon-Tabular (its own models, ensembled)",
            peer="lgt_graph.peers.autogluon_tabular:fit",
            requires=("autogluon.tabular",),
            extra="autogluon",
        ),
        Method(
            "lgt-optuna",
            "LGT in Optuna (LGTSampler, TPE for the rest)",
            searcher=_OPTUNA,
            options={"sampler": "lgt"},
            agents=True,
            inner="lgt",
        ),
        Method(
            "hybrid",
            "LGT hybrid (TPE drives; the agents on a share, on stalls, after their gains)",
            searcher=_OPTUNA,
            options={"sampler": "hybrid"},
            agents=True,
            inner="lgt",
        ),
        Method("lgt", "LGT", loops=BOTH),
        Method(
            "no-optimizer", "LGT, no Optimizer (prompt frozen)", {"optimizer": "none"}, loops=BOTH
        ),
        Method(
            "numeric-evaluator",
            "LGT, numeric Evaluator (no textual gradient)",
            {"evaluator": "numeric"},
            loops=BOTH,
        ),
        Method(
            "advisor-only",
            "LGT, Advisor alone (numeric Evaluator, frozen prompt)",
            {"evaluator": "numeric", "optimizer": "none"},
            loops=BOTH,
        ),
        Method(
            "random-advisor",
            "LGT, random Advisor (no language guidance)",
            {"advisor": "random"},
            loops=BOTH,
        ),
        Method(
            "no-rollback",
            "LGT, no rollback (a regression stays the base)",
            {"rollback": "none"},
            loops=BOTH,
        ),
        Method(
            "lgt-one-se",
            "LGT, one-SE final choice (earliest trial within a paired standard error)",
            {"finalize": "one-se"},
        ),
        Method(
            "unpaired",
            "LGT, unpaired segments (judged against the epoch before)",
            {"train": "unpaired"},
            loops=("epoch",),
        ),
    )
}
COMPARED = ("none", "random", "grid", "bayes", "cmaes", "hyperband", "nas", "lgt")
"""What ``compare`` runs unless told otherwise: the paper's baselines, CMA-ES, Hyperband,
and LGT."""
COMPARED_EPOCH = ("none", "cosine", "plateau", "random-advisor", "pbt", "lgt")
"""What ``compare --loop epoch`` runs unless told otherwise: the epoch-level baselines, PBT,
LGT."""
VARIANTS = tuple(
    name
    for name, m in METHODS.items()
    if not m.baseline and m.epoch_nodes is None and "trial" in m.loops
)
"""What ``ablate`` runs unless told otherwise: LGT and every variant of it."""
VARIANTS_EPOCH = tuple(
    name for name, m in METHODS.items() if m.epoch_nodes is None and "epoch" in m.loops
)
"""What ``ablate --loop epoch`` runs unless told otherwise: LGT's variants on that loop."""


def check_installed(name: str) -> None:
    """Raise a user error naming the install command when a method's extra is missing."""
    import importlib.util

    m = method(name)
    for module in m.requires:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # its parent package is missing
            found = False
        if not found:
            raise UserError(
                f"method {name} needs {module.partition('.')[0]}, an optional extra:"
                f" pip install 'lgt_graph[{m.extra}]'"
            )


def method(name: str) -> Method:
    """Return the method of this name, or a user error listing them."""
    try:
        return METHODS[name]
    except KeyError:
        raise UserError(f"unknown method {name!r}; methods: {', '.join(METHODS)}") from None
