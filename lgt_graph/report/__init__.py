"""The story of a session, from the MLflow store: an HTML page and its markdown twin.

``write_report`` reads a session run, its nested trial runs (curves, proposals,
verdicts) and its prompt versions, and writes ``report.html`` (self-contained: the
plots are embedded) and ``report.md`` (the plots beside it as PNG files).

- :mod:`~lgt_graph.report.load`: the session, read back from MLflow.
- :mod:`~lgt_graph.report.plots`: its figures.
- :mod:`~lgt_graph.report.pages`: markdown and HTML.
"""

from __future__ import annotations

from pathlib import Path

from lgt_graph.report.load import load_session
from lgt_graph.report.pages import html_page, markdown
from lgt_graph.report.plots import plot_learning_curves, plot_run_line, plot_trajectory


def write_report(uri: str, run_id: str, out: Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` (with its PNGs) for a session into ``out``."""
    view = load_session(uri, run_id)
    figures = {"trajectory": plot_trajectory(view), "curves": plot_learning_curves(view)}
    if view.line:
        figures["line"] = plot_run_line(view)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in figures.items():
        (out / f"{name}.png").write_bytes(data)
    md_path = out / "report.md"
    md_path.write_text(markdown(view, {name: f"{name}.png" for name in figures}))
    html_path = out / "report.html"
    html_path.write_text(html_page(view, figures))
    return html_path, md_path


def report_dir(uri: str, run_id: str) -> Path:
    """Return the default report folder: ``lgt_reports/RUN_ID`` beside a SQLite store."""
    base = Path(uri[len("sqlite:///") :]).parent if uri.startswith("sqlite:///") else Path()
    return base / "lgt_reports" / run_id


def publish_report(uri: str, run_id: str) -> Path | None:
    """Write a finished session's report and attach the page to its MLflow run.

    A report is an aid: when it cannot be written, say why and return None.
    """
    import logging

    try:
        html_path, _ = write_report(uri, run_id, report_dir(uri, run_id))
        from lgt_graph.tracking import open_client

        open_client(uri).log_artifact(run_id, str(html_path))
    except Exception as exc:
        logging.getLogger(__name__).warning("the report was not written: %s", exc)
        return None
    return html_path
