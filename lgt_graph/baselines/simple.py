"""NoTuning: the default configuration, once."""

from __future__ import annotations

from typing import Any

from lgt_graph.space import Config, Space


class NoTuning:
    """Train the default configuration and stop: the untuned reference."""

    def __init__(self, space: Space, **_: Any) -> None:
        self.space = space
        self.done = False

    def ask(self) -> Config | None:
        """Return the default configuration the first time, then nothing."""
        if self.done:
            return None
        self.done = True
        return self.space.default()

    def tell(self, config: Config, score: float | None) -> None:
        """Ignore the score: there is nothing to learn."""
