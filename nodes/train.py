"""Train: fit the configuration the state holds, score it on validation. One call, one trial."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.context import Context
from lgt_graph.state import State, Trial
from lgt_graph.training import train as fit


def train(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run one trial of ``state['config']`` and append it to the history."""
    ctx = runtime.context
    index = len(state.get("trials", [])) + 1
    result = fit(state["config"], ctx.data)
    prompt = history.current_prompt(state)
    trial = Trial(
        index=index,
        config=result.config,
        base=state.get("base"),
        changes=list(state.get("pending_changes", [])),
        result=result.to_dict(),
        score=result.score(ctx.primary),
        prompt_version=prompt["version"] if prompt else 0,
        timestamp=int(time.time() * 1000),
    )
    # The next proposal builds on this trial unless a rollback says otherwise.
    return {"trials": [trial], "base": index, "pending_changes": []}
