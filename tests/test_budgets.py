"""Budgets in trials, epochs trained and seconds of training: a session stops at the first
trial that reaches one, never later, and says which budget ended it."""

import dataclasses

import pytest

from lgt_graph.context import TRIAL_CAP, Settings
from lgt_graph.errors import UserError
from lgt_graph.graph import budgets
from lgt_graph.history import seconds_used, trial_epochs, trial_seconds
from tests.test_cli import run_cli
from tests.test_session import session


def _finalize_reason(outcome) -> str:
    return next(t["why"] for t in outcome.values["transitions"] if t["target"] == "finalize")


def _stopped_at_the_first_trial_past(costs: list[float], cap: float) -> None:
    """The session spent less than ``cap`` before its last trial, and ``cap`` or more with it."""
    assert sum(costs[:-1]) < cap <= sum(costs)


def test_a_seconds_budget_alone_lifts_the_trial_cap_and_an_explicit_one_still_applies():
    assert Settings.resolve(task="iris", budget_seconds=5).budget == TRIAL_CAP
    assert Settings.resolve(task="iris", budget_epochs=50).budget == TRIAL_CAP
    assert Settings.resolve(task="iris", budget=4, budget_seconds=5).budget == 4
    assert Settings.resolve(task="iris").budget == 10
    # the epoch-level loop's budget counts epochs: --budget-epochs is that budget
    assert Settings.resolve(task="iris", loop="epoch", budget_epochs=12).budget == 12
    # ... and --budget-seconds alone lifts its epoch cap, as it lifts the trial cap
    epochs_by_seconds = Settings.resolve(task="iris", loop="both", budget_seconds=5)
    assert epochs_by_seconds.budget == TRIAL_CAP
    assert budgets.describe(epochs_by_seconds) == "5 s of training"
    with pytest.raises(UserError, match="--budget-seconds must be positive"):
        Settings.resolve(task="iris", budget_seconds=0)
    with pytest.raises(UserError, match="--budget-epochs must be at least 1"):
        Settings.resolve(task="iris", budget_epochs=0)
    assert budgets.describe(Settings.resolve(task="iris", budget_seconds=5)) == ("5 s of training")
    assert budgets.describe(Settings.resolve(task="iris", budget=4, budget_epochs=30)) == (
        "4 trials, 30 epochs trained"
    )


@pytest.mark.parametrize("method", ["random", "lgt"])
def test_a_method_stops_at_its_seconds_never_past_them_by_more_than_one_trial(
    store_uri, tmp_path, method
):
    cap = 4.0
    # nets of at most 5 epochs: several trials fit in the cap even on a loaded machine
    outcome = session(
        store_uri,
        tmp_path,
        task="iris",
        method=method,
        budget_seconds=cap,
        limits={"epochs": (1, 5)},
    )
    trials = outcome.values["trials"]
    assert 2 <= len(trials) < TRIAL_CAP
    _stopped_at_the_first_trial_past([trial_seconds(t) for t in trials], cap)
    assert "s of training is spent" in _finalize_reason(outcome)
    assert outcome.values["final"]["status"] == "ok"


def test_a_method_stops_at_its_epochs_never_past_them_by_more_than_one_trial(store_uri, tmp_path):
    cap = 70  # iris's default net trains 30 epochs; a tree ensemble's fit counts one
    outcome = session(store_uri, tmp_path, task="iris", method="random", budget_epochs=cap)
    trials = outcome.values["trials"]
    epochs = [trial_epochs(t) for t in trials]
    _stopped_at_the_first_trial_past(epochs, cap)
    assert any(e > 1 for e in epochs)  # nets were counted by their epochs, not as one
    assert f"the budget of {cap} epochs is spent" in _finalize_reason(outcome)


def test_an_explicit_trial_budget_ends_a_session_before_its_seconds(store_uri, tmp_path):
    outcome = session(
        store_uri, tmp_path, task="iris", method="random", budget=2, budget_seconds=1e6
    )
    assert len(outcome.values["trials"]) == 2
    assert _finalize_reason(outcome) == "the budget of 2 trials is spent"


def test_the_epoch_level_loop_stops_at_its_seconds_and_knows_its_horizon(store_uri, tmp_path):
    cap = 0.5
    outcome = session(store_uri, tmp_path, task="iris", loop="epoch", budget_seconds=cap)
    settings, state = outcome.ctx.settings, outcome.values
    assert settings.budget == TRIAL_CAP  # the seconds alone bound the run
    trials = state["trials"]
    _stopped_at_the_first_trial_past([trial_seconds(t) for t in trials], cap)
    assert "s of training is spent" in _finalize_reason(outcome)
    # the horizon the live rules read: what the seconds left pay for at the pace so far
    spent, used = state["run"]["epochs_trained"], seconds_used(state)
    assert budgets.epoch_horizon(state, settings) == spent  # nothing left
    pace = used / spent
    longer = dataclasses.replace(settings, budget_seconds=used + 10.5 * pace)
    assert budgets.epoch_horizon(state, longer) == spent + 10
    capped = dataclasses.replace(longer, budget=spent + 3)  # the epoch budget comes first
    assert budgets.epoch_horizon(state, capped) == spent + 3


def test_the_advisor_is_told_the_seconds_left(store_uri, tmp_path):
    from lgt_graph.agents.prompting import advisor_messages

    outcome = session(store_uri, tmp_path, task="iris", method="random", budget_seconds=1e-3)
    first = outcome.values["trials"][0]
    state = {**outcome.values, "trials": [first]}
    cap = trial_seconds(first) + 5.0  # as if the session had 5 s left after trial 1
    settings = dataclasses.replace(outcome.ctx.settings, budget_seconds=cap)
    left, unit = budgets.left(state, settings)
    assert (left, unit) == (round(cap - trial_seconds(first), 1), "seconds") == (5.0, "seconds")
    ctx = dataclasses.replace(outcome.ctx, settings=settings)
    text = "\n".join(str(m.content) for m in advisor_messages(state, ctx, first))
    assert "Seconds of training left in the budget: 5.0" in text
    # the session itself spent its whole budget on trial 1: never a negative amount left
    assert len(outcome.values["trials"]) == 1
    assert budgets.left(outcome.values, outcome.ctx.settings) == (0, "seconds")


def test_a_bad_budget_flag_is_one_clear_error(tmp_path):
    proc = run_cli("run", "--task", "iris", "--budget-seconds", "-3", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--budget-seconds must be positive, got -3.0" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_net_stops_after_the_epoch_in_which_the_seconds_run_out(store_uri, tmp_path):
    cap = 1.0
    outcome = session(
        store_uri,
        tmp_path,
        task="digits",
        method="random",
        budget_seconds=cap,
        max_train_samples=400,
        # the default trial alone would train far past the budget, warm or cold
        start={"epochs": 200, "batch_size": 16, "width": 512},
    )
    first = outcome.values["trials"][0]
    diagnostics = first["result"]["diagnostics"]
    assert diagnostics["pruned_by"] == "budget"
    assert diagnostics["epochs_run"] == diagnostics["pruned_at"] < 200
    # no more epochs than fit in the budget, plus the one in which it ran out
    assert diagnostics["pruned_at"] <= cap / diagnostics["seconds_per_epoch"] + 1
    assert len(outcome.values["trials"]) == 1 and "s of training is spent" in _finalize_reason(
        outcome
    )
    # the cut trial is the session's choice, refit to the same epoch and stopped there: the
    # same model (the same validation score), no more compute than the trial had
    final = outcome.values["final"]
    assert final["status"] == "ok" and final["trial"] == 1
    assert final["val"]["accuracy"] == first["score"]


def test_a_forest_stops_after_the_stage_in_which_the_seconds_run_out(store_uri, tmp_path):
    cap = 0.3
    outcome = session(
        store_uri,
        tmp_path,
        task="iris",
        method="random",
        budget_seconds=cap,
        # a thousand trees: about a second on one thread, past the cap
        start={"model": "random_forest", "n_estimators": 1000},
    )
    first = outcome.values["trials"][0]
    result = first["result"]
    diagnostics = result["diagnostics"]
    assert result["step_unit"] == "trees" and diagnostics["pruned_by"] == "budget"
    # stopped at the end of a stage (a tenth of the trees), not at the thousandth tree
    assert diagnostics["pruned_at"] == result["steps"][-1] < 1000
    assert len(result["steps"]) < 10
    assert len(outcome.values["trials"]) == 1 and "s of training is spent" in _finalize_reason(
        outcome
    )
    # the refit grows the same stages and stops after the same one: the same forest
    final = outcome.values["final"]
    assert final["status"] == "ok" and final["trial"] == 1
    assert final["val"]["accuracy"] == first["score"]


def test_a_forests_stages_meet_the_seconds_budget_but_never_the_pruner():
    from lgt_graph.training.result import Pruned
    from lgt_graph.training.stops import judged

    def always(epoch, value):
        return True

    step = judged(None, always, "accuracy", seconds_left=None)
    step({"epoch": 112, "epochs": 1000, "unit": "trees", "val_accuracy": 0.5})  # not pruned
    with pytest.raises(Pruned) as stopped:
        step({"epoch": 3, "epochs": 10, "val_accuracy": 0.5})  # a net's epoch: pruned
    assert stopped.value.by == "pruner"
    spent = judged(None, always, "accuracy", seconds_left=0.0)
    with pytest.raises(Pruned) as cut:
        spent({"epoch": 112, "epochs": 1000, "unit": "trees", "val_accuracy": 0.5})
    assert cut.value.by == "budget"
    spent({"epoch": 1000, "epochs": 1000, "unit": "trees"})  # the last stage is never cut


def test_a_trial_cut_by_the_budget_competes_and_one_the_pruner_stopped_does_not():
    from lgt_graph import history

    def trial(index, score, **diagnostics):
        return {"index": index, "score": score, "result": {"diagnostics": diagnostics}}

    whole = trial(1, 0.80)
    cut = trial(2, 0.90, pruned_at=3, pruned_by="budget")
    stopped = trial(3, 0.95, pruned_at=1, pruned_by="pruner")
    state = {"trials": [whole, cut, stopped]}
    assert history.best_trial(state, maximize=True) is cut
    assert history.cut_at(cut) == 3 and history.cut_at(whole) is None
    # with nothing else, a pruned trial is still better than no choice at all
    assert history.best_trial({"trials": [stopped]}, maximize=True) is stopped
