"""Chat models for the agents: the built-in heuristic expert, or any OpenAI-compatible endpoint."""

from __future__ import annotations

import os
from typing import Any

from lgt_graph.errors import UserError


def make_chat_model(
    spec: str,
    base_url: str | None = None,
    timeout: float = 120.0,
    max_retries: int = 3,
    structured_output: str = "function_calling",
) -> tuple[Any, dict[str, Any]]:
    """Return the chat model ``spec`` names, and the options its structured output takes.

    ``heuristic`` is the built-in rule-based expert (not a language model).
    ``openai:MODEL`` is ``langchain_openai.ChatOpenAI`` on OpenAI or any compatible
    server (``base_url``: vLLM, Ollama, llama.cpp); the key comes from
    ``OPENAI_API_KEY`` and is never recorded. Retries with exponential backoff,
    honouring Retry-After, are the OpenAI client's.
    """
    if spec == "heuristic":
        from lgt_graph.llm.heuristic import HeuristicExpert

        return HeuristicExpert(), {}
    kind, _, name = spec.partition(":")
    if kind != "openai" or not name:
        raise UserError(f"--llm {spec!r}: use heuristic or openai:MODEL (e.g. openai:gpt-4o-mini)")
    key = os.environ.get("OPENAI_API_KEY")
    if not key and not base_url:
        raise UserError(
            f"--llm {spec} needs OPENAI_API_KEY, or --base-url for a local OpenAI-compatible"
            " server (Ollama, vLLM, llama.cpp)"
        )
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    model = ChatOpenAI(
        model=name,
        base_url=base_url,
        api_key=SecretStr(key or "not-needed"),  # local servers accept any key
        timeout=timeout,
        max_retries=max_retries,
        temperature=0.2,
    )
    return model, {"method": structured_output}
