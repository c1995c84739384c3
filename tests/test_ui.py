"""`ui` serves the MLflow UI on the project's store, at 127.0.0.1; a real browser reads it.

The browser test drives Debian's Chromium (``/usr/bin/chromium``, or ``$LGT_CHROMIUM``)
headless through Playwright. Without Chromium it is skipped, unless ``LGT_REQUIRE_BROWSER=1``
(set by ``.ci/run``) makes a missing browser a failure. Its screenshots are kept in
``build/browser-test/`` (or ``$LGT_SCREENSHOTS``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from lgt_graph.cli.serve import serve
from lgt_graph.context import Settings
from lgt_graph.errors import UserError
from lgt_graph.report import publish_report
from lgt_graph.session import Outcome, run_session

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("LGT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Without the networking flags Chromium keeps calling Google's hosts, which a closed
# network refuses many times a second; the sandbox needs a user namespace CI lacks; a
# container's small /dev/shm crashes renderers unless Chromium writes to /tmp instead.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


@dataclass
class Served:
    base: str
    store_uri: str
    outcome: Outcome
    banner: list[str]
    first_answer: int | str


@pytest.fixture(scope="module")
def served(_template_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A finished iris session in a fresh store, and `ui` serving that store."""
    folder = tmp_path_factory.mktemp("ui")
    shutil.copy(_template_store, folder / "mlflow.db")
    store_uri = f"sqlite:///{folder / 'mlflow.db'}"
    settings = Settings.resolve(task="iris", budget=3, tracking_uri=store_uri)
    outcome = run_session(settings, checkpoints=str(folder / "ck.db"), echo=lambda _: None)
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
        banner = [server.stdout.readline(), server.stdout.readline()]
        base = f"http://127.0.0.1:{port}"
        # at once, without a retry: whoever clicks the printed link gets the UI, not a refusal
        link = banner[1].split(": ", 1)[-1].strip()
        try:
            first_answer: int | str = get(link)[0]
        except OSError as exc:
            first_answer = repr(exc)
        yield Served(base, store_uri, outcome, banner, first_answer)
    finally:
        os.killpg(server.pid, signal.SIGINT)  # as Ctrl-C at the terminal
        assert server.wait(timeout=60) == 130
        with pytest.raises(ConnectionRefusedError):  # stopped with it, not left behind
            socket.create_connection(("127.0.0.1", port), timeout=5)


def test_ui_serves_the_store_with_its_session_and_trials(served):
    port = served.base.rsplit(":", 1)[1]
    assert served.banner[0].startswith(f"MLflow UI on http://127.0.0.1:{port} for ")
    experiment_id = MlflowClient(served.store_uri).get_experiment_by_name("lgt-iris").experiment_id
    runs_link = f"{served.base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"
    assert served.banner[1].strip() == f"lgt-iris: {runs_link}"
    assert served.first_answer == 200  # the link was printed once the server answered
    status, page = get(served.base + "/")
    assert status == 200 and b"<html" in page.lower()
    status, body = get(f"{served.base}/api/2.0/mlflow/runs/get?run_id={served.outcome.session_id}")
    run = json.loads(body)["run"]
    assert run["info"]["status"] == "FINISHED"
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags["kind"] == "session" and tags["task"] == "iris"


def _chromium():
    """Launch headless Chromium through Playwright, or skip (fail in CI) without one."""
    required = os.environ.get("LGT_REQUIRE_BROWSER") == "1"
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install -e '.[test]')"
    if missing is None and not Path(CHROMIUM).is_file():
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set LGT_CHROMIUM)"
    if missing:
        if required:
            pytest.fail(f"LGT_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    return sync_playwright


def test_a_browser_shows_the_session_its_trials_a_learning_curve_prompts_and_report(served):
    sync_playwright = _chromium()
    from playwright.sync_api import expect

    shots = Path(os.environ.get("LGT_SCREENSHOTS") or REPO / "build" / "browser-test")
    shots.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(served.store_uri)
    session = client.get_run(served.outcome.session_id)
    experiment_id = session.info.experiment_id
    trials = client.search_runs(
        [experiment_id], f"tags.mlflow.parentRunId = '{session.info.run_id}'"
    )
    assert len(trials) == 3
    trial = min(trials, key=lambda r: r.info.run_name)  # trial-001: the default's curves
    epochs = len(client.get_metric_history(trial.info.run_id, "curve/val_accuracy"))
    assert epochs > 1
    prompt = session.data.tags["lgt.prompt"].removeprefix("prompts:/").split("/")[0]
    versions = client.search_prompt_versions(prompt)
    assert len(versions) >= 2  # the default prompt and at least one rewrite

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(90_000)
            expect.set_options(timeout=90_000)

            # the runs table: the session run, expanded into its nested trials
            page.goto(
                f"{served.base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"
            )
            row = page.locator("[role=row]", has_text=session.info.run_name)
            expect(row).to_have_count(1)
            for run in trials:  # nested runs are folded under the session until expanded
                expect(page.get_by_text(run.info.run_name, exact=True)).to_have_count(0)
            row.locator("[col-id='attributes.`Run Name`'] button").first.click()
            for run in trials:
                expect(page.get_by_text(run.info.run_name, exact=True)).to_be_visible()
            page.screenshot(path=shots / "runs.png")

            # a trial's learning curve: one chart point per epoch logged
            page.goto(
                f"{served.base}/#/experiments/{experiment_id}/runs/{trial.info.run_id}"
                "/model-metrics?workflowType=machine_learning"
            )
            legend = f"{trial.info.run_name} (curve/val_accuracy)"
            card = page.locator("[data-testid=experiment-view-compare-runs-card]", has_text=legend)
            expect(card).to_have_count(1)
            expect(card.locator("path.point")).to_have_count(epochs)
            page.screenshot(path=shots / "curves.png")

            # the prompt registry: every version of the Advisor's prompt, with why it changed
            page.goto(f"{served.base}/#/prompts/{prompt}")
            for version in versions:
                expect(page.get_by_text(f"Version {version.version}", exact=True)).to_be_visible()
            latest = max(versions, key=lambda v: v.version)
            expect(page.get_by_text(latest.commit_message, exact=True)).to_be_visible()
            expect(
                page.get_by_text("You are the Advisor of Language-Guided Tuning")
            ).to_be_visible()
            page.screenshot(path=shots / "prompts.png")

            # the session's report, opened from disk: the story without a server
            report = publish_report(served.store_uri, session.info.run_id)
            assert report is not None
            page.goto(report.as_uri())
            heading = page.get_by_role("heading", name=f"LGT session {session.info.run_id}")
            expect(heading).to_be_visible()
            expect(page.locator("section.trial")).to_have_count(len(trials))
            plots = page.locator("img")
            expect(plots).to_have_count(2)  # trajectory, learning curves: embedded, drawn
            for i in range(2):
                assert plots.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
            page.screenshot(path=shots / "report.png", full_page=True)
        finally:
            browser.close()
    print(f"screenshots: {shots}")


def test_ui_without_a_store_is_a_clear_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "lgt_graph", "ui"], cwd=tmp_path, capture_output=True, text=True,
        env={k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "no MLflow store at" in proc.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_ui_on_a_port_in_use_is_a_clear_error_and_prints_no_link(served):
    port = served.base.rsplit(":", 1)[1]
    proc = subprocess.run(
        [sys.executable, "-m", "lgt_graph", "ui", "--tracking-uri", served.store_uri,
         "--port", port], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"--port {port}: the port is in use" in proc.stderr
    assert get(served.base + "/")[0] == 200  # the UI already there is left alone


@pytest.mark.parametrize(
    ("script", "limit", "why"),
    [
        ("print('loading'); raise SystemExit('ERROR: no such app')", 60, "exited (status 1)"),
        ("import time; print('loading', flush=True); time.sleep(60)", 1, "did not answer"),
    ],
)
def test_a_ui_server_that_dies_or_stays_silent_is_one_line_with_its_last_output(
    script, limit, why, capsys
):
    base = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(UserError) as failure:
        serve([sys.executable, "-c", script], base, ["the link"], limit=limit)
    assert str(failure.value).startswith(f"the MLflow UI server {why}")
    assert "\n" not in str(failure.value)
    out, err = capsys.readouterr()
    assert "the link" not in out
    assert "last output of the MLflow UI server:\n  loading\n" in err
