"""The report tells a session's story from the MLflow store alone."""

import base64
import re

from mlflow.tracking import MlflowClient

from lgt_graph.context import Settings
from lgt_graph.report import publish_report
from lgt_graph.session import run_session


def test_the_report_shows_trajectory_curves_timeline_prompts_and_escapes_text(store_uri, tmp_path):
    settings = Settings.resolve(
        task="iris",
        budget=4,
        tracking_uri=store_uri,
        nodes={"advisor": "tests.custom_nodes:story_advisor"},
    )
    outcome = run_session(settings, checkpoints=str(tmp_path / "ck.db"), echo=lambda _: None)
    page = publish_report(store_uri, outcome.session_id)
    assert page is not None and page.name == "report.html"
    text = page.read_text()
    # the story: every trial with its change, reason and verdict; the failure; the rollback
    assert text.count("<section class='trial'") == 4
    assert "scaling none → standard" in text and "a learning rate far too large" in text
    assert re.search(r"<b>Failed:</b> diverged: (training|validation) loss", text)
    assert "Rolled back after trials 3." in text
    assert "<b>Evaluator:</b> Trial 2 reached accuracy" in text
    best = outcome.values["final"]["trial"]
    assert f"<b>Best: trial {best}</b>" in text and "scored once on the test split" in text
    assert "<h3>Version 1</h3>" in text  # the prompt versions
    # model text is escaped, never run
    assert "&lt;script&gt;alert(1)&lt;/script&gt; scale" in text and "<script>" not in text
    # self-contained: both plots embedded as PNG
    images = re.findall(r"src='data:image/png;base64,([^']+)'", text)
    assert len(images) == 2
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    # the markdown twin, its plots beside it, and the page attached to the session run
    markdown = (page.parent / "report.md").read_text()
    assert (
        "### Trial 3: optimizer adam → sgd" in markdown
        and "![trajectory](trajectory.png)" in markdown
    )
    assert (page.parent / "trajectory.png").read_bytes()[:4] == b"\x89PNG"
    artifacts = {a.path for a in MlflowClient(store_uri).list_artifacts(outcome.session_id)}
    assert "report.html" in artifacts


def test_the_report_reads_each_curve_at_its_recorded_steps(store_uri, tmp_path):
    from lgt_graph.report.load import load_session

    # gradient boosting is scored at a handful of its rounds, not at 1, 2, 3, ...
    settings = Settings.resolve(
        task="iris",
        budget=1,
        tracking_uri=store_uri,
        start={"model": "gbm", "n_estimators": 200},
    )
    outcome = run_session(settings, checkpoints=str(tmp_path / "ck.db"), echo=lambda _: None)
    trial = load_session(store_uri, outcome.session_id).trials[0]
    recorded = outcome.values["trials"][0]["result"]["steps"]
    assert trial.steps["val_accuracy"] == recorded and recorded[-1] > len(recorded)
