"""Each trial's validation outputs, kept in the session's work folder beside its state.

A paired comparison of two trials (:mod:`lgt_graph.evaluation.selection`) reads both trials'
outputs on the same validation rows. They are arrays (CIFAR-10: 5,000 rows of ten
probabilities), so they stay out of the graph state, which every checkpoint copies:
one ``.npy`` file a trial under ``<workdir>/validation/``. A trial trained again after
a kill writes its file again; a trial without one (a journal's, an epoch-level run's)
is simply not compared in pairs. Only a session whose finalize node may read them
keeps them (:func:`wanted`): the others write nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lgt_graph.context import Settings
from lgt_graph.graph.registry import choices
from lgt_graph.training.result import TrialResult

FOLDER = "validation"
UNREAD_BY = frozenset({"default", "checkpoint"})
"""The built-in finalize nodes that never read trials' validation outputs."""


def wanted(settings: Settings) -> bool:
    """Say whether the session's finalize node may read trials' validation outputs.

    The one-SE rule reads them; so may a finalize node of the user's own
    (``--node finalize=my_pkg.module:Name``). The built-in default and checkpoint do not.
    """
    finalize = choices(settings.nodes, settings.method, settings.loop)["finalize"]
    return finalize.partition("?")[0] not in UNREAD_BY


def _path(workdir: Path, index: int) -> Path:
    return Path(workdir) / FOLDER / f"trial-{index}.npy"


def save(workdir: Path | None, index: int, result: TrialResult) -> None:
    """Write the trial's validation outputs, when it has them and the session a folder."""
    if workdir is None or result.validation is None:
        return
    path = _path(workdir, index)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with open(partial, "wb") as handle:  # np.save on a path would add its own suffix
        np.save(handle, result.validation, allow_pickle=False)
    os.replace(partial, path)  # a kill mid-write leaves no half file under the name


def load(workdir: Path | None, index: int) -> np.ndarray | None:
    """Return a trial's validation outputs, or None when none were kept."""
    if workdir is None:
        return None
    path = _path(workdir, index)
    if not path.exists():
        return None
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError):  # unreadable: compared as if never kept
        return None
