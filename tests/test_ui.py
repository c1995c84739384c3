"""`ui` serves the MLflow UI on the project's store, at 127.0.0.1."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from lgt_graph.context import Settings
from lgt_graph.session import run_session


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def test_ui_serves_the_store_with_its_session_and_trials(store_uri, tmp_path):
    settings = Settings.resolve(task="iris", budget=2, tracking_uri=store_uri)
    outcome = run_session(settings, checkpoints=str(tmp_path / "ck.db"), echo=lambda _: None)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "lgt_graph", "ui", "--tracking-uri", store_uri, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ),
        start_new_session=True,
    )
    try:
        assert server.stdout.readline().startswith(f"MLflow UI on http://127.0.0.1:{port}")
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                status, page = get(base + "/")
                break
            except OSError:
                assert time.monotonic() < deadline, "the UI did not start"
                time.sleep(0.5)
        assert status == 200 and b"<html" in page.lower()
        status, body = get(f"{base}/api/2.0/mlflow/runs/get?run_id={outcome.session_id}")
        run = json.loads(body)["run"]
        assert run["info"]["status"] == "FINISHED"
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        assert tags["kind"] == "session" and tags["task"] == "iris"
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the UI and its workers
        server.wait(timeout=30)


def test_ui_without_a_store_is_a_clear_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "lgt_graph", "ui"], cwd=tmp_path, capture_output=True, text=True,
        env={k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "no MLflow store at" in proc.stderr
    assert not (tmp_path / "mlflow.db").exists()
