"""The multi-fidelity baseline: Optuna's Hyperband pruner stops trials between epochs."""

from lgt_graph import history
from lgt_graph.context import Settings
from lgt_graph.session import run_session


def test_hyperband_stops_weak_nets_early_and_never_picks_a_pruned_trial(store_uri, tmp_path):
    lines = []
    settings = Settings.resolve(
        task="digits",
        method="hyperband",
        budget=10,
        max_train_samples=400,
        limits={"epochs": (4, 8)},
        tracking_uri=store_uri,
    )
    outcome = run_session(settings, checkpoints=str(tmp_path / "ck.db"), echo=lines.append)
    trials = outcome.values["trials"]
    pruned = [t for t in trials if history.pruned(t)]
    assert pruned, "no trial was pruned"
    for trial in pruned:
        diagnostics = trial["result"]["diagnostics"]
        assert diagnostics["epochs_run"] == diagnostics["pruned_at"] < trial["config"]["epochs"]
        assert history.trial_epochs(trial) == diagnostics["pruned_at"]  # budgets count it so
        assert any(
            line.startswith(f"trial {trial['index']:>3}/10")
            and f"[pruned after epoch {diagnostics['pruned_at']}]" in line
            for line in lines
        )
    best = history.best_trial(outcome.values, maximize=True)
    assert best is not None and not history.pruned(best)
    assert outcome.values["final"]["trial"] == best["index"]
