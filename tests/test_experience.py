"""Lessons across sessions: keyed by the data's profile, never by its name, and acted on."""

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from lgt_graph.agents.experience import distance, distil, experience_text, key_of, load, prior
from lgt_graph.evaluation.curves import profile
from lgt_graph.expert.case import Knobs
from lgt_graph.expert.learned import learned
from lgt_graph.space import space_for
from lgt_graph.tasks import get_task, load_task_data
from tests.test_cli import run_cli

TABLE = {
    "family": "tabular_regression", "problem": "regression", "primary_metric": "mae",
    "direction": "minimize", "train_examples": 1000, "features": 10,
    "categorical_features": 0, "missing_share": 0.0, "target_min": 0.0, "target_skew": 0.5,
}  # fmt: skip


def write_table(path, rows=400, seed=0):
    """A made-up regression: a smooth signal in two of five columns, and noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5))
    frame = pd.DataFrame(x, columns=list("abcde"))
    frame["y"] = np.sin(2 * x[:, 0]) + x[:, 1] ** 2 + 0.3 * rng.normal(size=rows)
    frame.to_csv(path, index=False)


def test_distance_reads_the_shape_of_a_table_not_its_name():
    named = {**TABLE, "task": "wine"}
    assert key_of(named) == key_of({**TABLE, "task": "something else"})
    assert distance(key_of(named), TABLE) == 0
    assert distance(TABLE, {**TABLE, "problem": "classification"}) == math.inf
    assert distance(TABLE, {**TABLE, "direction": "maximize"}) == math.inf
    rows = distance(TABLE, {**TABLE, "train_examples": 10000})  # ten times the rows: about 1
    assert 0.9 < rows < 1.1
    skewed = distance(TABLE, {**TABLE, "target_skew": 4.5})  # a long right tail: 1
    assert abs(skewed - 1.0) < 1e-6


def _values():
    default = space_for("tabular_regression").default()
    trial = {"config": default, "changes": []}
    return {
        "trials": [
            {**trial, "index": 1},
            {"index": 2, "config": {**default, "model": "gbm", "learning_rate": 0.1},
             "changes": [{"knob": "model", "new": "gbm"}, {"knob": "learning_rate", "new": 0.1}]},
            {"index": 3, "config": {**default, "model": "gbm", "learning_rate": 0.3},
             "changes": [{"knob": "learning_rate", "new": 0.3}]},
            {"index": 4, "config": {**default, "model": "gbm", "learning_rate": 0.05},
             "changes": [{"knob": "learning_rate", "new": 0.05}]},
        ],
        "verdicts": [
            {"trial": 1, "outcome": "improved", "delta": 0.0},
            {"trial": 2, "outcome": "improved", "delta": -0.3, "floor": 0.1},
            {"trial": 3, "outcome": "regressed", "delta": 0.2, "floor": 0.1},
            {"trial": 4, "outcome": "neutral", "delta": 0.01, "floor": 0.1},
        ],
        "final": {"trial": 2},
        "prompts": [{"guidance": "start"}],
    }  # fmt: skip


def test_distil_keeps_the_winner_the_gains_and_losses_in_noise_floors():
    lesson = distil(_values(), {**TABLE, "task": "wine"}, space_for("tabular_regression"))
    assert "task" not in lesson["profile"]
    assert lesson["best"] == {"model": "gbm", "learning_rate": 0.1}  # what gbm reads
    assert lesson["verdicts"] == {"improve": 1, "neutral": 1, "regress": 1}
    assert lesson["improved"][0]["floors"] == 3.0  # a lower MAE by 0.3 over a floor of 0.1
    assert lesson["regressed"][0]["changes"] == {"learning_rate": 0.3}
    assert prior([lesson]) == {"improve": 1 / 3, "neutral": 1 / 3, "regress": 1 / 3}
    text = experience_text([{**lesson, "distance": 0.2}])
    assert "best was model=gbm, learning_rate=0.1" in text and "+3.0 floors" in text
    space = {
        "model": {"kind": "choice", "choices": ["mlp", "gbm"]},
        "learning_rate": {"kind": "float", "low": 1e-5, "high": 1.0, "used_by": ["mlp", "gbm"]},
    }
    ideas = learned({"model": "mlp", "learning_rate": 0.001}, [lesson], Knobs(space))
    assert ideas[0].changes == {"model": "gbm", "learning_rate": 0.1}
    assert ideas[0].source == "experience"


def _read(path):
    task = get_task(f"csv:{path}", "y")
    data = load_task_data(task, 0, None)
    return profile(data)


def test_a_renamed_table_gets_the_same_lessons_and_a_session_acts_on_them(store_uri, tmp_path):
    first = tmp_path / "houses_2019.csv"
    write_table(first)
    common = ["--target", "y", "--tracking-uri", store_uri, "--checkpoints", str(tmp_path / "c.db")]
    done = run_cli("run", "--task", f"csv:{first}", *common, "--budget", "4")
    assert done.returncode == 0, done.stderr
    renamed = tmp_path / "zz_other_name.csv"
    shutil.copy(first, renamed)
    # The same table under another name: the same profile key, the same lessons.
    here, there = _read(first), _read(renamed)
    assert here["task"] != there["task"]
    assert load("auto", store_uri, here) == load("auto", store_uri, there)
    lessons = load("auto", store_uri, there)
    assert len(lessons) == 1 and lessons[0]["distance"] == 0
    assert "houses_2019" not in json.dumps(lessons)  # no name is kept in a lesson

    again = run_cli("run", "--task", f"csv:{renamed}", *common, "--budget", "2",
                    "--experience", "auto")  # fmt: skip
    assert again.returncode == 0, again.stderr
    # Its first proposal is the configuration that was best on the (same) table.
    best = lessons[0]["best"]
    second = next(line for line in again.stderr.splitlines() if "trial   2/2" in line)
    assert "this was the best configuration on a similar table" in second
    row = next(line for line in again.stdout.splitlines() if line.startswith("| 2 |"))
    assert all(f"{k}: " in row and f"-> {v}" in row for k, v in best.items())
    session = re.search(r"session run (\w+)", again.stdout).group(1)
    client = MlflowClient(store_uri)
    path = client.download_artifacts(session, "experience.json", str(tmp_path))
    read = json.loads(Path(path).read_text())["lessons"]
    assert [x["session"] for x in read] == [lessons[0]["session"]]


def test_a_missing_experience_source_is_one_clear_line(tmp_path):
    out = run_cli("run", "--task", "iris", "--experience", str(tmp_path / "nowhere.db"))
    assert out.returncode == 2
    assert "--experience" in out.stderr and "no such store or lessons file" in out.stderr
