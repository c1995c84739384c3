"""A scripted chat model: answers each call with the next prepared message (a test fake)."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool


class ScriptedChatModel(BaseChatModel):
    """Return prepared replies in order; an Exception in the script is raised instead."""

    replies: list[Any]
    seen: list[list[Any]] = []  # noqa: RUF012 - a pydantic field, copied per instance

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools, *, tool_choice=None, **kwargs):
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.seen.append(list(messages))
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, BaseException):
            raise reply
        name = kwargs["tools"][0]["function"]["name"]
        if isinstance(reply, dict):
            reply = AIMessage(
                "", tool_calls=[{"name": name, "args": reply, "id": "c1", "type": "tool_call"}]
            )
        return ChatResult(generations=[ChatGeneration(message=reply)])
