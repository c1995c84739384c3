"""Random search and Bayesian optimisation with Optuna, over the conditional space.

The model family is suggested first, then only the knobs that family reads (the others
keep their defaults), as a define-by-run Optuna objective would. The default
configuration is enqueued as the first trial, so every method starts where LGT does.
A configuration Optuna proposes again is not retrained: its known score is told back
and Optuna asks again, so the budget counts distinct trainings, as LGT's does.
"""

from __future__ import annotations

import warnings
from typing import Any

from lgt_graph.errors import UserError
from lgt_graph.space import Config, Knob, Space, config_key

REPEAT_LIMIT = 50


def suggest(trial: Any, knob: Knob) -> Any:
    """Suggest a value of ``knob`` through an Optuna trial (the knob's distribution)."""
    if knob.kind == "choice":
        return trial.suggest_categorical(knob.name, list(knob.choices))
    if knob.kind == "bool":
        return trial.suggest_categorical(knob.name, [False, True])
    assert knob.low is not None and knob.high is not None
    if knob.kind == "int":
        return trial.suggest_int(knob.name, int(knob.low), int(knob.high), log=knob.log)
    return trial.suggest_float(knob.name, knob.low, knob.high, log=knob.log)


def sample_config(trial: Any, space: Space) -> Config:
    """Sample a configuration: the model first, then the knobs that model reads."""
    config = space.default()
    if "model" in space:
        config["model"] = suggest(trial, space["model"])
    for knob in space.active(config):
        if knob.name != "model":
            config[knob.name] = suggest(trial, knob)
    return space.validate(config)


class OptunaSearch:
    """Optuna's TPE (default), Gaussian-process, or random sampler, driven by ask/tell."""

    def __init__(
        self, space: Space, budget: int, seed: int, maximize: bool, sampler: str = "tpe"
    ) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if sampler == "random":
            chosen: Any = optuna.samplers.RandomSampler(seed=seed)
        elif sampler == "tpe":
            # Few random start-up trials for small budgets: TPE needs history to model.
            startup = min(10, max(3, budget // 3))
            with warnings.catch_warnings():  # group=True is marked experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                chosen = optuna.samplers.TPESampler(
                    seed=seed, n_startup_trials=startup, multivariate=True, group=True
                )
        elif sampler == "gp":
            chosen = optuna.samplers.GPSampler(seed=seed)
        else:
            raise UserError(f"--sampler {sampler!r}: use tpe, gp or random")
        self.space = space
        self.study = optuna.create_study(
            direction="maximize" if maximize else "minimize", sampler=chosen
        )
        default = space.default()
        active = {k.name for k in space.active(default)}
        self.study.enqueue_trial({k: v for k, v in default.items() if k in active})
        self.scores: dict[str, float | None] = {}
        self.pending: dict[str, Any] = {}

    def ask(self) -> Config | None:
        """Return Optuna's next configuration not trained yet."""
        import optuna

        for _ in range(REPEAT_LIMIT):
            trial = self.study.ask()
            config = sample_config(trial, self.space)
            key = config_key(config)
            if key not in self.scores:
                self.pending[key] = trial
                return config
            known = self.scores[key]
            if known is None:
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(trial, known)
        return None  # the sampler keeps repeating itself: nothing new to try

    def tell(self, config: Config, score: float | None) -> None:
        """Report a trained configuration's score to Optuna."""
        import optuna

        key = config_key(config)
        self.scores[key] = score
        trial = self.pending.pop(key)
        if score is None:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, score)
