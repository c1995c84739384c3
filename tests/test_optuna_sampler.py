"""LGTSampler against what Optuna expects of a sampler, and against scripted chat replies."""

import itertools
import json
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from lgt_graph.errors import UserError
from lgt_graph.optuna import LGTSampler
from tests.openai_server import ScriptedOpenAI

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial):
    """A smooth objective over every kind of distribution, its best at x=2, n=7, kind b."""
    x = trial.suggest_float("x", -10, 10)
    rate = trial.suggest_float("rate", 1e-4, 1e-1, log=True)
    n = trial.suggest_int("n", 1, 20)
    stepped = trial.suggest_float("stepped", 0.0, 1.0, step=0.1)
    kind = trial.suggest_categorical("kind", ["a", "b", "c"])
    flag = trial.suggest_categorical("flag", [True, False])
    for step in range(3):
        trial.report(-((x - 2) ** 2) - (2 - step), step)
    trial.set_user_attr("train_loss", [3.0, 2.0, 1.0])
    return (
        -((x - 2) ** 2)
        - abs(n - 7) * 0.1
        - (kind != "b")
        - abs(math.log10(rate) + 2) * 0.1
        - stepped * 0.1
        - 0.1 * flag
    )


class Recording(optuna.samplers.RandomSampler):
    """A random sampler that keeps which (trial, parameter) it was asked to sample."""

    def __init__(self, seed):
        super().__init__(seed=seed)
        self.seen = []

    def sample_independent(self, study, trial, name, distribution):
        self.seen.append((trial.number, name))
        return super().sample_independent(study, trial, name, distribution)


def study_of(sampler, **kwargs):
    return optuna.create_study(direction="maximize", sampler=sampler, **kwargs)


def inside(trial):
    for name, value in trial.params.items():
        distribution = trial.distributions[name]
        assert distribution._contains(distribution.to_internal_repr(value)), (name, value)


def test_the_agents_propose_every_trial_after_the_first_inside_the_distributions():
    study = study_of(LGTSampler(seed=0))
    study.optimize(objective, n_trials=15)
    proposers = [t.user_attrs["lgt_proposed_by"] for t in study.trials]
    assert proposers[0] == "TPESampler"  # no parameter seen yet: the inner sampler's
    assert proposers[1:] == ["lgt"] * 14
    for trial in study.trials:
        inside(trial)
        assert isinstance(trial.params["n"], int) and isinstance(trial.params["flag"], bool)
        assert round(trial.params["stepped"] * 10, 9) == round(trial.params["stepped"] * 10)
    # each proposal is changes to a base trial, with reasons, and each trial has a verdict
    second = study.trials[1]
    assert second.user_attrs["lgt_base"] == 0
    assert second.user_attrs["lgt_changes"] and second.user_attrs["lgt_rationale"]
    changed = {c["knob"] for c in second.user_attrs["lgt_changes"]}
    assert {k for k in second.params if second.params[k] != study.trials[0].params[k]} == changed
    outcomes = {t.user_attrs["lgt_verdict"]["outcome"] for t in study.trials}
    assert outcomes <= {"improved", "neutral", "regressed"} and "improved" in outcomes
    # the tuning went somewhere: the best is well above the first trial
    assert study.best_value > study.trials[0].value + 0.5
    # the Optimizer's prompt versions are kept with the study
    versions = study.user_attrs["lgt_prompts"]
    assert versions[-1]["version"] == len(versions) + 1 and "Prefer:" in versions[-1]["guidance"]


def test_a_regression_sends_the_next_proposal_back_to_the_best():
    study = study_of(LGTSampler(seed=0))
    study.optimize(objective, n_trials=15)
    trials = study.trials
    checked = 0
    for before, after in itertools.pairwise(trials[1:]):
        if before.user_attrs["lgt_verdict"]["outcome"] != "regressed":
            continue
        best = max((t for t in trials if t.number < after.number), key=lambda t: t.value)
        assert (
            "rolls back" in after.user_attrs["lgt_route"]
            or "starts again" in (after.user_attrs["lgt_route"])
        )
        assert after.user_attrs["lgt_base"] == best.number
        checked += 1
    assert checked >= 1


def test_enqueued_trials_are_trained_as_given_and_read_as_history():
    study = study_of(LGTSampler(seed=0))
    default = {"x": 0.0, "rate": 0.01, "n": 7, "stepped": 0.0, "kind": "a", "flag": False}
    study.enqueue_trial(default)
    study.enqueue_trial({**default, "kind": "b"})
    study.optimize(objective, n_trials=4)
    assert study.trials[0].params == default
    assert study.trials[1].params == {**default, "kind": "b"}
    assert "lgt_proposed_by" not in study.trials[1].user_attrs  # Optuna's fixed params
    assert study.trials[1].user_attrs["lgt_verdict"]["outcome"] == "improved"
    assert study.trials[2].user_attrs["lgt_proposed_by"] == "lgt"
    assert study.trials[2].user_attrs["lgt_base"] == 1  # the improved trial is the base
    assert study.trials[2].params["kind"] == "b"


def test_failed_and_pruned_trials_are_judged_and_never_the_base():
    def flaky(trial):
        value = objective(trial)
        if trial.number == 1:
            raise ValueError("the objective broke")
        if trial.number == 2:
            raise optuna.TrialPruned()
        return value

    study = study_of(LGTSampler(seed=0))
    study.optimize(flaky, n_trials=6, catch=(ValueError,))
    states = [t.state for t in study.trials]
    assert states[1] == TrialState.FAIL and states[2] == TrialState.PRUNED
    assert study.trials[1].user_attrs["lgt_verdict"]["outcome"] == "failed"
    assert "raised an error" in study.trials[1].user_attrs["lgt_verdict"]["diagnosis"]
    assert study.trials[2].user_attrs["lgt_base"] == 0  # after the failure: back to the best
    assert study.trials[3].user_attrs["lgt_base"] == 0  # a pruned trial is no base either
    for trial in study.trials[3:]:
        inside(trial)
        assert trial.user_attrs["lgt_proposed_by"] == "lgt"


def test_a_parameter_seen_for_the_first_time_is_sampled_by_the_inner_sampler():
    def growing(trial):
        value = -((trial.suggest_float("x", -5, 5) - 1) ** 2)
        if trial.number >= 3:
            value -= trial.suggest_int("extra", 0, 10) * 0.01
        return value

    study = study_of(LGTSampler(seed=0, independent_sampler=(inner := Recording(seed=0))))
    study.optimize(growing, n_trials=6)
    seen = inner.seen
    assert (0, "x") in seen and (3, "extra") in seen  # first seen: independent
    assert not [s for s in seen if s[0] in (1, 2, 4, 5)]  # after that: the agents' proposal
    for trial in study.trials:
        inside(trial)


def test_a_parameter_first_seen_on_the_agents_trial_takes_its_default_when_given():
    def growing(trial):
        value = -((trial.suggest_float("x", -5, 5) - 1) ** 2)
        if trial.number >= 3:
            value -= trial.suggest_int("extra", 0, 10, step=2) * 0.01
            value -= trial.suggest_categorical("kind", ["a", "b"]) == "a"
        return value

    sampler = LGTSampler(
        seed=0, independent_sampler=(inner := Recording(seed=0)), defaults={"extra": 4, "kind": "c"}
    )
    study = study_of(sampler)
    study.optimize(growing, n_trials=5)
    third, seen = study.trials[3], inner.seen
    assert third.user_attrs["lgt_proposed_by"] == "lgt"
    assert third.params["extra"] == 4  # its default, not a draw
    assert third.user_attrs["lgt_defaulted"] == ["extra"]
    assert (3, "extra") not in seen
    assert (3, "kind") in seen  # "c" is not one of its choices: drawn
    assert (0, "x") in seen and not [s for s in seen if s[0] in (1, 2, 4)]
    for trial in study.trials:
        inside(trial)


def test_a_default_outside_the_distribution_is_not_taken():
    from lgt_graph.optuna.space import inside as contains

    stepped = IntDistribution(0, 10, step=2)
    assert contains(stepped, 4) and not contains(stepped, 3) and not contains(stepped, 12)
    assert contains(CategoricalDistribution(["a", True]), True)
    assert not contains(CategoricalDistribution(["a", "b"]), "c")
    assert not contains(FloatDistribution(0.0, 1.0), "text")


def test_a_study_resumed_from_rdb_storage_continues_the_agents_history(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = study_of(LGTSampler(seed=0), storage=storage, study_name="s")
    first.optimize(objective, n_trials=6)
    prompts = first.user_attrs["lgt_prompts"]
    again = optuna.load_study(study_name="s", storage=storage, sampler=LGTSampler(seed=0))
    again.optimize(objective, n_trials=4)
    trials = again.trials
    assert len(trials) == 10
    assert [t.user_attrs["lgt_proposed_by"] for t in trials[6:]] == ["lgt"] * 4
    assert again.user_attrs["lgt_prompts"][: len(prompts)] == prompts
    seen = {json.dumps(t.params, sort_keys=True) for t in trials[:6]}
    assert all(json.dumps(t.params, sort_keys=True) not in seen for t in trials[6:])
    assert again.best_value >= first.best_value


def test_parallel_workers_each_get_a_proposal_inside_the_distributions():
    study = study_of(LGTSampler(seed=0))
    study.optimize(objective, n_trials=10, n_jobs=2)
    assert len(study.trials) == 10
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    for trial in study.trials:
        inside(trial)
        assert "lgt_verdict" in trial.user_attrs


def test_trials_that_run_at_once_are_never_handed_the_same_proposal(tmp_path):
    meet = threading.Barrier(2, timeout=60)

    def together(trial):
        meet.wait()  # both trials of a pair are running, and neither has asked, when one asks
        return objective(trial)

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = study_of(LGTSampler(seed=0), storage=storage)
    study.optimize(together, n_trials=6, n_jobs=2)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    for first, second in (trials[2:4], trials[4:6]):  # each pair overlapped in time
        assert max(first.datetime_start, second.datetime_start) < min(
            first.datetime_complete, second.datetime_complete
        )
    params = [json.dumps(t.params, sort_keys=True) for t in trials]
    assert len(set(params)) == len(params)  # no evaluation spent on a repeat
    # the agents proposed both trials of each pair: told the other's, they proposed apart
    assert [t.user_attrs["lgt_proposed_by"] for t in trials[2:]] == ["lgt"] * 4


def test_two_processes_on_one_rdb_study_never_train_the_same_proposal(tmp_path):
    """Two samplers share no lock, as two processes do: the claim keeps their trials apart."""
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study_of(None, storage=storage, study_name="shared")
    meet = threading.Barrier(2, timeout=60)

    def together(trial):
        meet.wait()
        return objective(trial)

    def worker(seed):  # seeded apart: two TPEs with one seed would draw the same first trial
        sampler = LGTSampler(seed=seed)
        study = optuna.load_study(study_name="shared", storage=storage, sampler=sampler)
        study.optimize(together, n_trials=2)

    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(worker, seed) for seed in (0, 1)]:
            done.result()
    trials = optuna.load_study(study_name="shared", storage=storage).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    params = [json.dumps(t.params, sort_keys=True) for t in trials]
    assert len(set(params)) == len(params)
    for trial in trials:
        inside(trial)


def test_a_multi_objective_study_is_refused_with_a_clear_error():
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=LGTSampler())
    with pytest.raises(UserError, match="single-objective"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=1)


SPACE = {
    "x": FloatDistribution(-10, 10),
    "n": IntDistribution(1, 20),
    "kind": CategoricalDistribution(["a", "b", "c"]),
}


def _ask_tell(study, value):
    trial = study.ask(SPACE)
    study.tell(trial, value(trial.params))
    return study.trials[-1]


def proposal(*changes):
    return {
        "args": {
            "changes": [{"knob": k, "value": v, "reason": "scripted"} for k, v in changes],
            "rationale": "scripted",
            "expected_effect": "a better objective",
            "start_from": "current",
        }
    }


def scripted(*proposals):
    """A chat server whose Advisor replies ``proposals`` in turn; the other agents' fail."""
    return ScriptedOpenAI({"Proposal": list(proposals), "*": [{"content": "no"}]})


def test_a_model_proposing_out_of_range_values_is_told_and_its_repair_is_used():
    with scripted(proposal(("x", 99.0)), proposal(("x", 9.5), ("n", 8))) as server:
        sampler = LGTSampler("openai:scripted", base_url=server.url, max_retries=0, seed=0)
        study = study_of(sampler)
        _ask_tell(study, lambda p: -abs(p["x"]))
        trial = _ask_tell(study, lambda p: -abs(p["x"]))
    assert trial.user_attrs["lgt_proposed_by"] == "lgt"
    assert trial.user_attrs["lgt_proposal_status"].startswith("repaired")
    assert trial.params["x"] == 9.5 and trial.params["n"] == 8
    inside(trial)
    told = [r for r in server.requests if "Proposal" in json.dumps(r.get("tools", ""))][1]
    assert "out of range" in json.dumps(told["messages"][-1])  # the error went back


def test_a_model_that_stays_out_of_range_falls_back_to_the_inner_sampler():
    with scripted(proposal(("x", 99.0)), proposal(("kind", "z"))) as server:
        sampler = LGTSampler("openai:scripted", base_url=server.url, max_retries=0, seed=0)
        study = study_of(sampler)
        _ask_tell(study, lambda p: p["n"])
        trial = _ask_tell(study, lambda p: p["n"])
    assert trial.user_attrs["lgt_proposed_by"] == "TPESampler"
    assert "fallback" in trial.user_attrs["lgt_why"]
    inside(trial)
    proposals = [r for r in server.requests if "Proposal" in json.dumps(r.get("tools", ""))]
    assert len(proposals) == 2  # asked, told the error once, then given up on


def test_a_study_is_recorded_in_mlflow_a_run_per_trial_with_its_textual_gradient(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    study = study_of(LGTSampler(seed=0, tracking_uri=uri), study_name="mine")
    study.optimize(objective, n_trials=6)
    client = MlflowClient(uri)
    (experiment,) = [e for e in client.search_experiments() if e.name == "optuna-mine"]
    (parent,) = client.search_runs([experiment.experiment_id], "tags.kind = 'optuna-study'")
    assert study.user_attrs["lgt_mlflow_run"] == parent.info.run_id
    runs = client.search_runs([experiment.experiment_id], "tags.kind = 'trial'")
    assert sorted(int(r.data.tags["optuna.trial"]) for r in runs) == list(range(6))
    by_number = {int(r.data.tags["optuna.trial"]): r for r in runs}
    second = by_number[1]
    assert second.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert second.data.tags["lgt.proposed_by"] == "lgt"
    assert second.data.params["x"] == str(study.trials[1].params["x"])
    assert second.data.metrics["val_objective"] == study.trials[1].value
    files = {a.path for a in client.list_artifacts(second.info.run_id)}
    assert {"proposal.md", "textual_gradient.md"} <= files
    gradient = client.download_artifacts(second.info.run_id, "textual_gradient.md")
    assert study.trials[1].user_attrs["lgt_verdict"]["diagnosis"] in Path(gradient).read_text()
    prompts = client.list_artifacts(parent.info.run_id, "prompts")
    assert len(prompts) == len(study.user_attrs["lgt_prompts"]) >= 1


def test_the_hybrid_gives_the_agents_their_share_of_the_trials_and_tpe_the_rest():
    sampler = LGTSampler(seed=0, mode="hybrid", llm_share=0.25, stall=None, follow=False)
    study = study_of(sampler)
    study.optimize(objective, n_trials=20)
    by = [t.user_attrs["lgt_proposed_by"] for t in study.trials]
    assert [n for n, who in enumerate(by) if who == "lgt"] == [1, 5, 9, 13, 17]
    assert set(by) == {"lgt", "TPESampler"}
    assert "share" in study.trials[5].user_attrs["lgt_turn"]
    for trial in study.trials:
        inside(trial)
        assert "lgt_verdict" in trial.user_attrs  # every trial judged, whoever proposed it


def test_the_hybrid_hands_the_agents_a_turn_when_the_sampler_stalls():
    def flat(trial):
        objective(trial)
        return 1.0 if trial.number == 0 else 0.0  # nothing ever beats the first trial

    study = study_of(LGTSampler(seed=0, mode="hybrid", llm_share=0.01, stall=3))
    study.optimize(flat, n_trials=12)
    by = [t.user_attrs["lgt_proposed_by"] for t in study.trials]
    # trial 1 is the agents' share; 2-4 are the sampler's and do not improve: 5 is the
    # agents'; again at 9
    assert [n for n, who in enumerate(by) if who == "lgt"] == [1, 5, 9]
    assert "has not improved the best in 3 trials" in study.trials[5].user_attrs["lgt_turn"]


def test_the_hybrid_follows_up_an_agents_trial_that_improved_until_one_does_not():
    def climbing(trial):
        objective(trial)  # the parameters are sampled (and the proposer recorded) first
        if trial.user_attrs["lgt_proposed_by"] == "lgt" and trial.number <= 3:
            return float(trial.number)  # trials 1-3 each improve the best
        return 0.0

    sampler = LGTSampler(seed=0, mode="hybrid", llm_share=0.01, stall=None)
    study = study_of(sampler)
    study.optimize(climbing, n_trials=10)
    by = [t.user_attrs["lgt_proposed_by"] for t in study.trials]
    # 1 is the agents' share; 2-4 follow a gain; 4 misses, so the sampler takes over
    assert [n for n, who in enumerate(by) if who == "lgt"] == [1, 2, 3, 4]
    assert "trial 1 improved the best: they follow it up" in study.trials[2].user_attrs["lgt_turn"]
    assert "sampler's turn" in study.trials[5].user_attrs["lgt_why"]
    unfollowed = study_of(
        LGTSampler(seed=0, mode="hybrid", llm_share=0.01, stall=None, follow=False)
    )
    unfollowed.optimize(climbing, n_trials=4)
    assert [t.user_attrs["lgt_proposed_by"] for t in unfollowed.trials].count("lgt") == 1


def test_a_wrong_mode_or_share_is_refused_clearly():
    with pytest.raises(UserError, match="mode must be one of lgt, hybrid"):
        LGTSampler(mode="both")
    with pytest.raises(UserError, match="llm_share must be in"):
        LGTSampler(mode="hybrid", llm_share=1.5)


def test_every_kind_of_distribution_gets_values_inside_it():
    """As Optuna's own sampler tests do: steps, log scales and mixed-type choices."""

    def kinds(trial):
        values = [
            trial.suggest_float("f_step", -1.0, 1.0, step=0.25),
            trial.suggest_float("f_log", 1e-5, 1.0, log=True),
            trial.suggest_int("i_step", 0, 30, step=3),
            trial.suggest_int("i_log", 1, 1024, log=True),
        ]
        choice = trial.suggest_categorical("mixed", [None, 1, "a", 2.5, True])
        return sum(values) + (choice == "a")

    study = study_of(LGTSampler(seed=0))
    study.optimize(kinds, n_trials=12)
    assert [t.user_attrs["lgt_proposed_by"] for t in study.trials[1:]] == ["lgt"] * 11
    for trial in study.trials:
        inside(trial)
        assert isinstance(trial.params["i_step"], int) and trial.params["i_step"] % 3 == 0
        assert trial.params["f_step"] * 4 == round(trial.params["f_step"] * 4)
    assert {type(t.params["mixed"]) for t in study.trials} <= {type(None), int, str, float, bool}


def test_the_hybrid_method_respects_its_share_in_a_session(tmp_path):
    from lgt_graph.context import Settings
    from lgt_graph.session import run_session

    settings = Settings.resolve(
        task="iris",
        method="hybrid",
        llm_share=0.5,
        follow=False,
        budget=6,
        threads=1,
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        limits={"epochs": (1, 5)},
    )
    outcome = run_session(settings, checkpoints=str(tmp_path / "c.db"), echo=lambda _: None)
    proposals = outcome.values["proposals"]
    by = [p["changes"][0]["reason"].split(", ")[-1] if p["changes"] else "-" for p in proposals]
    # trial 1 is the default (no proposal); Optuna's trials 1, 3, 5 (ours 2, 4, 6) are the
    # agents', at a share of 0.5
    assert [p["for_trial"] for p in proposals] == [2, 3, 4, 5, 6]
    assert by == ["proposed by lgt", "proposed by TPESampler"] * 2 + ["proposed by lgt"]
    assert "Proposed by lgt:" in proposals[0]["rationale"]


def test_a_model_family_the_agents_switch_to_starts_from_the_task_defaults():
    from lgt_graph.baselines.optuna_search import OptunaSearch
    from lgt_graph.space import space_for

    space = space_for("tabular_classification")
    with scripted(proposal(("model", "random_forest"))) as server:
        agents = {"llm": "openai:scripted", "base_url": server.url}
        search = OptunaSearch(space, 6, 0, maximize=True, sampler="lgt", agents=agents)
        first = search.ask()
        search.tell(first, 0.5, curve=[0.4, 0.5])
        second = search.ask()
    assert first == space.default() and second["model"] == "random_forest"
    forest = ("n_estimators", "tree_max_depth", "randomized_splits", "min_samples_leaf")
    assert {k: second[k] for k in forest} == {k: space.default()[k] for k in forest}
    trial = search.study.trials[-1]
    assert trial.user_attrs["lgt_proposed_by"] == "lgt"
    assert sorted(trial.user_attrs["lgt_defaulted"]) == sorted(forest)


def test_given_the_whole_space_the_agents_set_a_new_familys_knobs_with_the_switch():
    def conditional(trial):
        model = trial.suggest_categorical("model", ["linear", "forest"])
        if model == "linear":
            return -abs(trial.suggest_float("alpha", 1e-3, 10.0, log=True) - 1)
        trees = trial.suggest_int("trees", 10, 500)
        leaf = trial.suggest_int("leaf", 1, 20)
        return 1 - abs(trees - 300) / 1000 - abs(leaf - 5) / 100

    space = {
        "model": CategoricalDistribution(["linear", "forest"]),
        "alpha": FloatDistribution(1e-3, 10.0, log=True),
        "trees": IntDistribution(10, 500),
        "leaf": IntDistribution(1, 40),  # wider than the objective asks: repaired into it
    }
    switch = proposal(("model", "forest"), ("trees", 300), ("leaf", 30))
    with scripted(switch) as server:
        sampler = LGTSampler(
            "openai:scripted",
            base_url=server.url,
            max_retries=0,
            independent_sampler=(inner := Recording(seed=0)),
            space=space,
            defaults={"model": "linear", "alpha": 1.0, "trees": 100, "leaf": 1},
        )
        study = study_of(sampler)
        study.enqueue_trial({"model": "linear", "alpha": 0.5})
        study.optimize(conditional, n_trials=2)
    second = study.trials[1]
    assert second.user_attrs["lgt_proposed_by"] == "lgt"
    # the agents' values, not the defaults (100 trees, leaf 1) or draws; 30 clipped to 20
    assert second.params == {"model": "forest", "trees": 300, "leaf": 20}
    assert not [s for s in inner.seen if s[0] == 1]
    assert "lgt_defaulted" not in second.user_attrs
    advisor = next(r for r in server.requests if "Proposal" in json.dumps(r.get("tools", "")))
    assert "trees" in json.dumps(advisor["messages"])  # the agents were shown the whole space
    inside(second)


def test_every_task_knob_has_the_distribution_the_baselines_suggest_it_with():
    from lgt_graph.baselines.optuna_search import suggest
    from lgt_graph.optuna.space import distribution_of
    from lgt_graph.space import FAMILIES, space_for

    for family in FAMILIES:
        knobs = space_for(family).knobs.values()
        trial = optuna.create_study().ask()
        for knob in knobs:
            suggest(trial, knob)
        assert trial.distributions == {k.name: distribution_of(k) for k in knobs}, family
