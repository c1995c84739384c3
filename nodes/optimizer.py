"""Optimize: rewrite the Advisor's guidance from what the session's history shows."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from lgt_graph import history
from lgt_graph.agents.calling import Answer, ask, call_record, stop_if_endpoint_down
from lgt_graph.agents.optimizer_prompts import optimizer_messages
from lgt_graph.agents.prompting import INITIAL_GUIDANCE
from lgt_graph.agents.schemas import PromptRewrite
from lgt_graph.context import Context
from lgt_graph.epoch import guards as epoch_guards
from lgt_graph.state import PromptVersion, State


def llm_optimizer(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask for a rewrite; a different guidance becomes the next prompt version."""
    ctx = runtime.context
    trials = len(state.get("trials", []))
    answer: Answer[PromptRewrite] = ask(
        ctx.model,
        lambda fit: optimizer_messages(state, ctx, fit),
        PromptRewrite,
        options=ctx.options,
        config=ctx.call_config("optimizer", trials),
    )
    stop_if_endpoint_down(answer, ctx.settings.on_endpoint_error)
    update: dict[str, Any] = {"agent_calls": [call_record("optimizer", trials, answer)]}
    current = history.current_prompt(state)
    old = current["guidance"] if current else INITIAL_GUIDANCE
    rewrite = answer.value
    patience = epoch_guards.patience_of(current)
    if rewrite is None or (
        rewrite.guidance.strip() == old.strip() and rewrite.patience in (None, patience)
    ):
        return update  # a failed or unchanged rewrite keeps the current version
    version = PromptVersion(
        version=(current["version"] if current else 1) + 1,
        guidance=rewrite.guidance.strip(),
        why=rewrite.why,
        after_trial=trials,
        status=answer.status,
        patience=patience if rewrite.patience is None else rewrite.patience,
    )
    return {**update, "prompts": [version]}


def frozen_prompt(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Keep the Advisor's prompt as it is (the 'no Optimizer' ablation)."""
    return {}
