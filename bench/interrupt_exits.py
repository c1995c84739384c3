"""Stop a session with Ctrl-C at random moments, resume it each time; count the exit statuses.

A terminal's Ctrl-C reaches the whole process group, and people press it twice. Each stop
must exit 130 (not die by SIGINT, -2), and a resume must follow. Stops land anywhere:
in a fit, in MLflow's writes, in an import under way at the start of a resumed session.
Run: python -m bench.interrupt_exits [--stops 30] [--source DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.common import save


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--source", default=str(Path(__file__).resolve().parents[1]), help="checkout to run"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp())
    base = [sys.executable, "-m", "lgt_graph", "run", "--tracking-uri", f"sqlite:///{work}/m.db"]
    base += ["--checkpoints", str(work / "ck.db")]
    env = {**os.environ, "PYTHONPATH": args.source}

    def start(*extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*base, *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=args.source,
            start_new_session=True,
        )

    def wait_for(process: subprocess.Popen[str], marker: str) -> str:
        assert process.stderr is not None
        return next((line for line in process.stderr if marker in line), "")

    # random search: it never ends before its budget, as LGT may on a plateau
    process = start("--task", "iris", "--method", "random", "--budget", str(40 * args.stops))
    session = wait_for(process, "session ").split("session ")[1].split(":")[0]
    statuses: Counter[str] = Counter()
    for _ in range(args.stops):
        time.sleep(rng.uniform(0.0, 1.5))
        if process.poll() is not None:
            raise SystemExit(f"the session ended (exit {process.returncode}) before a stop")
        twice = rng.random() < 0.5
        os.killpg(process.pid, signal.SIGINT)
        if twice:
            time.sleep(rng.uniform(0.0, 0.5))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
        process.communicate(timeout=300)
        statuses[f"{'twice' if twice else 'once'}: {process.returncode}"] += 1
        process = start("--resume", session)
        wait_for(process, "resuming session")
    process.kill()
    process.wait()
    path = save(
        "interrupt_exits",
        {
            "command": f"python -m bench.interrupt_exits --stops {args.stops} --seed {args.seed}",
            "source": args.source,
            "statuses": dict(sorted(statuses.items())),
        },
    )
    print(f"{dict(sorted(statuses.items()))} -> {path}")


if __name__ == "__main__":
    main()
