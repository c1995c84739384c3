"""The Optimizer's messages: the current guidance, the session's history, the Advisor's misses."""

from __future__ import annotations

from langchain_core.messages import BaseMessage

from lgt_graph import history
from lgt_graph.agents import predictions
from lgt_graph.agents.prompting import INITIAL_GUIDANCE, history_rows, messages
from lgt_graph.context import Context
from lgt_graph.epoch import guards as epoch_guards
from lgt_graph.llm.fitting import FULL, Fit, facts_json
from lgt_graph.state import State


def optimizer_messages(state: State, ctx: Context, fit: Fit = FULL) -> list[BaseMessage]:
    """Build the Optimizer's messages: the current guidance and the session's history."""
    prompt = history.current_prompt(state)
    guidance = prompt["guidance"] if prompt else INITIAL_GUIDANCE
    history_text, history_facts = history_rows(state, ctx, fit)
    facts = {
        "agent": "optimizer",
        "task": ctx.profile,
        "guidance": guidance,
        "version": prompt["version"] if prompt else 1,
        "history": history_facts,
        "maximize": ctx.maximize,
        "misses": (missed := predictions.misses(state)),
        "calibration": predictions.calibration(predictions.checks_of(state.get("verdicts", []))),
        "loop": ctx.settings.loop,
        "patience": epoch_guards.patience_of(prompt),
    }
    patience_text = (
        f"After the recent paired changes all sat inside their noise floor, the run trains on"
        f" for {facts['patience']} segment(s) without a proposal (a paired segment costs two)."
        " Set patience higher when few changes are kept, lower when changes keep paying."
        if ctx.settings.loop == "epoch"
        else "not used at the trial level: leave patience null."
    )
    return messages(
        "optimizer",
        task=ctx.profile,
        version=prompt["version"] if prompt else 1,
        guidance=guidance,
        history_text=history_text,
        misses_text=predictions.misses_text(missed),
        calibration_text=predictions.calibration_text(state.get("verdicts", [])),
        patience_text=patience_text,
        facts_json=facts_json(facts, fit),
    )
