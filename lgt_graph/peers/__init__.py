"""Peers: whole tools a user would pick instead of LGT, run on a session's own splits.

A peer (FLAML's AutoML, AutoGluon-Tabular) has its own space, model families and search,
so it is not a node set of the graph: it gets the session's training and validation rows
(the loaded frame, raw columns with their gaps and categories: each tool prepares them its
own way, as LGT's trials do theirs), searches for the session's seconds, and its chosen
model is scored once on the session's test split with the same metric code as every
method. Its session is one MLflow run like ours: settings, what it chose, every model it
tried (``leaderboard.csv``) and the metrics. See :mod:`lgt_graph.peers.session`.

A tool module has ``fit(data, metric, seconds, seed, threads, folder) -> PeerFit``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Tried:
    """One model a peer trained during its search, as its leaderboard lists it."""

    model: str
    val: float | None
    """Its validation score, in the session's primary metric (None: it failed)."""
    seconds: float
    """The search's seconds by the time it was scored (its own clock)."""


@dataclass
class PeerFit:
    """What a peer's search returns: its chosen model, and what it tried on the way."""

    predict: Callable[[Any], np.ndarray]
    """Class probabilities (rows × classes, the classes in the task's order) or values."""
    chosen: dict[str, Any]
    """What it chose: the model (or ensemble) and its configuration."""
    tried: list[Tried]
    """Every model it scored, in the order it scored them."""
    tool: str
    """The tool and its version, e.g. ``flaml 2.8.0``."""
    options: dict[str, Any] = field(default_factory=dict)
    """The tool's settings that a reader needs: preset, metric name, time limit."""
    seconds: float = 0.0
    """The search's wall time."""
