"""The README's and the documentation site's examples, run as written.

Blocks are found by the HTML comment before them (``<!-- example: NAME -->``) in README.md
or any page under docs/; a python block is written to the file it names, a bash block is
run line by line in a fresh folder.
"""

import csv
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def block(name):
    pattern = rf"<!-- example: {re.escape(name)} -->\n```\w+\n(.*?)```"
    found = {m.group(1) for page in PAGES for m in re.finditer(pattern, page.read_text(), re.S)}
    # an example shown in both the README and a page is the same text in both
    assert len(found) == 1, f"{len(found)} different examples named {name!r} (README, docs/)"
    return found.pop()


def run_lines(text, cwd):
    """Run each line of a bash block; ``python`` is this interpreter, VAR=x a variable."""
    outputs = []
    for line in filter(None, (raw.strip() for raw in text.splitlines())):
        words = shlex.split(line)
        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
        while "=" in words[0] and not words[0].startswith("-"):
            key, _, value = words.pop(0).partition("=")
            env[key] = str((cwd / value).resolve()) if key == "PYTHONPATH" else value
        assert words[0] == "python", line
        proc = subprocess.run(
            [sys.executable, *words[1:]], cwd=cwd, env=env, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, f"{line}\n{proc.stderr}"
        outputs.append(proc)
    return outputs


def sessions(cwd):
    client = MlflowClient(f"sqlite:///{cwd / 'mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiments, "tags.kind = 'session'")


def test_the_custom_node_example_runs_and_its_proposals_are_recorded(tmp_path):
    (tmp_path / "my_nodes.py").write_text(block("my_nodes.py"))
    (proc,) = run_lines(block("custom node"), tmp_path)
    assert "width 64 -> 128 (the net gained: give it more room)" in proc.stderr
    (session,) = sessions(tmp_path)
    assert session.data.params["node.advisor"] == "my_nodes:widen_or_regularise"
    assert session.info.status == "FINISHED"


def test_the_csv_example_runs_on_the_written_file(tmp_path):
    _, tuned, compared = run_lines(block("csv"), tmp_path)
    assert (tmp_path / "cancer.csv").is_file()
    assert "scored once on the test split" in tuned.stdout
    assert "note: space: polynomial_degree at most 2" in tuned.stderr
    (session,) = [s for s in sessions(tmp_path) if s.data.tags["budget"] == "5"]
    assert session.info.status == "FINISHED"
    assert session.data.metrics["test_accuracy"] > 0.8
    # the comparison on the same file: every method spent its budget, no trial failed
    with open(tmp_path / "cancer-compare" / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["method"] for r in rows) == ["bayes", "lgt", "random"]
    assert all(r["trials"] == "4" and r["failed"] == "0" for r in rows), rows
    assert "| failed |" in compared.stdout


def test_the_optuna_study_example_runs_with_the_agents_proposing(tmp_path):
    (tmp_path / "my_study.py").write_text(block("my_study.py"))
    (proc,) = run_lines(block("optuna study"), tmp_path)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("best: ")
    rows = [line.split(" ", 2) for line in lines[1:]]
    assert [int(r[0]) for r in rows] == list(range(1, 10))
    assert all(r[1] == "lgt" and r[2] for r in rows)  # every trial after the default: a reason
    best = float(lines[0].split()[1])
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (experiment,) = [e for e in client.search_experiments() if e.name == "optuna-wine-gbm"]
    runs = client.search_runs([experiment.experiment_id], "tags.kind = 'trial'")
    assert len(runs) == 10
    assert max(r.data.metrics["val_accuracy"] for r in runs) == pytest.approx(best, abs=1e-4)
