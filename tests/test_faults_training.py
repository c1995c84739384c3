"""Fault suite, training: a loss that turns inf, gradients that explode, a fit that raises.

Each is a failed trial with its reason, in the state and in MLflow; the session rolls
back to the best configuration and carries on to a good trial.
"""

import re

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from lgt_graph.context import Settings
from lgt_graph.session import run_session
from lgt_graph.tasks import get_task, load_task_data
from lgt_graph.training import train

REASONS = [
    r"diverged: (training|validation) loss became (nan|inf) at epoch \d+",
    r"diverged: training loss exploded to .* exploding gradients",
    r"(TypeError|ValueError): ",
]


def wide_csv(path):
    """40 numeric features on scales from 1 to 300 (unscaled, as users' CSVs are)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 40)) * np.geomspace(1, 300, 40)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(40)])
    frame["target"] = X[:, :5] @ rng.normal(size=5) / 50 + rng.normal(size=240)
    frame.to_csv(path, index=False)
    return path


def test_a_session_records_each_training_fault_rolls_back_and_carries_on(store_uri, tmp_path):
    csv = wide_csv(tmp_path / "wide.csv")
    settings = Settings.resolve(
        task=f"csv:{csv}",
        target="target",
        budget=5,
        tracking_uri=store_uri,
        # raw features and target, as the data comes: the faults below are the user's
        start={"scaling": "none", "target_transform": "none"},
        nodes={
            "advisor": "tests.custom_nodes:fault_advisor",
            "train": "tests.custom_nodes:train_on_a_broken_column",
        },
    )
    outcome = run_session(settings, checkpoints=str(tmp_path / "ck.db"), echo=lambda line: None)
    values = outcome.values
    trials = values["trials"]
    assert len(trials) == 5 and values["final"]["status"] == "ok"
    assert trials[0]["score"] is not None and trials[4]["score"] is not None
    for trial, pattern in zip(trials[1:4], REASONS, strict=True):
        assert trial["score"] is None and trial["result"]["status"] == "failed"
        assert re.match(pattern, trial["result"]["reason"]), trial["result"]["reason"]
        assert "Traceback" in trial["result"]["diagnostics"]["traceback"]
        assert trial["base"] == 1  # each fault was proposed from the best, after a rollback
    rollbacks = [t["iteration"] for t in values["transitions"] if t["target"] == "rollback"]
    assert rollbacks == [2, 3, 4]
    verdicts = {v["trial"]: v for v in values["verdicts"]}
    for i in (2, 3, 4):  # the Evaluator's diagnosis names the failure and its reason
        reason = trials[i - 1]["result"]["reason"]
        assert verdicts[i]["diagnosis"].startswith(f"Trial {i} failed: {reason}")
    assert [verdicts[i]["outcome"] for i in (2, 3, 4)] == ["failed"] * 3
    assert verdicts[5]["outcome"] == "improved" and values["final"]["trial"] == 5

    client = MlflowClient(store_uri)
    parent = client.get_run(outcome.session_id)
    assert parent.info.status == "FINISHED"
    runs = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{outcome.session_id}'"
    )
    by_trial = {int(r.data.tags["lgt.trial"]): r for r in runs}
    assert sorted(by_trial) == [1, 2, 3, 4, 5]
    for index, pattern in zip((2, 3, 4), REASONS, strict=True):
        run = by_trial[index]
        assert run.info.status == "FAILED"
        assert re.match(pattern, run.data.tags["failure_reason"])
    assert by_trial[5].info.status == "FINISHED"


def test_any_exception_inside_a_fit_is_a_failed_trial(tmp_path):
    data = load_task_data(get_task(f"csv:{wide_csv(tmp_path / 'w.csv')}", "target"), seed=0)
    from lgt_graph.space import space_for

    space = space_for(data.task.family)
    # Features the trainer cannot turn into numbers: a TypeError deep inside the fit.
    data.X_train = data.X_train.astype(object)
    data.X_train.iloc[0, 0] = "n/a"
    result = train(space.default(), data)
    assert result.status == "failed" and result.score("mae") is None
    assert result.reason.split(":")[0] in ("TypeError", "ValueError")
    assert "Traceback" in result.diagnostics["traceback"]
