"""A comparison's per-trial costs: cumulative in each row, drawn as anytime curves."""

import csv
import dataclasses
import json
import math

import numpy as np
import pytest

from lgt_graph.compare.plots import FILES, step_on_grid
from lgt_graph.compare.render import OUTPUTS, write_outputs
from lgt_graph.compare.rows import Row, row_of
from lgt_graph.context import Context, Settings
from lgt_graph.provenance import source
from lgt_graph.session import Outcome, run_session
from lgt_graph.tasks import TASKS, load_task_data
from tests.conftest import needs_data


def segment(score, cost, seconds):
    """A trial of the epoch-level loop as the state holds it: a segment of ``cost`` epochs."""
    return {"score": score, "segment": {"cost": cost}, "result": {"wall_time": seconds}}


@needs_data
def test_a_row_counts_seconds_and_epochs_cumulatively_per_trial():
    data = load_task_data(TASKS["wine"])  # mae: lower is better
    ctx = Context(Settings.resolve(task="wine", loop="epoch"), data, None, None, None, "s")
    trials = [segment(0.5, 4, 1.0), segment(None, 4, 0.5), segment(0.6, 2, 0.25)]
    trials.append(segment(0.4, 4, 2.0))
    final = {"status": "ok", "test": {"mae": 0.45}}
    outcome = Outcome("s", {"trials": trials, "final": final, "agent_calls": []}, ctx)
    row = row_of("wine", "lgt", 0, outcome, 9.0)
    assert row.best_at == [0.5, 0.5, 0.5, 0.4]
    assert row.epochs_at == [4, 8, 10, 14] and row.epochs == 14
    assert row.seconds_at == pytest.approx([1.0, 1.5, 1.75, 3.75])
    assert row.train_seconds == pytest.approx(3.75) and row.wall_seconds == 9.0
    assert len(row.curve) == 14 and row.curve[-1] == 0.4  # still one entry an epoch
    assert row.commit == source()  # what code made the row


@needs_data
def test_a_real_session_gives_rising_costs_and_the_plots_are_written(store_uri, tmp_path):
    settings = Settings.resolve(task="iris", budget=3, method="random", tracking_uri=store_uri)
    outcome = run_session(settings, checkpoints=str(tmp_path / "ck.db"), echo=lambda _: None)
    row = row_of("iris", "random", 0, outcome, 1.0)
    assert len(row.best_at) == len(row.seconds_at) == len(row.epochs_at) == row.trials == 3
    assert all(b >= a > 0 for a, b in zip(row.seconds_at, row.seconds_at[1:], strict=False))
    assert all(b > a > 0 for a, b in zip(row.epochs_at, row.epochs_at[1:], strict=False))
    assert row.best_at[-1] == row.best_val and row.epochs == 0  # the trial loop's budget

    # an older sessions.jsonl line, without the per-trial costs, still loads and draws
    old = {k: v for k, v in dataclasses.asdict(row).items() if not k.endswith("_at")}
    before = Row(**json.loads(json.dumps(old)) | {"seed": 1})
    assert before.train_seconds is None
    write_outputs([row, before], tmp_path, 3, [0, 1])
    for name in OUTPUTS:
        assert (tmp_path / name).stat().st_size > 0
    assert set(FILES.values()) == {"anytime_seconds.png", "anytime_epochs.png"}
    with open(tmp_path / "results.csv") as handle:
        lines = list(csv.DictReader(handle))
    assert float(lines[0]["train_seconds"]) == pytest.approx(row.seconds_at[-1])
    assert lines[1]["train_seconds"] == ""


def test_a_seed_is_read_on_the_grid_as_a_step_function():
    grid = np.array([0.0, 0.5, 1.0, 2.9, 3.0, 10.0])
    values = step_on_grid([1.0, 3.0], [None, 0.8], grid)
    assert [math.isnan(v) for v in values[:4]] == [True, True, True, True]
    assert list(values[4:]) == [0.8, 0.8]  # a finished session keeps its best
    assert list(step_on_grid([1, 2], [0.5, 0.7], np.arange(4))[1:]) == [0.5, 0.7, 0.7]
