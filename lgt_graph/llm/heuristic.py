"""The built-in heuristic expert, written as a LangChain chat model. It is not a language model.

It reads the same messages an LLM gets — the rendered prompt, whose user part ends
with the facts as JSON — and answers the same structured-output request (a tool
call for Proposal, Verdict or PromptRewrite), so offline runs and tests go through
the code path an LLM run takes. When an answer is sent back with an error, the
next attempt takes its next-best candidate.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool

from lgt_graph.agents.prompting import extract_facts
from lgt_graph.expert import live
from lgt_graph.expert.advisor import propose
from lgt_graph.expert.judge import judge, rewrite
from lgt_graph.expert.rounds import propose_round

ANSWERS: dict[str, Callable[[dict[str, Any], int], dict[str, Any]]] = {
    "Proposal": lambda facts, attempt: (live.propose if facts.get("loop") == "epoch" else propose)(
        facts, attempt
    ),
    "ProposalBatch": lambda facts, attempt: propose_round(facts, attempt),
    "Verdict": lambda facts, attempt: (live.judge if facts.get("loop") == "epoch" else judge)(
        facts
    ),
    "PromptRewrite": lambda facts, attempt: rewrite(facts),
}
_CALLS = itertools.count(1)


class HeuristicExpert(BaseChatModel):
    """A rule-based tuning expert that answers LGT's structured requests offline."""

    @property
    def _llm_type(self) -> str:
        return "lgt-heuristic"

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind the schemas to answer, as OpenAI-style tools."""
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = kwargs.get("tools") or []
        names = [t["function"]["name"] for t in tools if t.get("function")]
        name = next((n for n in names if n in ANSWERS), None)
        if name is None:
            reply = AIMessage(
                "The heuristic expert answers structured requests only: Proposal,"
                " ProposalBatch, Verdict or PromptRewrite."
            )
            return ChatResult(generations=[ChatGeneration(message=reply)])
        facts = next(
            extract_facts(str(m.content))
            for m in reversed(messages)
            if isinstance(m, HumanMessage) and "```json" in str(m.content)
        )
        attempt = 1 + sum(isinstance(m, AIMessage) for m in messages)
        args = ANSWERS[name](facts, attempt)
        call = {"name": name, "args": args, "id": f"call_h{next(_CALLS)}", "type": "tool_call"}
        reply = AIMessage(
            "",
            tool_calls=[call],
            usage_metadata={"input_tokens": 0, "output_tokens": 0, "total_tokens": 0},
        )
        return ChatResult(generations=[ChatGeneration(message=reply)])
