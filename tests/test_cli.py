import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from lgt_graph.errors import UserError
from lgt_graph.tasks.download import Remote, download
from tests.exports import write_churn


def run_cli(*args, cwd=None, env=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "lgt_graph", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=300,
    )


def test_trial_command_trains_prints_metrics_and_logs_the_run(store_uri, tmp_path):
    proc = run_cli(
        "trial",
        "--task",
        "iris",
        "--set",
        "scaling=standard",
        "--set",
        "epochs=12",
        "--tracking-uri",
        store_uri,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "val_accuracy" in proc.stdout
    assert "training: epochs: 30 -> 12, scaling: none -> standard" in proc.stderr
    assert "epoch  12/12" in proc.stderr
    run_id = proc.stdout.split("MLflow run ")[1].split()[0]
    run = MlflowClient(store_uri).get_run(run_id)
    assert run.data.params["scaling"] == "standard" and run.data.params["epochs"] == "12"
    assert run.data.tags["task"] == "iris"
    assert not (tmp_path / "mlruns").exists()


def test_trial_command_shows_a_forests_stages(store_uri, tmp_path):
    proc = run_cli(
        "trial",
        "--task",
        "iris",
        "--set",
        "model=random_forest",
        "--set",
        "n_estimators=10",
        "--tracking-uri",
        store_uri,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "failed" not in proc.stdout and "val_accuracy" in proc.stdout
    # every stage of the forest is shown, with its losses and metric, the last one included
    stages = [line for line in proc.stderr.splitlines() if line.strip().startswith("trees")]
    assert len(stages) == 10 and stages[-1].split()[1] == "10/10"
    assert all("val_loss" in line and "val_accuracy" in line for line in stages)


def test_default_store_is_mlflow_db_in_the_working_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lgt_graph",
            "trial",
            "--task",
            "iris",
            "--quiet",
            "--set",
            "model=linear",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "mlflow.db").is_file()
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert f"python -m lgt_graph ui --tracking-uri {store}" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trial", "--task", "nope"], "unknown task 'nope'"),
        (["trial", "--task", "iris", "--set", "depth=99"], "depth=99 is out of range"),
        (["trial", "--task", "iris", "--set", "depth"], "--set expects knob=value"),
        (["trial", "--task", "iris", "--data-dir", "/no/such/dir"], "--data-dir /no/such/dir"),
        (["trial", "--task", "iris", "--seed", "x"], "argument --seed: invalid int value"),
        (["trial"], "the following arguments are required: --task"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["trial", "--task", "csv:/no/file.csv", "--target", "y"], "no such CSV file"),
        (["download", "water"], "Kaggle"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, message, tmp_path):
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_missing_dataset_is_a_clear_error(tmp_path):
    proc = run_cli("trial", "--task", "wine", "--data-dir", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert "wine: data not found. Expected wine/winequality-red.csv" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_tasks_lists_every_task_with_its_data_status(tmp_path):
    proc = run_cli("tasks", "--data-dir", str(tmp_path))
    assert proc.returncode == 0
    lines = {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}
    assert "present" in lines["iris"] and "present" in lines["digits"]
    assert "missing" in lines["mnist"] and "missing" in lines["house"]
    assert "csv:<path>" in proc.stdout


def test_help_is_fast_and_imports_nothing_heavy():
    code = (
        "import sys, lgt_graph.cli as c\n"
        "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "names = ('torch', 'mlflow', 'pandas', 'sklearn', 'langgraph')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


HEAVY = ("torch", "mlflow", "langgraph", "langchain_core", "sklearn", "optuna", "ray")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "--task", "iris", "--seed", "-1"],
            "--seed must be an integer from 0 to 2**32 - 1",
        ),
        (["run", "--task", "iris", "--budget", "0"], "--budget must be at least 1 trial, got 0"),
        (["run", "--task", "iris", "--metric", "r2"], "--metric r2 does not score classification"),
        (["compare", "--task", "iris", "--seeds", "0,-1", "--out", "o"], "--seed must be"),
        (["compare", "--task", "iris", "--budget", "0", "--out", "o"], "--budget must be at"),
        (["compare", "--task", "iris", "--metric", "r2", "--out", "o"], "--metric r2 does not"),
    ],
)
def test_a_wrong_flag_is_one_line_before_any_heavy_library_loads(args, message, tmp_path):
    # the checks ran after torch, MLflow and LangGraph had loaded: tens of seconds for a typo
    code = (
        "import sys\n"
        "from lgt_graph.cli import main\n"
        "status = main(sys.argv[1:])\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
        "sys.exit(status)"
    )
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert proc.stdout.strip() == "[]"
    assert list(tmp_path.iterdir()) == []  # nothing written: no store, no --out folder


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def file_server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()

    def handler(*args, **kwargs):
        return _Files(*args, directory=str(served), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_download_verifies_checksums_from_a_mirror(file_server, tmp_path, monkeypatch):
    served, url = file_server
    good = b"fixed acidity;quality\n7.4;5\n"
    (served / "winequality-red.csv").write_bytes(good)
    (served / "winequality-white.csv").write_bytes(b"tampered")
    from lgt_graph.tasks import download as module

    remotes = [
        Remote(
            "https://example.invalid/winequality-red.csv",
            "wine/winequality-red.csv",
            hashlib.md5(good).hexdigest(),
        ),
        Remote(
            "https://example.invalid/winequality-white.csv",
            "wine/winequality-white.csv",
            hashlib.md5(b"original").hexdigest(),
        ),
    ]
    monkeypatch.setitem(module.SOURCES, "wine", remotes)
    target = tmp_path / "data"
    with pytest.raises(UserError, match="checksum mismatch"):
        download("wine", str(target), mirror=url)
    assert (target / "wine" / "winequality-red.csv").read_bytes() == good
    assert not (target / "wine" / "winequality-white.csv").exists()
    assert not list(Path(target).rglob("*.part"))


def test_download_without_network_says_where_to_put_the_file(tmp_path):
    with pytest.raises(UserError, match=r"could not download .* copy the file to"):
        download("wine", str(tmp_path / "data"), mirror="http://127.0.0.1:9")
    assert list(tmp_path.iterdir()) == []  # no empty folders left behind


def test_a_terminal_sees_each_epoch_on_one_live_line_and_a_pipe_sees_lines(store_uri, tmp_path):
    import pty

    args = [sys.executable, "-m", "lgt_graph", "run", "--task", "iris", "--budget", "2"]
    args += ["--tracking-uri", store_uri, "--checkpoints", str(tmp_path / "ck.db")]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=follower, env=env, cwd=tmp_path
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(timeout=300) == 0
    shown = b"".join(chunks).decode()
    # the default iris model is a net of 30 epochs: each epoch overwrites the line
    assert "\r\x1b[K  epoch 1/30  train_loss" in shown and "\r\x1b[K  epoch 30/30" in shown
    assert "\r\x1b[Ktrial   1/2" in shown  # the trial's line replaces the live one
    piped = subprocess.run(
        [*args[:-2], "--checkpoints", str(tmp_path / "ck2.db")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert piped.returncode == 0 and "\r" not in piped.stderr and "epoch 1/30" not in piped.stderr


def test_compare_and_ablate_run_on_a_csv_export_with_its_options(store_uri, tmp_path):
    path = tmp_path / "churn.csv"
    write_churn(path, rows=150)
    common = ["--task", f"csv:{path}", "--target", "Churn", "--drop", "gender", "--budget", "2"]
    common += ["--tracking-uri", store_uri]
    compare = run_cli("compare", *common, "--methods", "random,lgt", "--out", str(tmp_path / "c"))
    assert compare.returncode == 0, compare.stderr
    # what was inferred, once for the task, before any session
    assert compare.stderr.count("data: classification, 2 classes") == 1
    assert "note: column 'customerID' holds a different text in every row" in compare.stderr
    rows = (tmp_path / "c" / "results.csv").read_text().splitlines()
    assert len(rows) == 3 and all("random" in r or "lgt" in r for r in rows[1:])
    kept = [json.loads(x) for x in (tmp_path / "c" / "sessions.jsonl").read_text().splitlines()]
    said = next(x for x in kept if x["method"] == "lgt")["predictions"]
    assert said and all(c["reference"] is not None for c in said)  # scored again as it was
    client = MlflowClient(store_uri)
    sessions = client.search_runs(
        [e.experiment_id for e in client.search_experiments()], "tags.kind = 'session'"
    )
    assert len(sessions) == 2
    for session in sessions:  # every method saw the same data: the drop is recorded with it
        assert session.data.params["setting.drop"] == "['gender']"
        assert session.data.params["setting.target"] == "Churn"
    ablate = run_cli("ablate", *common, "--methods", "lgt", "--out", str(tmp_path / "a"))
    assert ablate.returncode == 0, ablate.stderr
    mixed = run_cli("compare", *common[2:], "--task", "iris", "--out", str(tmp_path / "m"))
    assert mixed.returncode == 2
    assert "--target, --problem and --drop apply to csv:<path> tasks only" in mixed.stderr


def test_space_shows_the_space_the_data_shapes_and_says_when_it_cannot(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(80, 30)), columns=[f"x{i}" for i in range(30)])
    frame["label"] = (frame["x0"] > 0).astype(int)
    frame.to_csv(tmp_path / "wide.csv", index=False)
    shaped = run_cli("space", "--task", f"csv:{tmp_path / 'wide.csv'}", "--target", "label")
    assert shaped.returncode == 0, shaped.stderr
    rows = 80 - 16 - 13  # the 51 rows of the training split
    assert f"shaped by its {rows} training examples" in shaped.stdout
    assert "note: space: polynomial_degree at most 2 (degree 3 would make 5455" in shaped.stdout
    knobs = {line.split(":")[0].strip(): line for line in shaped.stdout.splitlines()}
    assert "an integer in [1, 2]" in knobs["polynomial_degree"]
    assert f"an integer in [1, {rows // 2}]" in knobs["min_samples_leaf"]
    # without its data, a bundled task's space is shown as it is, and the reason is given
    bare = run_cli("space", "--task", "wine", "--data-dir", str(tmp_path), env={"LGT_DATA_DIR": ""})
    assert bare.returncode == 0, bare.stderr
    assert "space, not shaped by the data (wine: data not found" in bare.stdout
    assert (
        "an integer in [1, 3]"
        in {line.split(":")[0].strip(): line for line in bare.stdout.splitlines()}[
            "polynomial_degree"
        ]
    )
