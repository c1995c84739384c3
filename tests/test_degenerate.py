"""Shapes a practitioner knows: a degenerate model, a long tail, zeros for missing values."""

import re
from pathlib import Path

import numpy as np
import pandas as pd

from lgt_graph.expert.case import Case, Knobs
from lgt_graph.expert.degenerate import degenerate_line, degenerate_model, degenerate_sign
from tests.test_cli import run_cli


def write_rare(path, rows=1500, seed=0):
    """1 % positives, barely separable: a plain net predicts the majority class only."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    y = (rng.random(rows) < 0.01).astype(int)
    x[y == 1, 0] += 1.5
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["rare"] = np.where(y == 1, "yes", "no")
    frame.to_csv(path, index=False)


def case(summary, problem="classification", config=None):
    profile = {"family": "tabular_classification" if problem == "classification" else
               "tabular_regression", "problem": problem}  # fmt: skip
    base = {"model": "mlp", "class_weighting": "none", "target_transform": "none"}
    full = {"status": "ok", "primary": "balanced_accuracy", **summary}
    return Case.of(full, {**base, **(config or {})}, profile, Knobs())


def test_one_class_or_a_constant_is_degenerate_and_acted_on_first():
    assert degenerate_sign({"predicted_classes": 1}, "classification")
    assert degenerate_sign({"predicted_classes": 2}, "classification") is None
    assert degenerate_sign({"prediction_spread": 0.01}, "regression")
    assert degenerate_sign({"prediction_spread": 0.4}, "regression") is None
    found = degenerate_model(case({"predicted_classes": 1}))
    assert found.name == "degenerate model" and found.priority < 20
    assert found.changes == {"class_weighting": "balanced"}
    balanced = {"class_weighting": "balanced"}
    weighted = degenerate_model(case({"predicted_classes": 1}, config=balanced))
    assert weighted.changes == {"model": "gbm"}  # weights did not help: another family
    flat = degenerate_model(case({"prediction_spread": 0.0}, problem="regression"))
    assert flat.changes == {"target_transform": "standardize"}
    line = degenerate_line({"trial": 3}, {"predicted_classes": 1}, "classification")
    assert line.startswith("Warning: the chosen model (trial 3) is degenerate")
    assert degenerate_line({"trial": 3}, {"predicted_classes": 2}, "classification") == ""


def test_a_session_that_ends_on_a_degenerate_model_says_so(store_uri, tmp_path):
    path = tmp_path / "rare.csv"
    write_rare(path)
    common = ["--task", f"csv:{path}", "--target", "rare", "--tracking-uri", store_uri]
    common += ["--metric", "accuracy", "--checkpoints", str(tmp_path / "ck.db")]
    one = run_cli("run", *common, "--budget", "1")
    assert one.returncode == 0, one.stderr
    assert "is degenerate — it predicts one class for every validation example" in one.stdout
    report = Path(re.search(r"report: (\S+)", one.stdout).group(1)).with_suffix(".md")
    assert "is degenerate — it predicts one class" in report.read_text()  # the report says it too
    two = run_cli("run", *common, "--budget", "2", "--seed", "1")
    assert two.returncode == 0, two.stderr
    assert "class_weighting: none -> balanced" in two.stdout  # the Advisor's first move


def test_a_long_tailed_positive_target_scored_by_mae_is_fitted_on_the_log_scale():
    from lgt_graph.expert.shapes import long_tailed_target as long_tail

    def profile(**extra):
        return {"family": "tabular_regression", "problem": "regression", "primary_metric": "mae",
                "target_min": 0.0, "target_skew": 3.0, **extra}  # fmt: skip

    def found(prof, config=None):
        full = {"status": "ok", "primary": "mae"}
        base = {"model": "gbm", "target_transform": "standardize", **(config or {})}
        return long_tail(Case.of(full, base, prof, Knobs()))

    tail = found(profile())
    assert tail.changes == {"target_transform": "log"} and "skew 3.00" in tail.evidence
    assert found(profile(), {"model": "mlp"}).changes == {"target_transform": "log"}  # any family
    assert found(profile(), {"target_transform": "log"}) is None  # already on the log scale
    assert found(profile(target_skew=0.4)) is None  # no long tail
    assert found(profile(target_min=-3.0)) is None  # log1p needs targets above -1
    assert found(profile(primary_metric="rmse")) is None  # squared error wants the mean


def write_sentinels(path, rows=600, seed=0):
    """Blood pressure with 6 % zeros for 'not measured'; a count (children) with true zeros."""
    rng = np.random.default_rng(seed)
    pressure = np.round(rng.normal(72, 12, rows).clip(30, 130))
    missing = rng.random(rows) < 0.06
    children = rng.integers(0, 6, rows)
    y = 0.05 * pressure + 0.3 * children + rng.normal(0, 0.5, rows)
    frame = pd.DataFrame({"pressure": np.where(missing, 0, pressure), "children": children,
                          "delta": rng.normal(0, 1, rows), "y": y})  # fmt: skip
    frame.to_csv(path, index=False)
    return frame


def test_zeros_that_stand_for_missing_measurements_get_a_note_a_knob_and_a_reason(tmp_path):
    from lgt_graph.evaluation.curves import profile
    from lgt_graph.expert.shapes import zero_sentinels
    from lgt_graph.space import space_for
    from lgt_graph.space.shape import shaped_by_data
    from lgt_graph.tasks import get_task, load_task_data
    from lgt_graph.tasks.sentinels import sentinel_columns
    from lgt_graph.training import prepare_arrays

    frame = write_sentinels(tmp_path / "bp.csv")
    found = sentinel_columns(frame.drop(columns="y"))
    assert list(found) == ["pressure"]  # not the count, not the signed column
    assert found["pressure"]["smallest"] >= 30 and 0.04 < found["pressure"]["share"] < 0.08
    data = load_task_data(get_task(f"csv:{tmp_path / 'bp.csv'}", "y"), 0, None)
    space, notes = shaped_by_data(space_for("tabular_regression"), data)
    assert any(n.startswith("column 'pressure':") and "missing" in n for n in notes)
    assert "zeros_as_missing" in space and "imputation" in space  # kept: they change the fit
    facts = profile(data)
    assert facts["zero_sentinels"] == ["pressure"]
    # the knob changes what is trained: the zeros become the imputed median
    config = {**space.default(), "model": "linear", "imputation": "median"}
    plain = prepare_arrays(config, data).X_train
    treated = prepare_arrays({**config, "zeros_as_missing": True}, data).X_train
    assert not np.allclose(plain, treated)
    finding = zero_sentinels(Case.of({"status": "ok", "primary": "mae"}, config, facts, Knobs()))
    assert finding.changes == {"zeros_as_missing": True, "imputation": "median"}
    assert "pressure" in finding.evidence and "median" in finding.reason
    assert (
        zero_sentinels(
            Case.of(
                {"status": "ok", "primary": "mae"},
                {**config, "zeros_as_missing": True},
                facts,
                Knobs(),
            )
        )
        is None
    )
    clean = write_sentinels(tmp_path / "clean.csv").assign(pressure=lambda f: f.pressure + 0)
    clean.loc[clean.pressure == 0, "pressure"] = 70.0
    clean.to_csv(tmp_path / "clean.csv", index=False)
    plain_data = load_task_data(get_task(f"csv:{tmp_path / 'clean.csv'}", "y"), 0, None)
    shaped, _ = shaped_by_data(space_for("tabular_regression"), plain_data)
    assert "zeros_as_missing" not in shaped
