import itertools
import math

import pytest

from lgt_graph.baselines import make_searcher
from lgt_graph.baselines.grid import GRIDS, distance, grid_points
from lgt_graph.baselines.optuna_search import OptunaSearch
from lgt_graph.compare.plan import parse_seeds
from lgt_graph.compare.rank import summary
from lgt_graph.compare.render import markdown
from lgt_graph.compare.rows import Row
from lgt_graph.errors import UserError
from lgt_graph.graph.methods import METHODS
from lgt_graph.space import FAMILIES, config_key, space_for


def drive(method, space, budget, seed, score=None):
    """Run a searcher against a synthetic objective; return the configurations it asked for."""
    searcher = make_searcher(method, space, budget, seed, maximize=True)
    asked = []
    for _ in range(budget):
        config = searcher.ask()
        if config is None:
            break
        asked.append(config)
        searcher.tell(config, score(config) if score else float(len(asked)))
    return asked


BASELINES = [name for name, m in METHODS.items() if m.baseline]
FAMILY_GRID = {"image": "image", "tabular_regression": "tabular"}


def objective(config):
    # a smooth made-up score over numeric knobs, so model-based methods have signal
    return -sum(float(v) ** 2 * 1e-6 for v in config.values() if isinstance(v, int | float))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("method", BASELINES)
def test_every_method_respects_the_budget_and_the_space(method, family):
    space = space_for(family)
    budget = 7
    asked = drive(method, space, budget, seed=3, score=objective)
    assert 1 <= len(asked) <= budget
    assert asked[0] == space.default()  # every method starts from the default
    for config in asked:
        assert space.validate(config) == config
    assert len({config_key(c) for c in asked}) == len(asked)  # no configuration twice
    if method == "none":
        assert len(asked) == 1
    elif method == "grid":
        assert len(asked) == min(budget, len(grid_points(space)))
    else:
        assert len(asked) == budget


@pytest.mark.parametrize("method", BASELINES)
def test_the_same_seed_gives_the_same_search(method):
    space = space_for("tabular_regression")
    first = drive(method, space, 6, seed=11, score=objective)
    again = drive(method, space, 6, seed=11, score=objective)
    assert first == again
    if method in ("random", "bayes", "bayes-gp", "nas"):
        assert drive(method, space, 6, seed=12, score=objective) != first


def test_nas_changes_only_architecture_knobs():
    space = space_for("image")
    default = space.default()
    architecture = {k.name for k in space.knobs.values() if k.dimension == "architecture"}
    for config in drive("nas", space, 10, seed=0, score=objective):
        changed = {k for k in config if config[k] != default[k]}
        assert changed <= architecture


def test_bayes_reads_the_conditional_space_and_gp_is_available():
    space = space_for("tabular_classification")
    for config in drive("bayes", space, 8, seed=1, score=objective):
        if config["model"] != "mlp":
            assert config["width"] == space.default()["width"]  # knobs the model ignores
    gp = make_searcher("bayes-gp", space, 4, 0, maximize=True)
    assert gp.ask() == space.default()
    with pytest.raises(UserError, match="--sampler 'x'"):
        OptunaSearch(space, 4, 0, maximize=True, sampler="x")


@pytest.mark.parametrize("family", ["image", "tabular_regression"])
def test_the_grid_visits_its_points_in_a_space_filling_order_fixed_by_the_seed(family):
    space = space_for(family)
    knobs = sorted({n for grid in GRIDS[FAMILY_GRID[family]] for n in grid if n != "model"})
    orders = [grid_points(space, seed) for seed in range(5)]
    models = {p["model"] for p in orders[0]}
    for points in orders:
        assert points[0] == space.default()
        assert {p["model"] for p in points[: len(models)]} == models  # every family first
        assert sorted(map(config_key, points)) == sorted(map(config_key, orders[0]))
        # farthest-point traversal: each point is at least as far from those before it as
        # every later point is, so the distance to the nearest earlier point never grows
        gaps = [
            min(distance(space, knobs, p, q) for q in points[:i]) for i, p in enumerate(points) if i
        ]
        assert all(a >= b - 1e-12 for a, b in itertools.pairwise(gaps))
    assert orders[0] == grid_points(space, 0)  # the same seed, the same order
    assert len({tuple(map(config_key, o)) for o in orders}) > 1  # the seed breaks the ties


def test_the_image_grid_reaches_a_cnn_with_adam_early():
    for seed in range(5):
        points = grid_points(space_for("image"), seed)
        first = next(
            i for i, p in enumerate(points) if (p["model"], p["optimizer"]) == ("cnn", "adam")
        )
        assert first <= 3  # it used to come at points 9-12 of 12


def test_the_grid_honours_limits():
    narrowed = space_for("tabular_regression").narrowed({"n_estimators": (10, 150)})
    assert max(p["n_estimators"] for p in grid_points(narrowed)) == 150


def test_a_failed_trial_is_told_as_a_failure():
    space = space_for("tabular_classification")
    searcher = make_searcher("bayes", space, 4, 0, maximize=True)
    config = searcher.ask()
    searcher.tell(config, None)
    assert searcher.study.trials[0].state.name == "FAIL"
    assert searcher.ask() != config


def row(task, method, seed, test, val, maximize=True):
    primary = "accuracy" if maximize else "mae"
    return Row(
        task,
        method,
        seed,
        "run",
        primary,
        maximize,
        "ok",
        val,
        {primary: test},
        5,
        1.0,
        curve=[val] * 5,
    )


def test_summary_ranks_means_over_seeds_and_shares_ties():
    rows = [
        row("iris", "lgt", 0, 0.9, 0.9),
        row("iris", "lgt", 1, 1.0, 1.0),
        row("iris", "random", 0, 0.95, 0.9),
        row("iris", "random", 1, 0.95, 0.9),
        row("iris", "none", 0, 0.7, 0.7),
        row("iris", "none", 1, 0.8, 0.7),
        row("wine", "lgt", 0, 0.40, 0.4, False),
        row("wine", "grid", 0, 0.38, 0.4, False),
    ]
    table = summary(rows)
    assert table["iris"]["lgt"]["rank"] == 1 and table["iris"]["random"]["rank"] == 1
    assert table["iris"]["none"]["rank"] == 3
    mean, sd = table["iris"]["lgt"]["test"]["accuracy"]
    assert mean == pytest.approx(0.95) and sd == pytest.approx(math.sqrt(0.005))
    assert table["wine"]["grid"]["rank"] == 1 and table["wine"]["lgt"]["rank"] == 2
    text = markdown(rows, 5, [0, 1])
    assert "| iris | accuracy (higher is better) | RandomSearch; LGT | 1 of 3 |" in text
    assert "| wine | mae (lower is better) | GridSearch | 2 of 2 |" in text


def test_parse_seeds():
    assert parse_seeds("3") == [0, 1, 2]
    assert parse_seeds("0,5,9") == [0, 5, 9]
    for bad in ("0", "x"):
        with pytest.raises(UserError):
            parse_seeds(bad)


def test_ablate_swaps_nodes_per_variant_and_logs_an_ablation_run(store_uri, tmp_path):
    import os
    import subprocess
    import sys

    from mlflow.tracking import MlflowClient

    out = tmp_path / "abl"
    command = [sys.executable, "-m", "lgt_graph", "ablate", "--task", "iris", "--budget", "3"]
    command += ["--methods", "lgt,numeric-evaluator,random-advisor", "--out", str(out)]
    proc = subprocess.run(
        [*command, "--tracking-uri", store_uri],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    text = (out / "results.md").read_text()
    assert text.startswith("# LGT ablations: nodes swapped")
    for name in ("| LGT |", "| LGT, numeric Evaluator", "| LGT, random Advisor"):
        assert name in text
    client = MlflowClient(store_uri)
    sessions = client.search_runs(
        [e.experiment_id for e in client.search_experiments()], "tags.kind = 'session'"
    )
    nodes = sorted(
        r.data.params["node.evaluator"] + "/" + r.data.params["node.advisor"] for r in sessions
    )
    assert nodes == ["llm/llm", "llm/random", "numeric/llm"]
    ablation = client.search_runs(
        [client.get_experiment_by_name("lgt-ablate").experiment_id], "tags.kind = 'ablation'"
    )
    assert len(ablation) == 1 and "iris.random-advisor.test_accuracy" in ablation[0].data.metrics


@pytest.mark.parametrize("method", ["random", "bayes", "grid"])
def test_no_trial_fails_on_a_setting_the_shaped_space_could_have_known(method, store_uri, tmp_path):
    import numpy as np
    import pandas as pd

    from lgt_graph.context import Settings
    from lgt_graph.session import run_session

    # 30 numeric columns: a degree-3 expansion (5455 features) is past the limit, and about
    # 50 training rows are fewer than the default batch and a leaf of 100
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(80, 30)), columns=[f"x{i}" for i in range(30)])
    frame["label"] = (frame["x0"] + frame["x1"] > 0).astype(int)
    frame.to_csv(tmp_path / "wide.csv", index=False)
    settings = Settings.resolve(
        task=f"csv:{tmp_path / 'wide.csv'}",
        target="label",
        method=method,
        budget=12,
        tracking_uri=store_uri,
    )
    outcome = run_session(settings, checkpoints=str(tmp_path / "ck.db"), echo=lambda line: None)
    trials = outcome.values["trials"]
    assert len(trials) == 12
    failed = [t["result"]["reason"] for t in trials if t["score"] is None]
    assert failed == [], failed
    space = outcome.ctx.space
    rows = len(outcome.ctx.data.y_train)
    assert space["polynomial_degree"].high == 2 and space["batch_size"].high == rows
    assert all(t["config"]["polynomial_degree"] <= 2 for t in trials)


def _curve(config, epochs=9):
    """A made-up learning curve: how high it climbs depends on the learning rate."""
    height = 1.0 / (1.0 + abs(math.log10(float(config["learning_rate"])) + 2.5))
    return [height * (1 - 0.6**epoch) for epoch in range(1, epochs + 1)]


def _drive_pruned(searcher, trials):
    """Ask, train epoch by epoch under the pruner's judge, tell; return what was told."""
    told = []
    for _ in range(trials):
        config = searcher.ask()
        judge = searcher.monitor(config)
        curve = []
        for epoch, value in enumerate(_curve(config), 1):
            curve.append(value)
            if judge(epoch, value):
                break
        pruned = len(curve) < 9
        searcher.tell(config, curve[-1], curve=curve, pruned=pruned)
        told.append((config, curve, pruned))
    return told


def test_hyperband_prunes_trials_epoch_by_epoch_and_replays_the_same_way():
    space = space_for("tabular_classification")
    searcher = make_searcher("hyperband", space, 20, 5, maximize=True)
    told = _drive_pruned(searcher, 20)
    assert told[0][0] == space.default() and not told[0][2]  # the default runs in full
    pruned = [t for t in told if t[2]]
    assert 3 <= len(pruned) < len(told)
    states = [t.state.name for t in searcher.study.trials if t.state.name != "RUNNING"]
    assert states.count("PRUNED") == len(pruned)
    # a session resumed in a new process replays its history: told the curves, the new
    # searcher judges them as the first one did and asks for the same next configuration
    again = make_searcher("hyperband", space, 20, 5, maximize=True)
    for config, curve, was_pruned in told:
        assert again.ask() == config
        again.tell(config, curve[-1], curve=curve, pruned=was_pruned)
    assert again.ask() == searcher.ask()
    assert [t.system_attrs for t in again.study.trials[:20]] == [
        t.system_attrs for t in searcher.study.trials[:20]
    ]


def test_smac_goes_on_past_failed_trials_with_a_finite_cost():
    """SMAC's default crash cost is infinite, which its log-scaled model turns into NaN:
    a failure is told as the worst cost so far, so it keeps modelling (here the first
    trial and every third fail; a failure before any success waits for one)."""
    space = space_for("tabular_regression")
    searcher = make_searcher("smac", space, 15, 0, maximize=False)
    asked = []
    for n in range(15):
        config = searcher.ask()
        assert config is not None
        asked.append(config)
        searcher.tell(config, None if n % 3 == 0 else objective(config) ** 2 + n)
    assert len({config_key(c) for c in asked}) == 15
    costs = [v.cost for v in searcher.smac.runhistory._data.values()]
    assert len(costs) == 15 and all(math.isfinite(c) for c in costs)
