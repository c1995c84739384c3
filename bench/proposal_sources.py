"""Count where the heuristic Advisor's proposals came from, session by session.

    python -m bench.proposal_sources --tracking-uri sqlite:///results/ablate.db --task wine

The built-in heuristic ends every rationale with its source in brackets: one of its own
findings on the curves ("unscaled features", "overfitting", ...), "model family" (an
untried family), "exploration" (a practitioner's next move), or "evaluator" (a suggestion
of the Evaluator's textual gradient). The table shows, per session of an `ablate` or
`compare` store, how many proposals each source made, which tells whether a swapped node
could have changed anything (docs/log/results-2026-12-07.md, Ablations). Sessions of a
language model have no such brackets and show as "(no source)".
"""

from __future__ import annotations

import argparse
import collections
import re
import tempfile

from mlflow.tracking import MlflowClient

from lgt_graph.tracking import open_client

SOURCE = re.compile(r"\(([a-z_ -]+)\)\.\s*$", re.MULTILINE)
NODES = ("evaluator", "optimizer", "rollback", "advisor")


def sources(client: MlflowClient, session) -> collections.Counter[str]:
    """Return the count of proposals per source in one session's trials."""
    trials = client.search_runs(
        [session.info.experiment_id], f"tags.mlflow.parentRunId = '{session.info.run_id}'"
    )
    counts: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as folder:
        for trial in trials:
            if trial.data.tags.get("lgt.trial") == "1":
                continue  # the default: nobody proposed it
            path = client.download_artifacts(trial.info.run_id, "proposal.md", folder)
            with open(path) as f:
                found = SOURCE.findall(f.read())
            counts[found[-1] if found else "(no source)"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--task", required=True)
    args = parser.parse_args()
    client = open_client(args.tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    sessions = client.search_runs(
        experiments, f"tags.kind = 'session' and params.`data.task` = '{args.task}'"
    )
    print("| seed | " + " | ".join(NODES) + " | proposals by source |")
    print("|---" * (len(NODES) + 2) + "|")
    for session in sorted(
        sessions, key=lambda s: [s.data.params.get(k, "") for k in ("setting.seed", *NODES)]
    ):
        params = session.data.params
        counts = ", ".join(f"{k} {n}" for k, n in sources(client, session).most_common())
        nodes = " | ".join(params.get(f"node.{n}", "?") for n in NODES)
        print(f"| {params.get('setting.seed')} | {nodes} | {counts} |")


if __name__ == "__main__":
    main()
