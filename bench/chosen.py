"""Show what each session of an MLflow store chose: its chosen trial's settings, and its path.

For every session (a method on a task and seed): the trial its final refit took (the
best on validation), that trial's validation score and the settings named by ``--keys``;
with ``--trials``, every trial before it too, with the Evaluator's verdict and the change
it made. Reads the store only: nothing is trained or scored again.
Run: python -m bench.chosen --tracking-uri sqlite:///PATH/mlflow.db \\
    [--keys model,polynomial_degree] [--method lgt] [--trials]
"""

from __future__ import annotations

import argparse
from typing import Any

from bench.common import store_sessions


def primary(session: Any) -> str:
    """Return the session's validation metric's name, e.g. 'val_accuracy'."""
    names = [k.split("/", 1)[1] for k in session.data.metrics if k.startswith("best/")]
    return names[0] if names else "val_?"


def lines(uri: str, keys: list[str], methods: list[str] | None, trials: bool) -> list[str]:
    """Return the table's markdown lines, one a session (and one a trial, with ``trials``)."""
    out = ["| method | seed | trial | verdict | change | validation | settings |", "|" + "---|" * 7]
    found = sorted(
        store_sessions(uri),
        key=lambda s: (s[1].data.tags.get("method", ""), int(s[1].data.tags.get("seed", 0))),
    )
    for _, session, runs in found:
        method, seed = session.data.tags.get("method", "?"), session.data.tags.get("seed", "?")
        if methods and method not in methods:
            continue
        metric, best = primary(session), session.data.tags.get("lgt.best_trial")
        for run in runs:
            index = run.data.tags.get("lgt.trial")
            if not trials and index != best:
                continue
            score = run.data.metrics.get(metric)
            settings = " ".join(f"{k}={run.data.params[k]}" for k in keys if k in run.data.params)
            mark = f"**{index}** (chosen)" if index == best else str(index)
            out.append(
                f"| {method} | {seed} | {mark} | {run.data.tags.get('lgt.verdict', '')} "
                f"| {run.data.tags.get('lgt.changes', '')} "
                f"| {'-' if score is None else f'{score:.4f}'} | {settings} |"
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--keys", default="model", help="settings to show, comma-separated")
    parser.add_argument("--method", action="append", help="only this method (repeatable)")
    parser.add_argument("--trials", action="store_true", help="every trial, not only the chosen")
    args = parser.parse_args()
    print("\n".join(lines(args.tracking_uri, args.keys.split(","), args.method, args.trials)))


if __name__ == "__main__":
    main()
