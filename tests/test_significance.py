"""Significance in a comparison: paired bootstrap intervals, verdicts, average ranks."""

import itertools
import statistics

import numpy as np
import pytest

from lgt_graph.compare.rank import summary
from lgt_graph.compare.render import markdown
from lgt_graph.compare.rows import Row
from lgt_graph.compare.significance import (
    EXACT,
    average_ranks,
    best_baseline,
    bootstrap_interval,
    focus,
    paired,
    record,
    verdict,
)
from lgt_graph.graph.methods import METHODS


def row(task, method, seed, test, maximize=True):
    primary = "accuracy" if maximize else "mae"
    return Row(task, method, seed, "s", primary, maximize, "ok", test, {primary: test}, 5, 1.0)


def test_the_interval_of_two_differences_is_worked_by_hand():
    """Differences [1, 3]: the 2**2 = 4 ordered resamples are taken once each.

    (1, 1), (1, 3), (3, 1), (3, 3) have means 1, 2, 2, 3 (sorted: x0..x3). The
    quantile at p interpolates linearly at position h = (4 - 1) * p (numpy's default,
    Hyndman and Fan's type 7):
      2.5 %:  h = 0.075 → x0 + 0.075 * (x1 - x0) = 1 + 0.075 = 1.075
      97.5 %: h = 2.925 → x2 + 0.925 * (x3 - x2) = 2 + 0.925 = 2.925
    The interval lies above 0: a win.
    """
    interval = bootstrap_interval([1.0, 3.0])
    assert interval == pytest.approx((1.075, 2.925))
    assert verdict(interval) == "win"
    # the same by the sign turned: a loss; and straddling 0 ([-1, 1]: means -1, 0, 0, 1)
    assert bootstrap_interval([-1.0, -3.0]) == pytest.approx((-2.925, -1.075))
    assert verdict(bootstrap_interval([-1.0, -3.0])) == "loss"
    assert bootstrap_interval([-1.0, 1.0]) == pytest.approx((-0.925, 0.925))
    assert verdict(bootstrap_interval([-1.0, 1.0])) == "tie"


def test_one_seed_has_no_interval_and_no_verdict():
    assert bootstrap_interval([0.5]) is None
    assert verdict(None) == "-"  # not a win by the sign alone


def test_up_to_six_seeds_every_ordered_resample_is_taken_beyond_a_fixed_seed_draws():
    values = [0.3, -0.1, 0.2]
    means = sorted(statistics.fmean(pick) for pick in itertools.product(values, repeat=3))
    assert bootstrap_interval(values) == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])))
    assert 6**6 <= EXACT < 7**7
    many = [0.3, -0.1, 0.2, 0.05, 0.4, -0.2, 0.1]
    drawn = bootstrap_interval(many)
    assert drawn is not None and drawn == bootstrap_interval(many)  # deterministic
    assert min(many) <= drawn[0] < statistics.fmean(many) < drawn[1] <= max(many)


def test_a_minimised_metric_is_turned_so_that_a_positive_gain_means_lgt_is_better():
    rows = [
        row("wine", "lgt", 0, 0.30, maximize=False),
        row("wine", "lgt", 1, 0.32, maximize=False),
        row("wine", "random", 1, 0.35, maximize=False),  # seeds pair, whatever the order
        row("wine", "random", 0, 0.40, maximize=False),
    ]
    pair = paired(rows, "wine", "lgt", "random")
    assert pair is not None
    assert pair.gains == pytest.approx([0.10, 0.03])
    assert pair.mean == pytest.approx(0.065)
    # resample means 0.03, 0.065, 0.065, 0.10: 0.03 + 0.075 * 0.035, 0.065 + 0.925 * 0.035
    assert pair.interval == pytest.approx((0.032625, 0.097375))
    assert pair.verdict == "win"


def test_the_best_baseline_is_the_best_mean_and_lgt_is_the_focus():
    rows = [
        row("wine", "lgt", 0, 0.30, False),
        row("wine", "random", 0, 0.40, False),
        row("wine", "bayes", 0, 0.35, False),
        row("wine", "none", 0, 0.50, False),
    ]
    assert best_baseline(summary(rows)["wine"]) == "bayes"  # lowest mae
    assert focus(rows) == "lgt"
    variants = [row("iris", "no-optimizer", 0, 0.9), row("iris", "random", 0, 0.8)]
    assert focus(variants) == "no-optimizer"  # no lgt: the first other tuned method
    assert focus([row("iris", "lgt", 0, 0.9), row("iris", "no-optimizer", 0, 0.8)]) is None


def two_tasks():
    return [
        # iris: LGT and random tie at 0.95 on average; NoTuning last
        row("iris", "lgt", 0, 0.91),
        row("iris", "random", 0, 0.95),
        row("iris", "none", 0, 0.70),
        row("iris", "lgt", 1, 0.99),
        row("iris", "random", 1, 0.95),
        row("iris", "none", 1, 0.80),
        # water: random first, LGT second, NoTuning last; LGT beats NoTuning on both seeds
        row("water", "lgt", 0, 0.80),
        row("water", "random", 0, 0.86),
        row("water", "none", 0, 0.60),
        row("water", "lgt", 1, 0.82),
        row("water", "random", 1, 0.88),
        row("water", "none", 1, 0.61),
    ]


def test_average_ranks_share_a_tie_as_the_tables_do():
    ranks = average_ranks(summary(two_tasks()))
    # iris: LGT 1, random 1 (tied), NoTuning 3; water: random 1, LGT 2, NoTuning 3
    assert ranks == {"lgt": (1.5, 2), "random": (1.0, 2), "none": (3.0, 2)}


def test_wins_ties_and_losses_are_counted_per_baseline():
    rows = two_tasks()
    counts = record(rows, summary(rows), "lgt")
    # iris against random: gains -0.04, +0.04 → tie; water: -0.06, -0.06 → loss
    assert dict(counts["random"]) == {"tie": 1, "loss": 1}
    assert dict(counts["none"]) == {"win": 2}


def test_results_md_holds_the_verdicts_and_the_summary():
    text = markdown(two_tasks(), 5, [0, 1])
    assert (
        "LGT against the best baseline, RandomSearch: test accuracy gain +0.0000 paired over"
        " 2 seeds, 95% CI [-0.0370, +0.0370] → **tie**" in text
    )
    assert "| LGT | 1.50 | 2 |" in text and "| RandomSearch | 1.00 | 2 |" in text
    assert "| LGT against | wins | ties | losses | no interval (1 seed) |" in text
    assert "| RandomSearch | 0 | 1 | 1 | 0 |" in text
    assert "| NoTuning | 2 | 0 | 0 | 0 |" in text
    # the summary sits before the tasks' tables, each verdict under its task's table
    assert text.index("## Over all tasks") < text.index("## iris") < text.index("**tie**")
    assert text.index("## water") < text.index("**loss**")


def test_one_seed_is_called_out_and_the_budget_note_replaces_the_trial_budget():
    rows = [row("wine", "lgt", 0, 0.30, False), row("wine", "random", 0, 0.40, False)]
    text = markdown(rows, None, [0], budget_note="Budget 60 s of training per method")
    assert text.startswith("# LGT against the baselines\n\nBudget 60 s of training per method,")
    assert "Budget None" not in text
    assert (
        "LGT against the best baseline, RandomSearch: test mae gain +0.1000 paired over 1 seed,"
        " no interval (1 seed) → -" in text
    )
    assert "| RandomSearch | 0 | 0 | 0 | 1 |" in text


def test_an_ablation_without_baselines_has_average_ranks_and_no_verdicts():
    rows = [row("iris", "lgt", 0, 0.9), row("iris", "no-optimizer", 0, 0.8)]
    text = markdown(rows, 5, [0])
    assert "| LGT | 1.00 | 1 |" in text
    assert "LGT against |" not in text and "best baseline" not in text


def test_lgts_own_methods_are_never_the_best_baseline_and_each_gets_its_verdicts():
    """The hybrid is LGT's own method: best by mean here, it is still not "the best
    baseline"; it is measured against the rivals in its own table and line."""
    rows = [
        row("wine", "lgt", 0, 0.30, False),
        row("wine", "hybrid", 0, 0.20, False),
        row("wine", "lgt-optuna", 0, 0.25, False),
        row("wine", "bayes", 0, 0.35, False),
        row("wine", "random", 0, 0.40, False),
        row("wine", "lgt", 1, 0.31, False),
        row("wine", "hybrid", 1, 0.21, False),
        row("wine", "lgt-optuna", 1, 0.26, False),
        row("wine", "bayes", 1, 0.36, False),
        row("wine", "random", 1, 0.41, False),
    ]
    table = summary(rows)
    assert best_baseline(table["wine"]) == "bayes"
    assert focus(rows) == "lgt"
    assert set(record(rows, table, "hybrid")) == {"bayes", "random"}  # never against LGT's own
    text = markdown(rows, 5, [0, 1])
    hybrid = METHODS["hybrid"].title
    assert f"| {hybrid} against | wins | ties | losses | no interval (1 seed) |" in text
    assert "| LGT against | wins | ties | losses | no interval (1 seed) |" in text
    assert f"| {hybrid} | 2 | 0 | 0 | 0 |" not in text.split("## wine")[0].split("LGT against |")[1]
    assert f"{hybrid} against the best baseline, Bayesian (Optuna): test mae gain +0.1500" in text
    assert "LGT against the best baseline, Bayesian (Optuna): test mae gain +0.0500" in text


def test_a_control_variant_and_the_epoch_schedules_are_rivals_not_lgt():
    assert not METHODS["random-advisor"].ours and METHODS["random-advisor"].kind == "baseline"
    assert not METHODS["cosine"].ours and not METHODS["none"].ours
    assert METHODS["no-optimizer"].ours and METHODS["hybrid"].ours and METHODS["lgt"].ours
    rows = [row("digits", "lgt", 0, 0.9), row("digits", "cosine", 0, 0.95)]
    assert best_baseline(summary(rows)["digits"]) == "cosine"
