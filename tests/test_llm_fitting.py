"""Structured-output modes and prompt fitting, by rule, without a server.

The same behaviour against llama.cpp's real server is in tests/test_local_llm.py.
"""

import httpx
import openai
import pytest

from lgt_graph import history
from lgt_graph.agents.prompting import advisor_messages
from lgt_graph.agents.schemas import ProposalBatch, Verdict
from lgt_graph.context import Settings
from lgt_graph.llm.fitting import LEFT_OUT, LEVELS, Window, facts_json, recent
from lgt_graph.llm.structured import ModeLadder, context_overflow, relaxed_schema
from lgt_graph.session import run_session

REFUSAL = "Input should be 'text' or 'json_object' [type=literal_error, loc=response_format]"


def status_error(status, message):
    response = httpx.Response(status, request=httpx.Request("POST", "http://127.0.0.1/v1"))
    return openai.APIStatusError(message, response=response, body=None)


def test_a_refused_mode_moves_down_once_and_an_answered_mode_stays():
    ladder = ModeLadder.starting_at("json_schema")
    assert ladder.modes == ("json_schema", "json_mode", "function_calling")
    note = ladder.refused("json_schema", status_error(500, REFUSAL))
    assert ladder.mode == "json_mode" and note.startswith("structured output: json_schema")
    ladder.answered()
    # once a mode answered, an error is the endpoint's: no move
    assert ladder.refused("json_mode", status_error(500, REFUSAL)) is None
    assert ladder.mode == "json_mode" and len(ladder.moves) == 1


def test_errors_that_do_not_speak_of_the_request_are_not_refusals():
    ladder = ModeLadder.starting_at("auto")
    assert ladder.mode == "function_calling"
    for error in (
        status_error(500, "scripted error"),  # a bare 500: the server, not the mode
        status_error(429, "rate limited: tool calls per minute"),
        status_error(400, "This model's maximum context length is 2048 tokens"),
        ConnectionError("refused"),
    ):
        assert ladder.refused(ladder.mode, error) is None
    assert ladder.mode == "function_calling" and not ladder.moves


def test_the_last_mode_has_nowhere_to_go():
    ladder = ModeLadder.starting_at("json_schema")
    for _ in range(2):
        assert ladder.refused(ladder.mode, status_error(422, REFUSAL))
    assert ladder.mode == "function_calling"
    assert ladder.refused("function_calling", status_error(422, "tools unsupported")) is None


def test_the_relaxed_schema_keeps_types_and_small_list_bounds_but_no_string_lengths():
    text = str(relaxed_schema(Verdict))
    assert "maxLength" not in text and "minLength" not in text
    assert relaxed_schema(Verdict)["properties"]["suggestions"]["maxItems"] == 5
    assert "maxItems" not in relaxed_schema(ProposalBatch)["properties"]["proposals"]
    assert relaxed_schema(Verdict)["properties"]["outcome"]["enum"] == [
        "improved",
        "regressed",
        "neutral",
        "failed",
    ]


@pytest.mark.parametrize(
    ("message", "tokens"),
    [
        ("This model's maximum context length is 2048 tokens. However, you requested 2600", 2048),
        ("Requested tokens (2090) exceed context window of 4096", 4096),
        ("the request exceeds the context size", 1500),  # no number: three quarters of 2000
    ],
)
def test_a_window_is_learned_from_a_context_length_error(message, tokens):
    window = Window(None, None)
    error = status_error(400, message)
    assert context_overflow(error) or "context size" in message
    assert window.learn(error, sent=2000) and window.tokens == tokens
    assert window.limit == tokens - min(1024, tokens // 4)


def test_a_window_learned_again_only_shrinks():
    window = Window(4096, None)
    assert window.learn(status_error(400, "context window of 8192"), sent=5000)
    assert window.tokens == 3072  # the count was off: three quarters of what it was


def test_rows_and_facts_at_each_level():
    rows = [f"trial {n}" for n in range(1, 21)]
    assert recent(rows, LEVELS[2]) == rows
    kept = recent(rows, LEVELS[5], "trials")
    assert kept == ["(17 earlier trials left out to fit the context window)", *rows[-3:]]
    facts = {"a": [1, 2], "b": {"c": None}}
    assert facts_json(facts, LEVELS[0]).count("\n") > 1
    assert facts_json(facts, LEVELS[1]) == '{"a":[1,2],"b":{"c":null}}'
    assert facts_json(facts, LEVELS[2]) == LEFT_OUT


def test_each_level_shortens_the_advisors_prompt_and_keeps_what_it_needs(store_uri, tmp_path):
    outcome = run_session(
        Settings.resolve(task="iris", budget=6, tracking_uri=store_uri),
        checkpoints=str(tmp_path / "ck.db"),
        echo=lambda line: None,
    )
    state, ctx = outcome.values, outcome.ctx
    base = history.best_trial(state, ctx.maximize)
    texts = [
        "\n".join(str(m.content) for m in advisor_messages(state, ctx, base, fit=fit))
        for fit in LEVELS
    ]
    sizes = [len(t) for t in texts]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < sizes[0] / 3
    tight = texts[-1]
    last = history.trials(state)[-1]["index"]
    assert f"trial {last}:" in tight and "trial 1:" not in tight  # recent rows kept
    assert "3 earlier trials left out" in tight
    assert LEFT_OUT in tight and "knobs the base configuration does not read left out" in tight
    assert '"model": "' in tight  # the base configuration stays
