"""Time a long session fed malformed replies: seconds per trial as the session grows.

    python -m bench.fault_session --cases 80      # 81 trials on iris, scripted server

Prints the wall time at every eighth trial; a flat time per trial means the loop stays
linear in the budget (see docs/RELIABILITY.md).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from lgt_graph.context import Settings
from lgt_graph.session import run_session
from tests import test_faults_output as faults
from tests.openai_server import ScriptedOpenAI


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=80)
    parser.add_argument(
        "--kinds", default="truncated,corrupted JSON,wrong type,out of range",
        help="comma-separated kinds of tests/fault_corpus.py",
    )  # fmt: skip
    args = parser.parse_args()
    kinds = set(args.kinds.split(","))
    faults.CASES[:] = [c for c in faults.CASES if c[0] in kinds][: args.cases]
    folder = Path(tempfile.mkdtemp(prefix="lgt-bench-"))
    with ScriptedOpenAI(responder=faults.Responder()) as server:
        settings = Settings.resolve(
            task="iris",
            budget=len(faults.CASES) + 1,
            llm="openai:scripted",
            base_url=server.url,
            max_retries=0,
            tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
            limits={"epochs": (1, 20)},
        )
        started = time.perf_counter()
        seen = [0]

        def echo(line: str) -> None:
            if line.startswith("trial"):
                seen[0] += 1
                if seen[0] % 8 == 0:
                    print(f"trial {seen[0]:>4}: {time.perf_counter() - started:7.1f} s")

        run_session(settings, checkpoints=str(folder / "ck.db"), echo=echo)
    print(f"total {time.perf_counter() - started:.1f} s for {len(faults.CASES) + 1} trials")


if __name__ == "__main__":
    main()
