"""An Optuna study's history as the LGT agents read it: trials, curves, verdicts, prompts.

The study is the record: every call rebuilds the session state from its trials, so
trials told by other processes, enqueued ones, failed and pruned ones, and a study
resumed from RDB storage are all read the same way. What the agents add lives in the
study too — a proposal and a verdict in the user attributes of the trial they are
about (``lgt_*``), the Advisor's prompt versions in the study's (``lgt_prompts``).

A trial's intermediate values (``trial.report``) become its validation curve; a user
attribute holding a list of numbers becomes a curve of that name (``train_loss``,
``val_loss`` … as our own trials have them), a numeric one a metric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from optuna.distributions import BaseDistribution
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from lgt_graph import history
from lgt_graph.errors import UserError
from lgt_graph.evaluation.metrics import better
from lgt_graph.optuna.space import config_of
from lgt_graph.space import Space, diff
from lgt_graph.state import (
    ChangeRecord,
    PromptVersion,
    ProposalRecord,
    State,
    Trial,
    VerdictRecord,
)
from lgt_graph.training.result import TrialResult

PRIMARY = "objective"
"""The name the agents read the study's objective value under."""
PREFIX = "lgt_"
"""The user attributes the agents write start with it (and are not read back as metrics)."""
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


@dataclass(frozen=True)
class StudyTask:
    """The study as a task: what the agents are told about its objective."""

    name: str
    direction: str
    primary: str = PRIMARY
    family: str = "study"
    problem: str = "unknown"


@dataclass
class StudyData:
    """The session's data as the agents' context holds it: a study has only its task."""

    task: StudyTask
    notes: list[str] = field(default_factory=list)


def relative_space(trials: Sequence[FrozenTrial]) -> dict[str, BaseDistribution]:
    """Return every parameter the finished trials suggested, each with its one distribution.

    The union, not the intersection: a conditional objective (a model family, then its
    own parameters) has LGT propose a whole configuration, and reads what it needs. A
    parameter whose distribution changed between trials is left to the inner sampler.
    """
    seen: dict[str, BaseDistribution] = {}
    changed: set[str] = set()
    for trial in trials:
        if trial.state not in FINISHED:
            continue
        for name, distribution in trial.distributions.items():
            if name in seen and seen[name] != distribution:
                changed.add(name)
            seen.setdefault(name, distribution)
    return {n: d for n, d in sorted(seen.items()) if n not in changed and not d.single()}


def profile(
    task: StudyTask, space: Mapping[str, BaseDistribution], facts: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return the facts the agents read about the study: its own, and any the user gave."""
    return {
        "task": task.name,
        "family": task.family,
        "problem": task.problem,
        **dict(facts or {}),
        "primary_metric": task.primary,
        "direction": task.direction,
        "parameters": len(space),
    }


def result_of(
    trial: FrozenTrial,
    config: dict[str, Any],
    state: TrialState,
    values: Sequence[float] | None,
    primary: str = PRIMARY,
) -> dict[str, Any]:
    """Return a study trial as a trial result: its value, curves, metrics and why it failed."""
    curves: dict[str, list[float]] = {}
    metrics: dict[str, float] = {}
    steps = sorted(trial.intermediate_values)
    if steps:
        curves[f"val_{primary}"] = [float(trial.intermediate_values[s]) for s in steps]
    for key, value in trial.user_attrs.items():
        if key.startswith(PREFIX):
            continue
        if _numbers(value) and len(value) == len(steps or value):
            curves[key] = [float(v) for v in value]
        elif isinstance(value, int | float) and not isinstance(value, bool):
            metrics[key] = float(value)
    if not steps and curves:
        steps = list(range(1, len(next(iter(curves.values()))) + 1))
    diagnostics: dict[str, Any] = {"optuna_trial": trial.number}
    score: float | None = None
    reason = ""
    if state == TrialState.COMPLETE and values:
        score = float(values[0])
    elif state == TrialState.PRUNED and steps:
        score = float(trial.intermediate_values[steps[-1]])
        diagnostics.update(pruned_at=steps[-1], pruned_by="pruner")
    else:
        reason = str(trial.system_attrs.get("fail_reason", "")) or (
            "the objective raised an error or returned no value"
            if state == TrialState.FAIL
            else "pruned before it reported a value"
        )
    if score is not None and not math.isfinite(score):
        score, reason = None, f"the objective returned {score}"
    if score is not None:
        metrics[primary] = score
    seconds = 0.0
    if trial.datetime_start is not None and trial.datetime_complete is not None:
        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
    return TrialResult(
        config=config,
        status="ok" if score is not None else "failed",
        metrics=metrics,
        curves=curves if score is not None else {},
        steps=steps if score is not None else [],
        step_unit="step",
        wall_time=seconds,
        reason=reason,
        diagnostics=diagnostics,
    ).to_dict()


def _numbers(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def rebuild(
    trials: Sequence[FrozenTrial],
    space: Space,
    maximize: bool,
    prompts: Sequence[Mapping[str, Any]] = (),
    last: tuple[FrozenTrial, TrialState, Sequence[float] | None] | None = None,
    primary: str = PRIMARY,
) -> State:
    """Rebuild the session state from the study's finished trials, oldest first.

    ``last`` is a trial being told (its state and values not stored yet), appended at
    the end. A trial the agents proposed keeps its recorded changes and base; any other
    (the inner sampler's, an enqueued one) is read as changes to the best trial before it.
    """
    done = [(t, t.state, t.values) for t in trials if t.state in FINISHED]
    done.sort(key=lambda item: item[0].number)
    if last is not None:
        done = [d for d in done if d[0].number != last[0].number] + [last]
    state: State = {"trials": [], "verdicts": [], "proposals": [], "prompts": []}
    numbers: set[int] = set()
    best: Trial | None = None  # the best so far, as history.best_trial chooses it
    whole: Trial | None = None  # the best trial a pruner did not stop
    for trial, trial_state, values in done:
        config = config_of({k: v for k, v in trial.params.items() if k in space}, space)
        attrs = trial.user_attrs
        index = trial.number  # the agents speak of trials by the numbers the user sees
        base = _index(numbers, attrs.get(f"{PREFIX}base"))
        changes = [ChangeRecord(**c) for c in attrs.get(f"{PREFIX}changes", [])]  # type: ignore[typeddict-item]
        if f"{PREFIX}changes" not in attrs:
            base = best["index"] if best else None
            source = attrs.get(f"{PREFIX}proposed_by", "the study")
            start = best["config"] if best else space.default()
            changes = [
                ChangeRecord(knob=c.knob, old=c.old, new=c.new, reason=f"proposed by {source}")
                for c in diff(start, config)
                if c.new is not None
            ]
        result = result_of(trial, config, trial_state, values, primary)
        item = Trial(
            index=index,
            config=config,
            base=base,
            changes=changes,
            result=result,
            score=result["metrics"].get(primary) if result["status"] == "ok" else None,
            prompt_version=int(attrs.get(f"{PREFIX}prompt_version", 0)),
            timestamp=int(trial.datetime_complete.timestamp() * 1000)
            if trial.datetime_complete
            else 0,
        )
        state["trials"].append(item)
        score = item["score"]
        if score is not None and not history.pruned_by_pruner(item):
            whole = item if whole is None or better(score, whole["score"], maximize) else whole
        if score is not None and (best is None or better(score, best["score"], maximize)):
            best = item
        best = whole or best
        if f"{PREFIX}changes" in attrs:  # the agents' proposal, held to account by the Evaluator
            state["proposals"].append(
                ProposalRecord(
                    for_trial=index,
                    base=base,
                    changes=changes,
                    rationale=str(attrs.get(f"{PREFIX}rationale", "")),
                    expected_effect=str(attrs.get(f"{PREFIX}expected_effect", "")),
                    status=str(attrs.get(f"{PREFIX}proposal_status", "ok")),
                    expected_gain=attrs.get(f"{PREFIX}expected_gain"),
                    expected_outcome=attrs.get(f"{PREFIX}expected_outcome"),
                    probability=attrs.get(f"{PREFIX}probability"),
                    exploratory=bool(attrs.get(f"{PREFIX}exploratory", False)),
                    forecast=attrs.get(f"{PREFIX}forecast"),
                )
            )
        verdict = attrs.get(f"{PREFIX}verdict")
        if isinstance(verdict, dict):
            state["verdicts"].append(VerdictRecord(trial=index, **verdict))  # type: ignore[typeddict-item]
        numbers.add(trial.number)
    state["prompts"] = [PromptVersion(**p) for p in prompts]  # type: ignore[typeddict-item]
    if numbers:  # the last trial, unless a pruner stopped it (it did worse than its peers)
        last_trial = state["trials"][-1]
        stopped = history.pruned_by_pruner(last_trial) and best is not None
        state["base"] = best["index"] if stopped and best else last_trial["index"]
    return state


def _index(numbers: set[int], number: Any) -> int | None:
    return number if isinstance(number, int) and number in numbers else None


def single_objective(study: Study) -> None:
    """Refuse a study with more than one objective, in one clear line."""
    if len(study.directions) != 1:
        raise UserError(
            f"LGTSampler tunes single-objective studies; {study.study_name!r} has"
            f" {len(study.directions)} objectives"
        )


def finished_copy(trial: FrozenTrial, state: TrialState) -> FrozenTrial:
    """Return the trial being told as if it had finished (its distributions count)."""
    copy = FrozenTrial(
        number=trial.number,
        state=state,
        value=None,
        datetime_start=trial.datetime_start,
        datetime_complete=trial.datetime_complete,
        params=trial.params,
        distributions=trial.distributions,
        user_attrs=trial.user_attrs,
        system_attrs=trial.system_attrs,
        intermediate_values=trial.intermediate_values,
        trial_id=trial._trial_id,
    )
    return copy


def study_task(study: Study, metric: str, facts: Mapping[str, Any]) -> StudyTask:
    """Return the study as the agents' task: its name, direction, metric and family."""
    direction = "maximize" if study.direction == StudyDirection.MAXIMIZE else "minimize"
    family, problem = str(facts.get("family", "study")), str(facts.get("problem", "unknown"))
    return StudyTask(study.study_name, direction, metric, family, problem)


def defaults_of(
    trials: Sequence[FrozenTrial], space: Mapping[str, BaseDistribution]
) -> dict[str, Any]:
    """Return the first trial's parameters: the start the agents' changes are told against."""
    first = next((t for t in sorted(trials, key=lambda t: t.number) if t.params), None)
    return {k: v for k, v in (first.params if first else {}).items() if k in space}


def mark(study: Study, trial: FrozenTrial, **attrs: Any) -> None:
    """Set ``lgt_*`` user attributes on a trial, in the storage and on the running copy."""
    for key, value in attrs.items():
        study._storage.set_trial_user_attr(trial._trial_id, f"{PREFIX}{key}", value)
        trial.user_attrs[f"{PREFIX}{key}"] = value  # the running Trial's cached copy
