"""A small OpenAI-compatible chat server on 127.0.0.1 that answers from a script.

Each reply in the script is one of:
- ``{"args": {...}}``: a tool call whose arguments are that JSON;
- ``{"arguments": "text"}``: a tool call with these raw (possibly malformed) arguments;
- ``{"content": "text"}``: a plain text answer, no tool call;
- ``{"status": 500, "headers": {...}, "body": "..."}``: an HTTP error;
- ``{"hang": seconds}``: wait that long before answering (a timeout);
- ``{"close": True}``: drop the connection without a response;
- ``{"truncate": True}``: send half of a valid response body.
Replies are taken per tool name (``Proposal``, ``Verdict``, ``PromptRewrite``) from
``script[name]`` or ``script["*"]``; the last reply of a list repeats.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ScriptedOpenAI:
    """Serve scripted chat completions; record every request received."""

    def __init__(
        self,
        script: dict[str, list[dict[str, Any]]] | None = None,
        responder: Any = None,
    ) -> None:
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.responder = responder
        """Optional ``responder(body) -> reply``, consulted before the script."""
        self.requests: list[dict[str, Any]] = []
        self.times: list[float] = []
        """When each request arrived (``time.monotonic()``), to check retry backoff."""
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(body)
                    server.times.append(time.monotonic())
                    server.headers.append(dict(self.headers))
                    reply = server._next(body)
                # the client may give up first (its timeout): that is the test's point
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    server._answer(self, body, reply)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _next(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.responder is not None:
            reply = self.responder(body)
            if reply is not None:
                return dict(reply)
        tools = body.get("tools") or []
        name = tools[0]["function"]["name"] if tools else "*"
        queue = self.script.get(name) or self.script.get("*") or [{"content": "no script"}]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def _answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any], reply: dict) -> None:
        if "hang" in reply:
            time.sleep(float(reply["hang"]))
        if reply.get("close"):
            handler.close_connection = True
            handler.connection.close()
            return
        if "status" in reply:
            payload = reply.get("body", json.dumps({"error": {"message": "scripted error"}}))
            handler.send_response(int(reply["status"]))
            for key, value in reply.get("headers", {}).items():
                handler.send_header(key, value)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload.encode())
            return
        tools = body.get("tools") or []
        message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
        if tools and "content" not in reply:
            arguments = reply.get("arguments")
            if arguments is None:
                arguments = json.dumps(reply.get("args", {}))
            message["tool_calls"] = [
                {
                    "id": f"call_{len(self.requests)}",
                    "type": "function",
                    "function": {"name": tools[0]["function"]["name"], "arguments": arguments},
                }
            ]
        payload = json.dumps(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "scripted"),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            }
        ).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        if reply.get("truncate"):
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload[: len(payload) // 2])
            handler.close_connection = True
            return
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
