"""Random search and Bayesian optimisation with Optuna, over the conditional space.

The model family is suggested first, then only the knobs that family reads (the others
keep their defaults), as a define-by-run Optuna objective would. The default
configuration is enqueued as the first trial, so every method starts where LGT does.
A configuration Optuna proposes again is not retrained: its known score is told back
and Optuna asks again, so the budget counts distinct trainings, as LGT's does.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lgt_graph.errors import UserError
from lgt_graph.space import Config, Knob, Space, config_key

REPEAT_LIMIT = 50
PRUNERS = ("hyperband", "halving")
"""Optuna's multi-fidelity pruners a searcher may stop trials with, epoch by epoch."""


def make_pruner(name: str | None) -> Any:
    """Return Optuna's pruner of this name: Hyperband, successive halving, or none.

    Hyperband runs successive halving in brackets of several minimum resources (here
    epochs, the maximum read from the first finished trial); successive halving alone
    promotes the best quarter of the trials at each rung of 1, 4, 16 … epochs.
    """
    import optuna

    if name is None:
        return optuna.pruners.NopPruner()
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, reduction_factor=3)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=4)
    raise UserError(f"pruner {name!r}: use {', '.join(PRUNERS)}")


def suggest(trial: Any, knob: Knob) -> Any:
    """Suggest a value of ``knob`` through an Optuna trial, with the knob's distribution.

    The distribution is ``distribution_of(knob)``, the one ``LGTSampler(space=...)`` is
    given for the same knob, so the baselines and the agents behind Optuna search one space.
    """
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    from lgt_graph.optuna.space import distribution_of

    dist = distribution_of(knob)
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(knob.name, list(dist.choices))
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(knob.name, dist.low, dist.high, log=dist.log)
    assert isinstance(dist, FloatDistribution)
    return trial.suggest_float(knob.name, dist.low, dist.high, log=dist.log)


def sample_config(trial: Any, space: Space) -> Config:
    """Sample a configuration: the model first, then the knobs it reads, in declaration order.

    In that order a knob's ``when`` (momentum: optimizer sgd or rmsprop) sees the value
    already drawn for the knob it hangs on.
    """
    config = space.default()
    if "model" in space:
        config["model"] = suggest(trial, space["model"])
    for knob in space.knobs.values():
        if knob.name != "model" and knob.active_in(config):
            config[knob.name] = suggest(trial, knob)
    return space.validate(config)


def startup_trials(budget: int) -> int:
    """Return a model-based sampler's start-up trials: random draws before it models.

    A third of the budget, at least 3 and at most Optuna's own default of 10; the enqueued
    default configuration is the first of them. A session budgeted in epochs or seconds
    alone has no trial budget to divide (it is the cap of 1000), so it gets 10.
    """
    return min(10, max(3, budget // 3))


def tpe(seed: int, budget: int, batch: bool = False) -> Any:
    """Return the TPE sampler of the Bayesian baseline: multivariate, grouped, seeded.

    ``batch``: trials are asked for in rounds (``--workers``): TPE's constant liar counts
    the round's running trials as bad ones, so that one round's asks spread out.
    """
    import optuna

    with warnings.catch_warnings():  # group=True is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=startup_trials(budget),
            multivariate=True,
            group=True,
            constant_liar=batch,
        )


class OptunaSearch:
    """Optuna's TPE (default), Gaussian-process, CMA-ES or random sampler, by ask/tell."""

    def __init__(
        self,
        space: Space,
        budget: int,
        seed: int,
        maximize: bool,
        sampler: str = "tpe",
        pruner: str | None = None,
        agents: Mapping[str, Any] | None = None,
        workers: int = 1,
    ) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if sampler == "random":
            chosen: Any = optuna.samplers.RandomSampler(seed=seed)
        elif sampler == "tpe":
            chosen = tpe(seed, budget, batch=workers > 1)
        elif sampler in ("lgt", "hybrid"):
            from lgt_graph.optuna import LGTSampler
            from lgt_graph.optuna.space import distribution_of
            from lgt_graph.optuna.turns import STALL

            given = dict(agents or {})
            facts = dict(given.get("profile") or {})
            chosen = LGTSampler(
                str(given.get("llm") or "heuristic"),
                independent_sampler=tpe(seed, budget, batch=workers > 1),
                seed=seed,
                budget=budget,
                base_url=given.get("base_url"),
                metric=str(facts.get("primary_metric", "objective")),
                facts=facts,
                mode=sampler,
                llm_share=given.get("llm_share"),
                stall=given.get("stall") or STALL,
                follow=given.get("follow", True) is not False,
                space={k.name: distribution_of(k) for k in space.knobs.values()},
                defaults=space.default(),
            )
        elif sampler == "gp":
            chosen = optuna.samplers.GPSampler(seed=seed)
        elif sampler == "cmaes":
            # CMA-ES models the numeric knobs every trial so far has had (the intersection of
            # their spaces); the model family and the choices are TPE's, as Optuna advises
            # for a conditional space. Its population starts after the start-up trials.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                chosen = optuna.samplers.CmaEsSampler(
                    seed=seed,
                    n_startup_trials=startup_trials(budget),
                    independent_sampler=optuna.samplers.TPESampler(
                        seed=seed, n_startup_trials=startup_trials(budget)
                    ),
                    warn_independent_sampling=False,
                )
        else:
            raise UserError(f"--sampler {sampler!r}: use tpe, gp, cmaes, lgt, hybrid or random")
        self.space = space
        self.pruner = pruner
        self.reads_curves = sampler in ("lgt", "hybrid")
        """The sampler reads each trial's curves (set as the trial's user attributes)."""
        self.study = optuna.create_study(
            # a fixed name: Hyperband assigns trials to brackets by a hash of it, so a
            # searcher rebuilt by replay (a resumed session) must carry the same one
            study_name=f"lgt-{sampler}-{seed}",
            direction="maximize" if maximize else "minimize",
            sampler=chosen,
            pruner=make_pruner(pruner),
        )
        default = space.default()
        active = {k.name for k in space.active(default)}
        self.study.enqueue_trial({k: v for k, v in default.items() if k in active})
        self.scores: dict[str, float | None] = {}
        self.pending: dict[str, Any] = {}
        self.batch = workers > 1
        """Asked in rounds: a configuration asked for twice in one round is asked again."""
        self.twins: dict[str, list[Any]] = {}
        """Trials that asked for a configuration already running; told its score with it."""
        self.pruned: set[str] = set()
        """Configurations whose trial the pruner stopped."""
        self.reported: set[str] = set()
        """Pending configurations whose epochs were reported as they trained."""

    def ask(self) -> Config | None:
        """Return Optuna's next configuration not trained yet."""
        import optuna

        for _ in range(REPEAT_LIMIT):
            trial = self.study.ask()
            config = sample_config(trial, self.space)
            key = config_key(config)
            if self.batch and key in self.pending:  # running in this round already
                self.twins.setdefault(key, []).append(trial)
                continue
            if key not in self.scores:
                self.pending[key] = trial
                return config
            known = self.scores[key]
            if known is None:
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            elif key in self.pruned:
                self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                self.study.tell(trial, known)
        return None  # the sampler keeps repeating itself: nothing new to try

    def explain(self, config: Config) -> str | None:
        """Say who proposed the configuration just asked for, and why, when an LGTSampler did.

        None for the other samplers (the configuration is simply what they asked for).
        """
        trial = self.pending.get(config_key(config))
        attrs = trial.user_attrs if trial is not None and self.reads_curves else {}
        if "lgt_proposed_by" not in attrs:
            return None
        why = attrs.get("lgt_rationale") or attrs.get("lgt_why", "")
        return f"proposed by {attrs['lgt_proposed_by']}: {why}"

    def expectation(self, config: Config) -> dict[str, Any]:
        """Return what the agents expected of the configuration just asked for, if they proposed it.

        An LGTSampler's trial attributes (``expected_outcome``, ``probability`` …), so that the
        session holds the hybrid's agents to account as it does LGT's; empty otherwise.
        """
        trial = self.pending.get(config_key(config))
        attrs = trial.user_attrs if trial is not None and self.reads_curves else {}
        if attrs.get("lgt_proposed_by") != "lgt":
            return {}
        told = ("expected_effect", "expected_outcome", "probability", "forecast", "exploratory")
        return {k: attrs[f"lgt_{k}"] for k in told if attrs.get(f"lgt_{k}") is not None}

    def monitor(self, config: Config) -> Callable[[int, float], bool] | None:
        """Return the pruner's judge of the configuration just asked for, epoch by epoch.

        The train node calls it after each epoch with the validation primary metric; it
        reports the value to the trial and says whether the pruner stops it there.
        None without a pruner.
        """
        key = config_key(config)
        if self.pruner is None or key not in self.pending:
            return None
        return self._judge(self.pending[key], key)

    def _judge(self, trial: Any, key: str) -> Callable[[int, float], bool]:
        def judge(epoch: int, value: float) -> bool:
            if not math.isfinite(value):
                return False
            self.reported.add(key)
            trial.report(value, epoch)
            return bool(trial.should_prune())

        return judge

    def tell(
        self,
        config: Config,
        score: float | None,
        curve: Sequence[float] | None = None,
        pruned: bool = False,
        curves: Mapping[str, Sequence[float]] | None = None,
    ) -> None:
        """Report a trained configuration's score to Optuna.

        With a pruner, ``curve`` (the validation primary metric after each epoch) is
        reported first when its epochs were not reported as they trained — a session
        resumed in a new process replays its trials so — judged epoch by epoch as then,
        and ``pruned`` says the pruner stopped the trial.
        """
        import optuna

        key = config_key(config)
        self.scores[key] = score
        trial = self.pending.pop(key)
        if self.pruner is not None and key not in self.reported:
            judge = self._judge(trial, key)
            for epoch, value in enumerate(curve or (), 1):
                if judge(epoch, float(value)):
                    break
        self.reported.discard(key)
        if self.reads_curves:
            for name, values in (curves or {}).items():
                trial.set_user_attr(name, [float(v) for v in values])
        if pruned and score is not None:
            self.pruned.add(key)
        for each in [trial, *self.twins.pop(key, [])]:
            if score is None:
                self.study.tell(each, state=optuna.trial.TrialState.FAIL)
            elif pruned:
                self.study.tell(each, state=optuna.trial.TrialState.PRUNED)
            else:
                self.study.tell(each, score)
