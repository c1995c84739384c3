"""Train, in the epoch-level loop: the next segment of one continuing run, paired or not.

``paired_segment`` (the default of ``--loop epoch``) trains a proposal's segment twice
from the same checkpoint, with the proposed and with the current configuration, so
the Evaluator compares like with like; ``unpaired_segment`` (``--node train=unpaired``)
trains the proposal alone and leaves the Evaluator the score at its start: cheaper,
and flattered by training progress. Both count every epoch they train.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph.context import Context
from lgt_graph.epoch.loop import train_segment
from lgt_graph.epoch.nested import train_nested
from lgt_graph.state import State


def paired_segment(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Train the next segment with the proposal and, from the same checkpoint, without it."""
    return train_segment(state, runtime.context, paired=True)


def nested_trial(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Train the next trial of ``--loop both``: a net as an epoch-level run of its own."""
    return train_nested(state, runtime.context)


def unpaired_segment(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Train the next segment with the proposal alone."""
    return train_segment(state, runtime.context, paired=False)
