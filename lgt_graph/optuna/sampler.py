"""LGTSampler: the LGT agents as an Optuna sampler, for any study and any objective.

``optuna.create_study(sampler=LGTSampler())`` puts the Advisor, the Evaluator and the
Optimizer — the same nodes, prompts, chat models, structured output, repair and
fallback as ``python -m lgt_graph run`` — in charge of a user's own objective:

- when a trial ends (``after_trial``) the Evaluator judges it against the best before
  it and writes its textual gradient into the trial's user attributes
  (``lgt_verdict``, ``lgt_diagnosis``, ``lgt_suggestions``);
- when a trial starts (``sample_relative``) the graph's decision after evaluate is
  taken (roll back to the best after a regression), the Optimizer may rewrite the
  Advisor's prompt (kept in the study's ``lgt_prompts``), and the Advisor proposes
  changes with reasons, recorded in the new trial's ``lgt_*`` attributes and repaired
  into the study's distributions (:mod:`lgt_graph.optuna.space`), never those of a
  trial that runs at once or ran before (:mod:`lgt_graph.optuna.pending`).

The first trial, any parameter the study has not suggested yet, and any trial the
agents cannot propose for (the model's reply unusable, the Advisor out of ideas) go
to the inner sampler (TPE by default), and the trial says so (``lgt_proposed_by``);
with ``space`` (the objective's whole space), the agents set a parameter no trial has
suggested yet along with the change that brings it in (a model family and its own
knobs), and with ``defaults`` a new parameter they leave alone takes its default.
Single-objective studies only.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

from langgraph.runtime import Runtime
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, TPESampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from lgt_graph.context import TRIAL_CAP, Context, Settings
from lgt_graph.errors import ConfigError
from lgt_graph.graph.routing import decide
from lgt_graph.optuna.pending import propose, running
from lgt_graph.optuna.records import TOLD, CallLog, StudyRecords
from lgt_graph.optuna.space import inside, space_of, to_distribution
from lgt_graph.optuna.study_state import (
    FINISHED,
    PREFIX,
    PRIMARY,
    StudyData,
    defaults_of,
    finished_copy,
    mark,
    profile,
    rebuild,
    relative_space,
    single_objective,
    study_task,
)
from lgt_graph.optuna.turns import STALL, checked_share, turn
from lgt_graph.state import State, applied
from lgt_graph.tracking import check_uri

PROMPTS = f"{PREFIX}prompts"
"""The study user attribute that holds the Advisor's prompt versions."""


class LGTSampler(BaseSampler):
    """An Optuna sampler whose proposals come from the LGT agents.

    ``llm``: ``heuristic`` (the built-in rule-based expert, offline) or
    ``openai:MODEL`` (any OpenAI-compatible endpoint, ``base_url`` or
    ``OPENAI_BASE_URL``). ``budget``: the trials the study will run, when known (the
    Advisor plans with it). ``tolerance``: None (a gain must clear the noise floor of
    the metric, when ``facts`` give ``val_examples``), or the fixed rule: a trial worse
    than the best by more than this fraction of it regressed (the next proposal starts
    again from the best), and any gain improved.
    ``nodes``: agent implementations by slot, as ``--node`` (``{"evaluator": "numeric"}``).
    ``metric``: what the objective measures, as the agents should call it (``accuracy``);
    ``facts``: what the agents may know about the data (``{"train_examples": 120}``).
    ``mode``: ``lgt`` (the agents propose every trial they can) or ``hybrid`` (the inner
    sampler drives; the agents propose on ``llm_share`` of the trials, default 0.25, and
    when the sampler's own trials have not improved the best ``stall`` times in a row,
    default 5; with ``follow``, the default, also on the trial after one of theirs that
    improved the best; see :mod:`lgt_graph.optuna.turns`).
    ``space``: the objective's whole search space, when known (``{name: distribution}``,
    what it may suggest): the agents may propose a parameter no trial has suggested yet,
    which the trial takes when the objective asks for it (inside the distribution asked
    with; ``lgt_planned``). ``defaults``: a value per parameter that one first suggested
    on the agents' trial, and not proposed, takes (when inside its distribution;
    ``lgt_defaulted`` names them) rather than a draw.
    ``tracking_uri``: an MLflow store to record the study in (a run per trial, with its
    proposal and textual gradient; the prompt versions), under ``experiment``
    (default ``optuna-STUDY``).
    """

    def __init__(
        self,
        llm: str = "heuristic",
        *,
        independent_sampler: BaseSampler | None = None,
        seed: int | None = None,
        budget: int | None = None,
        tolerance: float | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        nodes: Mapping[str, str] | None = None,
        metric: str = PRIMARY,
        facts: Mapping[str, Any] | None = None,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        mode: str = "lgt",
        llm_share: float | None = None,
        stall: int | None = STALL,
        follow: bool = True,
        space: Mapping[str, BaseDistribution] | None = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        from lgt_graph.graph.registry import resolve
        from lgt_graph.llm import make_chat_model

        share = checked_share(mode, llm_share, stall)
        self.mode, self.share, self.stall = mode, share, stall if mode == "hybrid" else None
        self.follow = follow
        self._space, self._defaults = dict(space or {}), dict(defaults or {})
        self._turns: dict[int, tuple[bool, str]] = {}
        self._inner = independent_sampler or TPESampler(seed=seed)
        self._settings = Settings(
            task="optuna-study",
            llm=llm,
            base_url=base_url,
            budget=budget or TRIAL_CAP,
            tolerance=tolerance,
            seed=seed or 0,
            timeout=timeout,
            max_retries=max_retries,
            on_endpoint_error="fallback",
            nodes=dict(nodes or {}),
        )
        self._settings.check()
        self.calls = CallLog()  # the agents' calls, for a session that runs this sampler
        self._nodes = self.calls.wrap(resolve(self._settings.nodes, "lgt", "trial"))
        self._model, self._options = make_chat_model(
            llm, base_url, timeout, max_retries, self._settings.structured_output
        )
        self._lock = threading.Lock()
        self._metric = metric
        self._facts = dict(facts or {})
        self._records: StudyRecords | None = None
        if tracking_uri is not None:
            check_uri(tracking_uri)
            self._records = StudyRecords(tracking_uri, experiment, llm)

    # -- Optuna's sampler interface --------------------------------------------------

    def reseed_rng(self) -> None:
        """Reseed the inner sampler (the agents' fallbacks are seeded by trial number)."""
        self._inner.reseed_rng()

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Let the inner sampler prepare the trial."""
        self._inner.before_trial(study, trial)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """Return the agents' space on their turn, the inner sampler's on its own.

        The agents' is every parameter the finished trials suggested (``relative_space``).
        """
        single_objective(study)
        trials = study._get_trials(deepcopy=False, use_cache=True)
        maximize = study.direction == StudyDirection.MAXIMIZE
        self._turns[trial.number] = turn(
            trials, trial.number, self.share, self.stall, maximize, self.follow
        )
        if not self._turns[trial.number][0]:
            return self._inner.infer_relative_search_space(study, trial)
        return relative_space(trials)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """Ask the agents for the next configuration; {} leaves the trial to the inner sampler."""
        agents, turn_why = self._turns.pop(trial.number, (True, ""))
        if not agents:
            self._inner_trial(study, trial, turn_why)
            return self._inner.sample_relative(study, trial, search_space)
        if not search_space:
            return self._inner_trial(study, trial, "the study's first trial: no parameter seen yet")
        with self._lock:  # threads (n_jobs) propose in turn, each seeing the others' claims
            runtime = Runtime(context=(ctx := self._context(study, search_space)))
            state = self._history(study, ctx, asking=trial.number)
            if not any(t["score"] is not None for t in state["trials"]):
                return self._inner_trial(study, trial, "no trial has succeeded yet")
            route, why = decide(state, ctx.settings, ctx.maximize)
            if route == "finalize":
                return self._inner_trial(study, trial, f"the LGT session is over: {why}")
            if route == "rollback":
                state = applied(state, self._nodes["rollback"](state, runtime))
            update = self._nodes["optimize"](state, runtime)
            if update.get("prompts"):
                versions = list(study.user_attrs.get(PROMPTS, []))
                study.set_user_attr(PROMPTS, versions + [dict(p) for p in update["prompts"]])
                for version in update["prompts"] if self._records else ():
                    self._records.prompt(study, dict(version))  # type: ignore[union-attr]
            state = applied(state, update)
            advise, whole = self._nodes["advise"], self._space
            advised = propose(advise, study, trial, state, runtime, search_space, whole)
            if isinstance(advised, str):
                return self._inner_trial(study, trial, advised)
            proposal, params, planned = advised
            prompt = state.get("prompts") or []
            mark(study, trial, proposed_by="lgt", **{k: proposal.get(k) for k in TOLD})
            version = prompt[-1]["version"] if prompt else 0
            changes = [dict(c) for c in proposal["changes"]]
            mark(study, trial, changes=changes, proposal_status=proposal["status"])
            mark(study, trial, route=why, turn=turn_why, prompt_version=version, planned=planned)
            return params

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        """Sample a parameter new to the study: on the agents' trial, their value or its default."""
        attrs, name = trial.user_attrs, param_name
        if attrs.get(f"{PREFIX}proposed_by") == "lgt":
            planned, default = attrs.get(f"{PREFIX}planned", {}), self._defaults.get(name)
            if name in planned:  # repaired into the distribution the objective asks with
                with suppress(ConfigError):
                    return to_distribution(param_distribution, planned[name])
            if name in self._defaults and inside(param_distribution, default):
                mark(study, trial, defaulted=[*attrs.get(f"{PREFIX}defaulted", []), name])
                return default
        return self._inner.sample_independent(study, trial, name, param_distribution)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        """Have the Evaluator judge the trial; its verdict goes into the trial's attributes."""
        self._inner.after_trial(study, trial, state, values)
        if state not in FINISHED or len(study.directions) != 1:
            return
        with self._lock:
            trials = study._get_trials(deepcopy=False, use_cache=False)
            space = relative_space([*trials, finished_copy(trial, state)])
            if not space:
                return
            ctx = self._context(study, space)
            past = self._history(study, ctx, last=(trial, state, values))
            update = self._nodes["evaluate"](past, Runtime(context=ctx))
            verdict = {k: v for k, v in update["verdicts"][-1].items() if k != "trial"}
            study._storage.set_trial_user_attr(trial._trial_id, f"{PREFIX}verdict", verdict)
            if self._records is not None:
                result = {**past["trials"][-1]["result"], "config": dict(trial.params)}
                self._records.trial(study, trial, result, verdict)

    # -- helpers ---------------------------------------------------------------------

    def _context(self, study: Study, space: Mapping[str, BaseDistribution]) -> Context:
        task = study_task(study, self._metric, self._facts)
        trials = study._get_trials(deepcopy=False, use_cache=True)
        whole = {**self._space, **space}  # a distribution the objective asked with wins
        start = {k: v for k, v in self._defaults.items() if k in whole and inside(whole[k], v)}
        return Context(
            settings=self._settings,
            data=StudyData(task),
            space=space_of(whole, {**start, **defaults_of(trials, space)}),
            tracker=None,
            model=self._model,
            session_id=f"optuna:{study.study_name}",
            profile=profile(task, space, self._facts),
            options=self._options,
        )

    def _history(
        self,
        study: Study,
        ctx: Context,
        last: tuple[FrozenTrial, TrialState, Sequence[float] | None] | None = None,
        asking: int | None = None,
    ) -> State:
        trials = study._get_trials(deepcopy=False, use_cache=False)
        prompts = study.user_attrs.get(PROMPTS, [])
        state = rebuild(trials, ctx.space, ctx.maximize, prompts, last, ctx.primary)
        if asking is not None:
            state["taken"] = running(trials, ctx.space, asking)
        return state

    def _inner_trial(self, study: Study, trial: FrozenTrial, why: str) -> dict[str, Any]:
        name = type(self._inner).__name__
        mark(study, trial, proposed_by=name, why=why)
        return {}
