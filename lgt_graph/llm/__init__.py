"""Chat models for the agents: the built-in heuristic expert, or any OpenAI-compatible endpoint."""

from __future__ import annotations

import os
from typing import Any

from lgt_graph.errors import UserError

LOCAL_REPLY_TOKENS = 1024
"""The longest reply asked of a local model (a weak one may write on to its window's end)."""


def make_chat_model(
    spec: str,
    base_url: str | None = None,
    timeout: float = 120.0,
    max_retries: int = 3,
    structured_output: str = "auto",
    context_window: int | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Return the chat model ``spec`` names, and the options its structured output takes.

    ``heuristic`` is the built-in rule-based expert (not a language model).
    ``openai:MODEL`` is ``langchain_openai.ChatOpenAI`` on OpenAI or any compatible
    server (``base_url``: vLLM, Ollama, llama.cpp); the key comes from
    ``OPENAI_API_KEY`` and is never recorded. Retries with exponential backoff,
    honouring Retry-After, are the OpenAI client's. ``local`` and ``gguf:PATH`` start
    llama.cpp's server on 127.0.0.1 with the bundled model or that file
    (:mod:`lgt_graph.llm.local`) and talk to it the same way. A real endpoint's options
    hold its structured-output ladder (:mod:`lgt_graph.llm.structured`, starting at
    ``structured_output``) and its context window (:mod:`lgt_graph.llm.fitting`:
    ``context_window`` tokens, the local server's own, or unknown until the server
    reports one).
    """
    from lgt_graph.llm.fitting import Window
    from lgt_graph.llm.structured import ModeLadder

    if spec == "heuristic":
        from lgt_graph.llm.heuristic import HeuristicExpert

        return HeuristicExpert(), {}
    kind, _, name = spec.partition(":")
    reply_tokens = None
    if spec == "local" or (kind == "gguf" and name):
        from lgt_graph.llm.local import CONTEXT, serve

        server = serve(spec, context_window or CONTEXT)
        name, base_url, key = server.alias, server.url, "not-needed"
        context_window = server.context
        reply_tokens = LOCAL_REPLY_TOKENS
    elif kind != "openai" or not name:
        raise UserError(
            f"--llm {spec!r}: use heuristic, local, gguf:PATH or openai:MODEL"
            " (e.g. openai:gpt-4o-mini)"
        )
    else:
        key = os.environ.get("OPENAI_API_KEY") or ""
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
        max_tokens=reply_tokens,  # type: ignore[call-arg]  # pydantic alias of max_tokens
    )
    window = Window(context_window, base_url, reply_tokens or 1024)
    return model, {"ladder": ModeLadder.starting_at(structured_output), "window": window}
