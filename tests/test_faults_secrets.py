"""Fault suite, secrets: the API key reaches the endpoint and nothing else the tool writes.

A session with a real ChatOpenAI client runs through the CLI in an empty folder; every
file left there (the MLflow store with its traces, artifacts, checkpoints) and the
command's output are searched for the key, raw and base64-encoded.
"""

import base64
import os
import secrets
import subprocess
import sys

from tests.openai_server import ScriptedOpenAI

VERDICT = {"args": {"outcome": "neutral", "delta": 0.0, "diagnosis": "scripted", "suggestions": []}}
REWRITE = {"args": {"guidance": "Prefer: scaling=standard", "why": "scripted"}}
PROPOSAL = {
    "args": {
        "changes": [{"knob": "scaling", "value": "standard", "reason": "scale"}],
        "rationale": "scripted",
        "expected_effect": "better",
    }
}


def test_the_api_key_is_never_written(tmp_path):
    key = f"sk-test-{secrets.token_hex(16)}"
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "OPENAI_API_KEY": key, "LGT_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("MLFLOW_TRACKING_URI", None)
    script = {"Proposal": [PROPOSAL, {"arguments": "{broken"}], "Verdict": [VERDICT]}
    script["PromptRewrite"] = [REWRITE]
    with ScriptedOpenAI(script) as server:
        llm = ["--llm", "openai:scripted", "--base-url", server.url, "--max-retries", "0"]
        proc = subprocess.run(
            [sys.executable, "-m", "lgt_graph", "run", "--task", "iris", "--budget", "3", *llm],
            capture_output=True,
            text=True,
            cwd=work,
            env=env,
            timeout=600,
        )
        headers = list(server.headers)
    assert proc.returncode == 0, proc.stderr
    # the key did reach the endpoint, as a bearer token
    assert headers and all(
        {k.lower(): v for k, v in h.items()}.get("authorization") == f"Bearer {key}"
        for h in headers
    )
    needles = [key.encode(), base64.b64encode(key.encode()), key[8:].encode()]
    written = [p for p in work.rglob("*") if p.is_file()]
    names = {p.name for p in written}
    assert "mlflow.db" in names and "lgt_checkpoints.db" in names  # the store and checkpoints
    assert any(p.suffix == ".json" for p in written)  # and MLflow artifacts
    for path in written:
        data = path.read_bytes()
        assert not any(n in data for n in needles), f"the API key is in {path}"
    for stream in (proc.stdout, proc.stderr):
        assert key not in stream and key[8:] not in stream
    # the traces of the chat calls are in the store, and hold no key either (read above)
    import sqlite3

    with sqlite3.connect(work / "mlflow.db") as db:
        spans = db.execute("select count(*) from spans").fetchone()[0]
    assert spans > 0
