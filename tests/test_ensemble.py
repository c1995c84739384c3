"""The ensemble final choice: Caruana's greedy selection over a session's best trials."""

import numpy as np
import pytest

from lgt_graph.context import Settings
from lgt_graph.evaluation.ensemble import blend, score_outputs, select
from lgt_graph.session import run_session
from tests.test_peers import write_houses


def test_greedy_selection_mixes_two_models_whose_errors_cancel():
    y = np.zeros(4)
    outputs = {
        1: np.array([1.0, 1.0, -1.0, -1.0]),  # wrong by 1 on every row
        2: np.array([-1.0, -1.0, 1.0, 1.0]),  # wrong the other way: the average is exact
        3: np.array([0.9, 0.9, 0.9, 0.9]),  # the best single model (MAE 0.9)
    }
    weights = select(outputs, y, 0, "mae", maximize=False, rounds=3)
    # round 1 takes the best single model (MAE 0.9); round 2 adds 1 (0.5; 2 ties, later);
    # round 3 adds 2, which cancels 1: the three in equal shares (MAE 0.3)
    assert weights == pytest.approx({1: 1 / 3, 2: 1 / 3, 3: 1 / 3})
    mixed = score_outputs(blend(outputs, weights), y, 0)["mae"]
    assert mixed == pytest.approx(0.3) and sum(weights.values()) == pytest.approx(1.0)
    # one model alone is its own ensemble
    assert select({7: outputs[3]}, y, 0, "mae", maximize=False) == {7: 1.0}


def test_an_ensemble_final_refits_each_chosen_trial_and_scores_their_blend(store_uri, tmp_path):
    path = tmp_path / "houses.csv"
    write_houses(path)
    settings = Settings.resolve(
        task=f"csv:{path}",
        target="price",
        method="random",
        budget=8,
        nodes={"finalize": "ensemble"},
        tracking_uri=store_uri,
    )
    outcome = run_session(settings, checkpoints=str(tmp_path / "ck.db"), echo=lambda _: None)
    final = outcome.values["final"]
    weights = {int(k): w for k, w in final["selection"]["weights"].items()}
    assert final["status"] == "ok" and final["selection"]["rule"] == "ensemble"
    assert sum(weights.values()) == pytest.approx(1.0) and len(weights) >= 2
    trials = {t["index"]: t for t in outcome.values["trials"]}
    best = min(t["score"] for t in trials.values() if t["score"] is not None)
    # chosen on validation: the blend is at least as good there as the best trial alone
    assert final["val"]["mae"] <= best + 1e-9
    assert final["trial"] == max(weights, key=lambda i: (weights[i], -i))
    assert np.isfinite(final["test"]["mae"]) and set(final["test"]) == {"mae", "rmse", "r2"}


def test_compare_gives_the_ensemble_to_every_method_that_runs_the_graph(store_uri, tmp_path):
    from mlflow.tracking import MlflowClient

    from tests.test_cli import run_cli

    out = tmp_path / "cmp"
    proc = run_cli(
        "compare",
        *("--task", "iris", "--methods", "random,lgt", "--budget", "4", "--finalize"),
        *("ensemble", "--out", str(out), "--tracking-uri", store_uri),
    )
    assert proc.returncode == 0, proc.stderr
    client = MlflowClient(store_uri)
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments()], "tags.kind = 'session'"
    )
    assert sorted(r.data.tags["method"] for r in runs) == ["lgt", "random"]
    for run in runs:
        assert run.data.params["node.finalize"] == "ensemble"
        assert run.data.tags["lgt.selection"] == "ensemble"
