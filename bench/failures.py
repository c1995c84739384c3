"""Count each method's failed trials in an MLflow store, by what made them fail.

A failure the shaped space could have known before the trial started (a polynomial
expansion past the feature limit, a leaf or a batch larger than the split, a log of a
target that reaches -1) is counted apart from a training outcome (a diverging or exploding
loss) and anything else.
Run: python -m bench.failures --tracking-uri sqlite:///PATH/compare.db [--experiment lgt-wine ...]
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict

from bench.common import store_sessions

SHAPE = (
    "features from",
    "polynomial_degree",
    "min_samples_leaf",
    "batch_size",
    "FeatureError",
    "target_transform=log",
)
"""Words of a failure the data's shape could have ruled out."""
KINDS = ("space", "diverged", "other")


def kind(reason: str) -> str:
    """Say what made a trial fail: 'space', 'diverged' or 'other'."""
    if any(word in reason for word in SHAPE):
        return "space"
    if reason.startswith("diverged") or "non-finite" in reason or "exploded" in reason:
        return "diverged"
    return "other"


def count(uri: str, experiments: list[str] | None) -> dict[tuple[str, str], Counter[str]]:
    """Return {(experiment, method): Counter of 'trials' and each failure kind}."""
    table: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for experiment, session, trials in store_sessions(uri, experiments):
        cell = table[(experiment, session.data.tags.get("method", "?"))]
        for run in trials:
            cell["trials"] += 1
            if run.info.status == "FAILED" or run.data.tags.get("status") == "failed":
                cell[kind(run.data.tags.get("failure_reason", ""))] += 1
    return dict(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--experiment", action="append", help="experiment name (repeatable)")
    args = parser.parse_args()
    print("| experiment | method | trials | failed | of which: space | diverged | other |")
    print("|---|---|---|---|---|---|---|")
    for (experiment, method), cell in sorted(count(args.tracking_uri, args.experiment).items()):
        failed = sum(cell[k] for k in KINDS)
        kinds = " | ".join(str(cell[k]) for k in KINDS)
        print(f"| {experiment} | {method} | {cell['trials']} | {failed} | {kinds} |")


if __name__ == "__main__":
    main()
