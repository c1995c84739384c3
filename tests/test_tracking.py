import pytest
from mlflow.tracking import MlflowClient

from lgt_graph.errors import UserError
from lgt_graph.space import space_for
from lgt_graph.tasks import TASKS, load_task_data
from lgt_graph.tracking import Tracker
from lgt_graph.training import train


@pytest.fixture(scope="module")
def iris():
    return load_task_data(TASKS["iris"], seed=0)


def config(data, **changes):
    space = space_for(data.task.family)
    return space.apply(space.default(), changes)


@pytest.mark.parametrize("background", [False, True])
def test_a_trial_is_a_run_with_params_curves_and_tags(iris, store_uri, background):
    result = train(config(iris, epochs=7), iris)
    tracker = Tracker(store_uri, "lgt-test", background=background)
    future = tracker.log_trial(result, tags={"task": "iris", "seed": "0"}, run_name="t1")
    tracker.close()
    run_id = future.result()

    client = MlflowClient(store_uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {
        k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in result.config.items()
    }
    assert run.data.tags["task"] == "iris" and run.data.tags["status"] == "ok"
    assert run.data.tags["diagnostics.epochs_run"] == "7"
    history = client.get_metric_history(run_id, "curve/val_loss")
    assert [m.step for m in history] == list(range(1, 8))
    assert [m.value for m in history] == pytest.approx(result.curves["val_loss"])
    assert run.data.metrics["val_accuracy"] == pytest.approx(result.metrics["accuracy"])
    assert run.data.metrics["wall_time_s"] == pytest.approx(result.wall_time)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "lgt-test"
    assert store_uri[len("sqlite:///") :].rsplit("/", 1)[0] in experiment.artifact_location


def test_a_failed_trial_is_a_failed_run_with_its_traceback(iris, store_uri, tmp_path):
    import numpy as np
    import pandas as pd

    from lgt_graph.tasks.base import Dataset, split

    frame = pd.DataFrame(np.ones((30, 40)), columns=[f"f{i}" for i in range(40)])
    data = split(TASKS["iris"], Dataset(X=frame, y=np.repeat([0, 1, 2], 10)), seed=0)
    result = train(config(data, polynomial_degree=3), data)
    tracker = Tracker(store_uri, "lgt-test")
    run_id = tracker.log_trial(result, tags={"task": "synthetic"}).result()
    client = MlflowClient(store_uri)
    run = client.get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["status"] == "failed"
    assert "polynomial_degree=3" in run.data.tags["failure_reason"]
    text = tmp_path / "failure.txt"
    client.download_artifacts(run_id, "failure.txt", str(tmp_path))
    assert "FeatureError" in text.read_text()


def test_nested_trials_point_at_their_parent(iris, store_uri):
    tracker = Tracker(store_uri, "lgt-test")
    parent = tracker.client.create_run(tracker.experiment_id, run_name="session").info.run_id
    result = train(config(iris, model="linear"), iris)
    child = tracker.log_trial(result, tags={}, parent_run_id=parent).result()
    runs = tracker.client.search_runs(
        [tracker.experiment_id], f"tags.mlflow.parentRunId = '{parent}'"
    )
    assert [r.info.run_id for r in runs] == [child]


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("sqlite:////no/such/folder/mlflow.db", "folder /no/such/folder does not exist"),
        ("mlflow.db", "is not a URI"),
        ("bogus://x", "--tracking-uri bogus://x: unknown scheme 'bogus'"),
    ],
)
def test_bad_tracking_uri_is_a_user_error(uri, message):
    with pytest.raises(UserError, match=message):
        Tracker(uri, "x")


@pytest.mark.parametrize(
    ("task", "changes", "series"),
    [
        ("digits", {"model": "cnn", "epochs": 2, "channels": 4}, "curve/val_accuracy"),
        ("iris", {"model": "gbm", "n_estimators": 15}, "curve/val_accuracy"),
        ("wine", {"epochs": 3, "scaling": "standard"}, "curve/val_mae"),
    ],
)
def test_one_short_trial_per_family_is_found_in_the_store(store_uri, task, changes, series):
    from tests.conftest import DATA_DIR

    if task == "wine" and DATA_DIR is None:
        pytest.skip("wine needs the real datasets (LGT_DATA_DIR)")
    data = load_task_data(TASKS[task], seed=0, data_dir=DATA_DIR)
    result = train(config(data, **changes), data)
    assert result.ok, result.reason
    tracker = Tracker(store_uri, f"lgt-{task}", background=True)
    tracker.log_trial(result, tags={"task": task, "family": data.task.family})
    tracker.close()
    client = MlflowClient(store_uri)
    (run,) = client.search_runs([tracker.experiment_id], f"tags.task = '{task}'")
    assert run.data.tags["family"] == data.task.family
    assert run.data.params["model"] == str(result.config["model"])
    history = client.get_metric_history(run.info.run_id, series)
    assert [m.step for m in history] == result.steps
