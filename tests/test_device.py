"""Where nets train: ``--device`` (auto, cpu, cuda) and ``--amp``, from the flag to MLflow.

CPU only: on a machine with a GPU, the tests that rely on its absence skip, and
``bench/gpu_check.py`` is the check to run there.
"""

import math
import sqlite3

import numpy as np
import pandas as pd
import pytest
import torch

from lgt_graph.context import Settings
from lgt_graph.errors import UserError
from lgt_graph.session import run_session
from lgt_graph.space import space_for
from lgt_graph.tasks import TASKS, get_task, load_task_data
from lgt_graph.training import train
from lgt_graph.training.device import CPU, resolve_placement
from lgt_graph.training.segments import NeuralRun, read_checkpoint
from tests.test_cli import run_cli

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
AMP = resolve_placement("cpu", amp=True)
CNN = {
    "model": "cnn",
    "channels": 8,
    "width": 32,
    "dropout": 0.2,
    "batch_norm": True,
    "augmentation": "flip_shift",
    "optimizer": "adam",
    "learning_rate": 0.01,
    "epochs": 3,
}


@pytest.fixture(scope="module")
def digits():
    return load_task_data(TASKS["digits"], seed=0, max_train_samples=300)


@pytest.fixture(autouse=True)
def _one_thread():
    """Pin trials to one thread: a net's float sums depend on its threads, which otherwise
    follow the machine's load, and these tests compare runs to the last bit."""
    from lgt_graph.training import limit_threads

    limit_threads(1)
    yield
    limit_threads(None)


def config(data, **changes):
    space = space_for(data.task.family)
    return space.apply(space.default(), changes)


def store_path(store_uri):
    return store_uri.removeprefix("sqlite:///")


@NO_GPU
def test_cpu_auto_and_the_default_train_the_same_net_bit_for_bit(digits):
    cnn = config(digits, **CNN)
    with digits.open_test():
        runs = [
            train(cnn, digits, score_test=True, placement=placement)
            for placement in (None, resolve_placement("auto"), resolve_placement("cpu"), CPU)
        ]
    first = runs[0]
    assert first.ok and len(first.steps) == 3
    for other in runs[1:]:
        assert other.curves == first.curves
        assert other.metrics == first.metrics and other.test_metrics == first.test_metrics
    assert {r.diagnostics["device"] for r in runs} == {"cpu"}
    assert {r.diagnostics["amp"] for r in runs} == {"off"}


@pytest.mark.parametrize("changes", [{"epochs": 4, "learning_rate": 0.1}, CNN], ids=["mlp", "cnn"])
def test_amp_on_cpu_trains_in_bfloat16_close_to_float32(digits, changes):
    c = config(digits, **changes)
    full = train(c, digits, placement=resolve_placement("cpu"))
    half = train(c, digits, placement=AMP)
    assert full.ok and half.ok
    assert half.diagnostics["amp"] == "bfloat16" and full.diagnostics["amp"] == "off"
    assert all(math.isfinite(v) for values in half.curves.values() for v in values)
    # autocast ran (bfloat16 rounds the forward pass) yet learned what float32 learned
    assert half.curves["train_loss"] != full.curves["train_loss"]
    for a, b in zip(half.curves["train_loss"], full.curves["train_loss"], strict=True):
        assert a == pytest.approx(b, rel=0.02)
    assert half.metrics["accuracy"] == pytest.approx(full.metrics["accuracy"], abs=0.05)
    assert half.curves["train_loss"][-1] < half.curves["train_loss"][0]


def test_amp_keeps_the_divergence_checks(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 40)) * np.geomspace(1, 300, 40)  # unscaled, as users' CSVs are
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(40)])
    frame["target"] = X[:, :5] @ rng.normal(size=5) / 50 + rng.normal(size=240)
    frame.to_csv(tmp_path / "wide.csv", index=False)
    data = load_task_data(get_task(f"csv:{tmp_path / 'wide.csv'}", "target"), 0)
    raw = {"scaling": "none", "target_transform": "none", "optimizer": "sgd", "momentum": 0.9}
    inf = train(config(data, **raw, learning_rate=0.1, depth=4), data, placement=AMP)
    assert inf.status == "failed"
    assert inf.reason.startswith("diverged: validation loss became inf at epoch 1")
    exploding = train(config(data, **raw, learning_rate=0.0003), data, placement=AMP)
    assert exploding.status == "failed" and "exploding gradients" in exploding.reason


def test_a_continued_run_under_amp_resumes_bit_for_bit(digits, tmp_path):
    mlp = config(digits, epochs=4, learning_rate=0.05, dropout=0.3)
    run = NeuralRun.start(mlp, digits, 0, placement=AMP)
    run.train(1, "accuracy")
    ref = run.save(tmp_path / "segment.pt")
    straight = run.train(2, "accuracy")
    resumed_run = NeuralRun.load(ref, digits, 0, placement=AMP)
    resumed = resumed_run.train(2, "accuracy")
    assert resumed["curves"] == straight["curves"] and resumed["steps"] == [2, 3]
    assert resumed["diagnostics"]["amp"] == "bfloat16"
    weights, again = run.model.state_dict(), resumed_run.model.state_dict()
    assert all(torch.equal(weights[k], again[k]) for k in weights)
    saved = read_checkpoint(ref)  # a CPU run writes no GPU state, and every tensor is on the CPU
    assert "cuda_rng" not in saved and "scaler" not in saved
    assert all(t.device.type == "cpu" for t in saved["model"].values())


def test_device_and_amp_settings_are_checked_and_read_from_the_environment(monkeypatch):
    with pytest.raises(UserError, match=r"--device must be one of auto, cpu, cuda, got 'tpu'"):
        Settings.resolve(task="iris", device="tpu")
    monkeypatch.setenv("LGT_DEVICE", "gpu")
    with pytest.raises(UserError, match=r"--device must be one of auto, cpu, cuda, got 'gpu'"):
        Settings.resolve(task="iris")
    monkeypatch.setenv("LGT_DEVICE", "cpu")
    monkeypatch.setenv("LGT_AMP", "1")
    from_env = Settings.resolve(task="iris")
    assert (from_env.device, from_env.amp) == ("cpu", True)
    explicit = Settings.resolve(task="iris", device="auto", amp=False)  # arguments win
    assert (explicit.device, explicit.amp) == ("auto", False)
    monkeypatch.setenv("LGT_AMP", "maybe")
    with pytest.raises(UserError, match="LGT_AMP='maybe' is not a valid amp"):
        Settings.resolve(task="iris")
    monkeypatch.delenv("LGT_AMP")
    monkeypatch.delenv("LGT_DEVICE")
    default = Settings.resolve(task="iris")
    assert (default.device, default.amp) == ("auto", False)


def test_an_unknown_device_flag_is_refused_with_the_choices(tmp_path):
    proc = run_cli("run", "--task", "iris", "--device", "tpu", cwd=tmp_path)
    assert proc.returncode == 2
    assert "argument --device: invalid choice: 'tpu'" in proc.stderr
    assert all(f"'{d}'" in proc.stderr for d in ("auto", "cpu", "cuda"))


@NO_GPU
def test_device_cuda_without_a_gpu_is_one_line_exit_2_before_anything_runs(store_uri, tmp_path):
    proc = run_cli(
        "run",
        "--task",
        "iris",
        "--budget",
        "1",
        "--device",
        "cuda",
        "--tracking-uri",
        store_uri,
        "--checkpoints",
        str(tmp_path / "ck.db"),
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("python -m lgt_graph: error: --device cuda: torch")
    assert "sees no CUDA device; use --device cpu (or auto)" in lines[0]
    with sqlite3.connect(store_path(store_uri)) as db:  # no session run was started
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)
    assert not (tmp_path / "ck.db").exists()


def test_the_session_records_the_device_and_amp_in_mlflow(store_uri, tmp_path):
    proc = run_cli(
        "run",
        "--task",
        "iris",
        "--budget",
        "2",
        "--device",
        "cpu",
        "--amp",
        "--tracking-uri",
        store_uri,
        "--checkpoints",
        str(tmp_path / "ck.db"),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    session = proc.stdout.split("MLflow: session run ")[1].split()[0]
    with sqlite3.connect(store_path(store_uri)) as db:
        tags = dict(db.execute("SELECT key, value FROM tags WHERE run_uuid = ?", (session,)))
        params = dict(db.execute("SELECT key, value FROM params WHERE run_uuid = ?", (session,)))
        trials = [
            dict(db.execute("SELECT key, value FROM tags WHERE run_uuid = ?", (run,)))
            for (run,) in db.execute(
                "SELECT run_uuid FROM tags WHERE key = 'mlflow.parentRunId' AND value = ?",
                (session,),
            )
        ]
    assert tags["device"] == "cpu" and tags["amp"] == "bfloat16"
    assert params["setting.device"] == "cpu" and params["setting.amp"] == "True"
    nets = [t for t in trials if t.get("model") == "mlp"]
    assert nets, "no trial of a net"
    assert all(t["diagnostics.device"] == "cpu" for t in nets)
    assert all(t["diagnostics.amp"] == "bfloat16" for t in nets)


def test_the_final_refit_trains_where_the_trials_did(store_uri, tmp_path):
    settings = Settings.resolve(
        task="iris", budget=2, device="cpu", amp=True, tracking_uri=store_uri
    )
    outcome = run_session(settings, checkpoints=str(tmp_path / "ck.db"), echo=lambda line: None)
    final = outcome.values["final"]
    assert final["status"] == "ok"
    best = next(t for t in outcome.values["trials"] if t["index"] == final["trial"])
    assert best["result"]["diagnostics"]["amp"] == "bfloat16"
    # the refit repeats the best trial to the last bit: the same device and precision
    assert final["val"] == best["result"]["metrics"]
    float32 = train(final["config"], outcome.ctx.data, placement=resolve_placement("cpu"))
    assert float32.metrics["log_loss"] != final["val"]["log_loss"]
