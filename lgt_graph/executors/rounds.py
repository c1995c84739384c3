"""Parallel rounds (``--workers N``): their size, their members, and the journal of their results.

A round is one pass through the train node that fits up to N proposals side by side
(Ray tasks); its trials are appended together, so the graph checkpoints a round as one
step. A driver killed in the middle of a round would lose the trials already finished
in it, so each result is written to the session's folder as it comes back: the resumed
train step takes those from the journal and trains only the trials that were still in
flight. Nothing is trained twice, nothing finished is lost.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from lgt_graph.agents.prompting import digest
from lgt_graph.context import Settings
from lgt_graph.space import Config
from lgt_graph.state import State
from lgt_graph.training.result import TrialResult


def size(state: State, settings: Settings) -> int:
    """Return how many proposals the next round holds: the workers, trimmed to the budget.

    A trial budget's last round holds what is left of it; epochs and seconds are counted
    after each round, so their last round may pass them by up to a round (one trial per
    worker).
    """
    left = settings.budget - len(state.get("trials", []))
    return max(1, min(settings.workers, left))


def configs(state: State) -> list[Config]:
    """Return the configurations the next train step fits: ``config``, then the round's others."""
    return [state["config"], *(m["config"] for m in state.get("round", []))]


class Journal:
    """Results of a round's finished trials, kept as files until the round is checkpointed."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = None if folder is None else Path(folder) / "round"

    def _path(self, index: int, config: Config) -> Path:
        assert self.folder is not None
        return self.folder / f"trial-{index:04d}-{digest(config)}.json"

    def load(self, index: int, config: Config) -> TrialResult | None:
        """Return the journalled result of trial ``index`` when it trained this configuration."""
        if self.folder is None:
            return None
        path = self._path(index, config)
        try:
            data: dict[str, Any] = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return None  # not there, or cut short by the kill: train it again
        result = TrialResult.from_dict(data)
        result.diagnostics["journal"] = "finished before the driver stopped; not trained again"
        return result

    def save(self, index: int, config: Config, result: TrialResult) -> None:
        """Write trial ``index``'s result atomically (a kill mid-write leaves no half file)."""
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(index, config)
        partial = path.with_suffix(".part")
        partial.write_text(json.dumps(result.to_dict(), default=str), "utf-8")
        os.replace(partial, path)

    def clear(self, below: int) -> None:
        """Remove the results of trials before ``below``: rounds the graph has checkpointed."""
        if self.folder is None or not self.folder.is_dir():
            return
        for path in self.folder.glob("trial-*"):
            index = path.name.split("-")[1]
            if not index.isdigit() or int(index) < below:
                with contextlib.suppress(OSError):
                    path.unlink()
