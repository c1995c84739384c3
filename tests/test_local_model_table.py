"""bench.local_model's table: the model's arms against the heuristic expert, from rows."""

from bench.local_model import table
from lgt_graph.compare.rows import Row


def row(method, seed, test, calls=(), hits=()):
    return Row(
        task="iris",
        method=method,
        seed=seed,
        session_id=f"{method}{seed}",
        primary="accuracy",
        maximize=True,
        status="ok",
        best_val=0.9,
        test={"accuracy": test},
        trials=12,
        wall_seconds=1.0,
        calls=list(calls),
        predictions=[{"hit": h} for h in hits],
    )


def call(status, seconds=2.0, shortened=False):
    return {
        "agent": "advisor",
        "status": status,
        "prompt_tokens": 1000,
        "input_tokens": 1000,
        "output_tokens": 100,
        "seconds": seconds,
        "shortened": shortened,
    }


def test_the_table_pairs_by_seed_and_counts_the_calls():
    rows = [
        row("LGT, heuristic expert", 0, 0.90, hits=(True, False)),
        row("LGT, heuristic expert", 1, 0.80, hits=(True,)),
        row("LGT, SmolLM2-135M", 0, 0.85, [call("ok"), call("fallback", 4.0, True)]),
        row("LGT, SmolLM2-135M", 1, 0.70, [call("repaired"), call("ok", 4.0)]),
    ]
    lines = table(rows, "iris")
    heuristic = next(line for line in lines if line.startswith("| LGT, heuristic"))
    model = next(line for line in lines if line.startswith("| LGT, SmolLM2"))
    assert heuristic.endswith("| 67% of 3 |") and "| 0.8500 ± 0.0707 | - |" in heuristic
    cells = [c.strip() for c in model.strip("|").split("|")]
    # seeds, test, paired gain (-0.05 and -0.10), minutes a session (1 s each), calls a
    # session, ok, repaired, fell back, prompt tokens, reply tokens, seconds a call,
    # shortened, hit rate
    assert cells[1:] == [
        "2",
        "0.7750 ± 0.1061",
        "-0.0750 [-0.0981, -0.0519]",  # percentile bootstrap over the 4 resamples
        "0.0",
        "2.0",
        "50%",
        "25%",
        "25%",
        "1000",
        "100",
        "3.0",
        "25%",
        "-",
    ]
