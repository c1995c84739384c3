"""SMAC3 in our space: its hyperparameter-optimisation facade, driven by ask and tell.

SMAC (Lindauer et al., JMLR 2022) models the configurations' costs with a random forest
and proposes by expected improvement, with local and random search interleaved. Here
it searches the task's own space, turned into a ConfigSpace: the model family first,
every other knob conditioned on the families that read it (and on its ``when``), so a
configuration holds only the knobs its model reads, as the Optuna baselines' do. The
default configuration is the first trial, told to SMAC before its initial design, so
every method starts where LGT does; a configuration SMAC proposes again is not
retrained, its known score is told back and SMAC asks again (the budget counts distinct
trainings).
"""

from __future__ import annotations

import logging
import math
import tempfile
import warnings
from pathlib import Path
from typing import Any

from lgt_graph.errors import UserError
from lgt_graph.space import Config, Knob, Space, config_key

REPEAT_LIMIT = 50
"""Proposals of known configurations in a row after which SMAC is taken to have no new one."""
INSTALL = "pip install 'lgt_graph[smac]'"


def config_space(space: Space, seed: int) -> Any:
    """Return the ConfigSpace of our space: each knob, conditioned on who reads it."""
    from ConfigSpace import (
        AndConjunction,
        Categorical,
        ConfigurationSpace,
        Float,
        InCondition,
        Integer,
    )

    cs = ConfigurationSpace(seed=seed)
    default = space.default()
    models = tuple(space["model"].choices) if "model" in space else ()
    made: dict[str, Any] = {}
    for knob in space.knobs.values():
        if knob.kind == "choice":
            hp: Any = Categorical(knob.name, list(knob.choices), default=default[knob.name])
        elif knob.kind == "bool":
            hp = Categorical(knob.name, ["false", "true"], default=_text(default[knob.name]))
        elif knob.kind == "int":
            hp = Integer(
                knob.name,
                (int(knob.low or 0), int(knob.high or 0)),
                default=int(default[knob.name]),
                log=knob.log,
            )
        else:
            hp = Float(
                knob.name,
                (float(knob.low or 0), float(knob.high or 0)),
                default=float(default[knob.name]),
                log=knob.log,
            )
        conditions = _conditions(knob, hp, models, made, InCondition)
        if conditions is None:
            continue  # no model of the space reads it: it keeps its default
        cs.add(hp)
        made[knob.name] = hp
        if len(conditions) == 1:
            cs.add(conditions[0])
        elif conditions:
            cs.add(AndConjunction(*conditions))
    return cs


def _conditions(
    knob: Knob, hp: Any, models: tuple[str, ...], made: dict[str, Any], condition: Any
) -> list[Any] | None:
    """Return the conditions under which a knob is read; None when it never is."""
    found = []
    if knob.name != "model" and knob.used_by and models:
        readers = [m for m in knob.used_by if m in models]
        if not readers:
            return None
        if len(readers) < len(models):
            found.append(condition(hp, made["model"], readers))
    if knob.when is not None and knob.when[0] in made:
        parent = made[knob.when[0]]
        values = [v for v in knob.when[1] if v in list(parent.choices)]
        if not values:
            return None
        found.append(condition(hp, parent, values))
    return found


def _text(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


class SmacSearch:
    """SMAC3's ``HyperparameterOptimizationFacade`` over our space, by ask and tell."""

    def __init__(self, space: Space, budget: int, seed: int, maximize: bool) -> None:
        try:
            from smac import HyperparameterOptimizationFacade, Scenario
        except ImportError:
            raise UserError(f"method smac needs SMAC3: {INSTALL}") from None
        for name in ("smac", "ConfigSpace"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self.space = space
        self.maximize = maximize
        self.seed = seed
        self.cs = config_space(space, seed)
        self._folder = tempfile.TemporaryDirectory(prefix="lgt-smac-")
        scenario = Scenario(
            self.cs,
            deterministic=True,  # one seed a trial: the session's split and seed
            n_trials=max(budget, 1) * 10,  # repeats are told back, not trained
            seed=seed,
            output_directory=Path(self._folder.name),
        )
        design = HyperparameterOptimizationFacade.get_initial_design(
            scenario,  # the default, then these: the Optuna baselines' start-up trials
            n_configs=min(10, max(3, budget // 3)) - 1,
        )
        self.smac = HyperparameterOptimizationFacade(
            scenario,
            lambda config, seed=0: 0.0,  # never called: trials train in the graph
            initial_design=design,
            intensifier=HyperparameterOptimizationFacade.get_intensifier(
                scenario, max_config_calls=1
            ),
            overwrite=True,
            logging_level=logging.WARNING,
        )
        self.scores: dict[str, float | None] = {}
        self.pending: dict[str, Any] = {}
        self._costs: list[float] = []
        self._failed: list[Any] = []

    def ask(self) -> Config | None:
        """Return SMAC's next configuration not trained yet; first, the default one.

        The default is told to SMAC as a trial of its own (SMAC's ask-and-tell takes
        configurations it did not ask for), so its model starts from it.
        """
        if not self.scores and not self.pending:
            from smac.runhistory import TrialInfo

            default = self.cs.get_default_configuration()
            config = self._config(default)
            self.pending[config_key(config)] = TrialInfo(default, seed=self.seed)
            return config
        for _ in range(REPEAT_LIMIT):
            with warnings.catch_warnings():  # its forest's empty leaves: numpy's mean of none
                warnings.simplefilter("ignore", RuntimeWarning)
                info = self.smac.ask()
            config = self._config(info.config)
            key = config_key(config)
            if key not in self.scores:
                self.pending[key] = info
                return config
            self._tell(info, self.scores[key])
        return None

    def tell(self, config: Config, score: float | None) -> None:
        """Tell SMAC the validation score of a configuration it asked for."""
        key = config_key(config)
        self.scores[key] = score
        info = self.pending.pop(key, None)
        if info is not None:
            self._tell(info, score)

    def _tell(self, info: Any, score: float | None) -> None:
        """Tell SMAC a cost; a failed trial costs as much as the worst one so far.

        SMAC's default crash cost is infinite, which its log-scaled cost model turns into
        NaN; a failure told before any success waits for the first one's scale.
        """
        from smac.runhistory import StatusType, TrialValue

        if score is None or not math.isfinite(score):
            self._failed.append(info)
        else:
            cost = -score if self.maximize else score
            self._costs.append(cost)
            self._send(info, TrialValue(cost=cost))
        if self._costs:
            while self._failed:
                worst = max(self._costs)
                crashed = TrialValue(
                    cost=worst + abs(worst) * 0.1 + 1e-9, status=StatusType.CRASHED
                )
                self._send(self._failed.pop(0), crashed)

    def _send(self, info: Any, value: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.smac.tell(info, value)

    def _config(self, chosen: Any) -> Config:
        """Turn a ConfigSpace configuration into ours: the knobs it holds, the rest default."""
        config = self.space.default()
        values = dict(chosen)
        for name, value in values.items():
            knob = self.space[name]
            if knob.kind == "bool":
                config[name] = value == "true"
            elif knob.kind == "int":
                config[name] = int(value)
            elif knob.kind == "float":
                config[name] = float(value)
            else:
                config[name] = str(value)
        return self.space.validate(config)
