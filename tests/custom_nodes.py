"""Nodes a user could plug in with --node slot=tests.custom_nodes:Name; the tests use them."""

from __future__ import annotations

import os
import signal
import time

from lgt_graph.graph.registry import builtin
from lgt_graph.proposals import propose

real_train = builtin("train", "default")


class SabotageAdvisor:
    """Improve once (scale the features), then propose a learning rate that diverges."""

    def __call__(self, state, runtime):
        if len(state.get("trials", [])) == 1:
            return propose(state, runtime, {"scaling": "standard"}, "scale the features")
        trial = len(state.get("trials", []))
        return propose(
            state,
            runtime,
            {
                "optimizer": "sgd",
                "learning_rate": 1.0,
                "momentum": 0.99,
                "depth": 6,
                "width": 1020 + trial,
            },
            "a learning rate far too large",
        )


def stale_advisor(state, runtime):
    """Always shorten training: every trial is worse than the first."""
    trial = len(state.get("trials", []))
    return propose(state, runtime, {"epochs": max(1, 6 - trial)}, "shorter training")


def overconfident_advisor(state, runtime):
    """Always shorten training, and always say, nearly sure, that it will pay."""
    trial = len(state.get("trials", []))
    changes = {"epochs": max(1, 6 - trial)}
    return propose(
        state, runtime, changes, "shorter training", expected="improve", probability=0.95
    )


def train_then_die(state, runtime):
    """Train; at the trial named by LGT_TEST_DIE_AT, kill this process before the checkpoint."""
    update = real_train(state, runtime)
    die_at = os.environ.get("LGT_TEST_DIE_AT")
    if die_at and len(state.get("trials", [])) + 1 == int(die_at):
        os.kill(os.getpid(), signal.SIGKILL)
    return update


def train_then_ctrl_c_in_an_exec(state, runtime):
    """Train; at the trial named by LGT_TEST_CTRL_C_AT, Ctrl-C arrives inside an ``exec``.

    As it does when it lands while a dataclass builds its methods during an import:
    CPython then remembers an unhandled KeyboardInterrupt, whatever catches it later.
    """
    update = real_train(state, runtime)
    at = os.environ.get("LGT_TEST_CTRL_C_AT")
    if at and len(state.get("trials", [])) + 1 == int(at):
        exec("os.kill(os.getpid(), signal.SIGINT)", {"os": os, "signal": signal})
    return update


def train_then_swallow_a_ctrl_c(state, runtime):
    """Train; at the trial named by LGT_TEST_CTRL_C_AT, Ctrl-C arrives and a library eats it.

    As when it lands in a ``__del__`` or under a ``except BaseException: pass``: the
    KeyboardInterrupt never reaches the runner, and the trial goes on.
    """
    at = os.environ.get("LGT_TEST_CTRL_C_AT")
    if at and len(state.get("trials", [])) + 1 == int(at):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1.0)  # the handler raises here
        except KeyboardInterrupt:
            pass
    return real_train(state, runtime)


FAULTS = [
    ({"optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9, "depth": 4}, "loss turns inf"),
    ({"optimizer": "sgd", "learning_rate": 0.0003, "momentum": 0.9}, "gradients explode"),
    ({"width": 32}, "a narrower net (on features that hold a word: the fit raises)"),
    ({"scaling": "standard"}, "scale the features"),
]
BROKEN_TRIAL = 4
"""The trial whose features :func:`train_on_a_broken_column` breaks."""


def train_on_a_broken_column(state, runtime):
    """Train; trial BROKEN_TRIAL's features hold a word among numbers, so its fit raises."""
    if len(state.get("trials", [])) + 1 != BROKEN_TRIAL:
        return real_train(state, runtime)
    data = runtime.context.data
    kept = data.X_train
    broken = kept.astype(object)
    broken.iloc[0, 0] = "n/a"
    data.X_train = broken
    try:
        return real_train(state, runtime)
    finally:
        data.X_train = kept


def fault_advisor(state, runtime):
    """Propose, in turn, a diverging, an exploding and a raising trial, then a good one."""
    trial = len(state.get("trials", []))
    changes, reason = FAULTS[(trial - 1) % len(FAULTS)]
    return propose(state, runtime, changes, reason)


def story_advisor(state, runtime):
    """Scale (with a reason holding HTML), then diverge, then widen: a run with a rollback."""
    trial = len(state.get("trials", []))
    if trial == 1:
        return propose(state, runtime, {"scaling": "standard"}, "<script>alert(1)</script> scale")
    if trial == 2:
        changes = {"optimizer": "sgd", "learning_rate": 1.0, "momentum": 0.99, "depth": 6}
        return propose(state, runtime, {**changes, "width": 1024}, "a learning rate far too large")
    return propose(state, runtime, {"width": 96 + trial}, "a little wider")


class HarmfulLiveAdvisor:
    """Mid-run: continue once, then a rate far too large (the paired segment must lose)."""

    def __call__(self, state, runtime):
        if len(state.get("trials", [])) < 2:
            return propose(state, runtime, {}, "keep training")
        return propose(
            state,
            runtime,
            {"optimizer": "sgd", "learning_rate": 1.0, "momentum": 0.99},
            "a learning rate far too large",
        )


class ChangeEveryTimeAdvisor:
    """Mid-run: halve or double the rate in turn, so every segment is paired."""

    def __call__(self, state, runtime):
        trials = len(state.get("trials", []))
        rate = float(state["config"]["learning_rate"]) * (2.0 if trials % 2 else 0.5)
        return propose(state, runtime, {"learning_rate": rate}, "alternate the rate")


class NoOpLiveAdvisor:
    """Mid-run: continue once, then clip gradients far above their norm (changes nothing)."""

    def __call__(self, state, runtime):
        if len(state.get("trials", [])) < 2:
            return propose(state, runtime, {}, "keep training")
        return propose(state, runtime, {"grad_clip": 10.0}, "clip the gradients")
