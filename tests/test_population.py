"""Population Based Training (``--method pbt``) in the epoch-level loop."""

import random

import pytest

from lgt_graph.context import Settings
from lgt_graph.epoch.population import explore, first_configs, quantiles
from lgt_graph.session import run_session
from lgt_graph.space import space_for


def test_quantiles_follow_ray_tune_and_a_failed_member_ranks_last():
    # four members, quantile 0.25: one at each end; None (diverged) is the worst
    assert quantiles([0.5, None, 0.9, 0.7], True, 0.25) == ([1], [2])
    assert quantiles([0.5, 0.2, 0.9, 0.7], False, 0.25) == ([2], [1])  # a loss: lower is better
    # never more than half the population on either side; one member has no quantiles
    assert quantiles([0.1, 0.2, 0.3], True, 0.9) == ([0], [2])
    assert quantiles([0.1], True, 0.25) == ([], [])


def test_explore_perturbs_live_knobs_by_ray_tunes_factors_within_their_ranges():
    space = space_for("image")
    start = first_configs(space, 4, random.Random(0))
    assert start[0] == space.default()  # member 0 starts where every method does
    live = {k.name for k in space.live()}
    for config in start[1:]:
        assert {k for k in config if config[k] != start[0][k]} <= live  # architecture stays
    rng = random.Random(1)
    config, how = explore(start[0], space, rng, resample=0.0)
    rate = config["learning_rate"] / start[0]["learning_rate"]
    assert rate == pytest.approx(1.2, rel=1e-3) or rate == pytest.approx(0.8, rel=1e-3)
    assert how["learning_rate"] in ("×1.2", "×0.8")
    for _ in range(50):  # many perturbations stay valid configurations of the space
        config, _ = explore(config, space, rng)
        assert space.validate(config) == config
        assert {k for k in config if config[k] != start[0][k]} <= live


def test_pbt_trains_a_population_exploits_the_best_and_counts_every_members_epochs(
    store_uri, tmp_path
):
    settings = Settings.resolve(
        task="iris",
        method="pbt",
        loop="epoch",
        budget=12,
        start={"learning_rate": 0.02},
        tracking_uri=store_uri,
    )
    outcome = run_session(settings, checkpoints=str(tmp_path / "ck.db"), echo=lambda _: None)
    values = outcome.values
    trials = values["trials"]
    assert len(trials) == 12 and values["run"]["epochs_trained"] == 12  # every member counts
    # round 1: four members from scratch, the default first, the others random live knobs
    assert [t["segment"]["start"] for t in trials[:4]] == [None] * 4
    assert trials[0]["config"] == outcome.ctx.space.default()
    assert len({str(t["config"]) for t in trials[:4]}) == 4
    # each later segment continues a member: member k's segment starts at its last end, or,
    # after a round's exploit, at the end of the member it copied (the best of its round)
    members = values["run"]["members"]
    assert len(members) == 4 and all(m["ref"] is not None for m in members)
    for round_start in (4, 8):
        ended = trials[round_start - 4 : round_start]
        best = max(ended, key=lambda t: t["score"])
        starts = [t["segment"]["start"]["trial"] for t in trials[round_start : round_start + 4]]
        copied = [s for s, t in zip(starts, ended, strict=True) if s != t["index"]]
        assert len(copied) == 1  # one loser (a quarter of four) copied the best of the round
        assert trials[copied[0] - 1]["score"] == best["score"]
        loser = trials[round_start + starts.index(copied[0])]
        assert loser["changes"] and all(c["reason"] for c in loser["changes"])
    # the session ends on the best checkpoint of any member
    final = values["final"]
    assert final["status"] == "ok" and final["val"]["accuracy"] == max(t["score"] for t in trials)
