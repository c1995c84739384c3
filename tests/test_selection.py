"""The one-standard-error rule: the paired standard error, and the trial the final refit takes."""

from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from lgt_graph import history
from lgt_graph.context import Settings
from lgt_graph.evaluation import val_outputs
from lgt_graph.evaluation.metrics import (
    gain,
    noise_floor,
    paired_standard_error,
    regression_metrics,
)
from tests.conftest import needs_data
from tests.test_session import session


def one_hot(labels, k=2):
    return np.eye(k)[np.asarray(labels)]


def test_the_paired_standard_error_of_hand_worked_cases():
    y = np.zeros(12, dtype=int)
    a = one_hot([0] * 10 + [1] * 2)  # right on rows 0-9
    b = one_hot([0] * 8 + [1] * 4)  # right on rows 0-7: a is better on rows 8 and 9 only
    # per-row difference: two 1s and ten 0s, mean 1/6; sd = sqrt((2 - 12/36) / 11) = sqrt(5/33)
    # over sqrt(12): sqrt(5/396) = 0.1124
    paired = paired_standard_error("accuracy", y, a, b)
    assert paired == pytest.approx((5 / 396) ** 0.5)
    # taking the two scores as independent reads 0.1735: the pairing sees that the
    # two models agree on ten rows of twelve
    independent = noise_floor("accuracy", {"accuracy": 10 / 12}, {"accuracy": 8 / 12}, 12)
    assert independent == pytest.approx(0.1735, abs=1e-4) and paired < independent
    # MAE: absolute errors 1, 2, 3, 4 against 2, 2, 2, 2: differences -1, 0, 1, 2 (mean 0.5),
    # sd sqrt(5/3) = 1.291, over sqrt(4): 0.6455
    y4 = np.zeros(4)
    mae = paired_standard_error("mae", y4, np.array([1.0, 2, 3, 4]), np.full(4, 2.0))
    assert mae == pytest.approx((5 / 3) ** 0.5 / 2)
    # R² is 1 - MSE / var(y): the MSE difference's error over var(y)
    yv = np.array([0.0, 2.0, 4.0, 6.0])  # var 5
    pa, pb = yv + np.array([1.0, -1, 0, 2]), yv + np.array([0.0, 1, 1, 1])
    mse_error = np.std((pa - yv) ** 2 - (pb - yv) ** 2, ddof=1) / 2
    assert paired_standard_error("r2", yv, pa, pb) == pytest.approx(mse_error / 5)
    # the same outputs differ by nothing; outputs of other rows are not compared
    assert paired_standard_error("accuracy", y, a, a) == 0.0
    assert paired_standard_error("mae", y4, np.ones(4), np.ones(3)) is None
    # macro-F1 is no mean over rows: the rows are drawn again, with a fixed seed
    first = paired_standard_error("macro_f1", y, a, b, 2)
    assert first is not None and first > 0
    assert first == paired_standard_error("macro_f1", y, a, b, 2)


@needs_data
def test_one_se_refits_the_earliest_trial_within_one_standard_error_of_the_best(
    store_uri, tmp_path
):
    # the paper's house set: after the default net, the linear models it tries next all
    # score within a few thousandths of MAE of each other on 10,000 validation rows
    outcome = session(
        store_uri,
        tmp_path,
        task="house",
        budget=8,
        max_train_samples=3000,
        nodes={"finalize": "one-se"},
    )
    values, ctx = outcome.values, outcome.ctx
    y = ctx.data.y_val
    trials = {t["index"]: t for t in values["trials"]}
    outputs = {i: val_outputs.load(ctx.workdir, i) for i in trials}
    # each trial's validation predictions were kept beside the state, and are the ones
    # its score was read from
    for index, trial in trials.items():
        assert outputs[index].shape == (len(y),)
        assert regression_metrics(y, outputs[index])["mae"] == pytest.approx(
            trial["score"], rel=1e-5
        )
    best = history.best_trial(values, ctx.maximize)
    final = values["final"]
    chosen = final["trial"]
    assert final["selection"]["rule"] == "one-se"
    assert final["selection"]["best_trial"] == best["index"]
    assert chosen < best["index"]  # a near-tie of the best, found earlier

    def within_reach(index):
        behind = gain(best["score"], trials[index]["score"], maximize=False)
        return behind <= paired_standard_error("mae", y, outputs[index], outputs[best["index"]])

    assert within_reach(chosen)
    assert not any(within_reach(i) for i in trials if i < chosen)
    assert final["selection"]["standard_error"] == pytest.approx(
        paired_standard_error("mae", y, outputs[chosen], outputs[best["index"]])
    )
    # the refit is the chosen trial's configuration, and reproduces its validation score
    assert final["config"] == trials[chosen]["config"]
    assert final["val"]["mae"] == pytest.approx(trials[chosen]["score"], rel=1e-5)
    assert final["test"]["mae"] > 0
    client = MlflowClient(store_uri)
    tags = client.get_run(outcome.session_id).data.tags
    assert tags["lgt.best_trial"] == str(chosen) and tags["lgt.selection"] == "one-se"
    summary = client.download_artifacts(outcome.session_id, "summary.md", str(tmp_path))
    assert f"Chosen: trial {chosen}, within one standard error" in Path(summary).read_text()


def test_only_a_finalize_node_that_may_read_them_keeps_validation_outputs(store_uri, tmp_path):
    # the built-in default and checkpoint never read them; the one-SE rule and a user's
    # own finalize node may, whichever way they are chosen
    assert not val_outputs.wanted(Settings("iris"))
    assert not val_outputs.wanted(Settings("iris", loop="both"))
    assert not val_outputs.wanted(Settings("iris", method="bayes"))
    assert val_outputs.wanted(Settings("iris", method="lgt-one-se"))
    assert val_outputs.wanted(Settings("iris", nodes={"finalize": "one-se"}))
    assert val_outputs.wanted(Settings("iris", nodes={"finalize": "my_pkg.final:Pick"}))
    # a default session trains and refits without writing a file of them (where the
    # one-SE session of the test above finds one a trial)
    outcome = session(store_uri, tmp_path, task="iris", budget=3)
    assert len(outcome.values["trials"]) == 3 and outcome.values["final"]["test"]
    assert outcome.ctx.workdir is not None
    assert not (outcome.ctx.workdir / val_outputs.FOLDER).exists()
