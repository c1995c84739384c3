"""Lessons carried across sessions: what worked on tables like this one.

When a session finishes, :func:`distil` writes down what it learned — the configuration
that won, the single changes that cleared the noise floor or lost by more than it, how
its verdicts fell — keyed by the data's profile (problem, rows, columns and their kinds,
missing values, class balance, the target's shape, the task family) and never by the
data's name. The runner logs it as ``lessons.json`` on the session run in MLflow.

A session started with ``--experience auto`` (the session's own tracking store), or
``--experience PATH`` (another store: a ``.db`` file, an ``mlruns`` folder, or a JSON list of
lessons) reads the lessons of the :data:`NEAREST` finished sessions whose profiles are
closest to its own (:func:`distance`), and only those within :data:`MAX_DISTANCE`. The
heuristic Advisor tries their winning configuration and changes early, and its forecasts
start from their verdicts' rates; a language-model Advisor reads them in its prompt
(:func:`experience_text`). What a session read is logged as ``experience.json``.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from lgt_graph.errors import UserError

PROFILE_KEYS = (
    "family",
    "problem",
    "primary_metric",
    "direction",
    "train_examples",
    "features",
    "categorical_features",
    "missing_share",
    "classes",
    "smallest_class_share",
    "target_min",
    "target_skew",
    "skewed_features",
)
"""What a lesson keeps of the data's profile: its shape, never its name."""
NEAREST = 3
"""Lessons a session reads: those of the closest finished sessions."""
MAX_DISTANCE = 2.5
"""Farther than this, a table is too unlike this one to learn from (see :func:`distance`)."""
SEARCHED = 500
"""The most recent finished sessions of a store that are looked at."""
KEPT = 6
"""Single changes a lesson keeps, of each sign: the largest gains, the worst losses."""


def key_of(profile: dict[str, Any]) -> dict[str, Any]:
    """Return the parts of a data profile that lessons are keyed by (no name)."""
    return {k: profile[k] for k in PROFILE_KEYS if k in profile}


def _log(value: Any) -> float:
    return math.log10(1.0 + max(float(value or 0), 0.0))


def distance(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Return how unlike two profiles are; infinite across problems, families or directions.

    Each term is about one "different kind of table" at 1: ten times the rows, ten times
    the columns, all-categorical against all-numeric columns, a third of the values
    missing, balanced classes against 1 % positives, a symmetric target against a skew of
    4, another primary metric, a target that can be negative against one that cannot.
    """
    if any(a.get(k) != b.get(k) for k in ("problem", "family", "direction")):
        return math.inf
    d = abs(_log(a.get("train_examples")) - _log(b.get("train_examples")))
    d += abs(_log(a.get("features")) - _log(b.get("features")))
    share = [
        float(p.get("categorical_features") or 0) / max(float(p.get("features") or 1), 1.0)
        for p in (a, b)
    ]
    d += abs(share[0] - share[1])
    d += 3 * abs(float(a.get("missing_share") or 0) - float(b.get("missing_share") or 0))
    d += 0.5 * (a.get("primary_metric") != b.get("primary_metric"))
    if a.get("problem") == "classification":
        classes = [max(int(p.get("classes") or 2), 2) for p in (a, b)]
        d += abs(math.log2(classes[0] / classes[1])) / 2
        small = [max(float(p.get("smallest_class_share") or 0.5), 1e-3) for p in (a, b)]
        d += abs(math.log10(small[0]) - math.log10(small[1])) / 1.7
    else:
        skew = [max(min(float(p.get("target_skew") or 0), 8.0), -8.0) for p in (a, b)]
        d += abs(skew[0] - skew[1]) / 4
        signs = [float(p.get("target_min") or 0) >= 0 for p in (a, b)]
        d += 0.5 * (signs[0] != signs[1])
    return round(d, 3)


def _signed(delta: float, floor: float | None, maximize: bool) -> float | None:
    """Return a gain over the best in noise floors (positive: better), or None without a floor."""
    if not floor:
        return None
    return round((delta if maximize else -delta) / floor, 2)


def distil(values: dict[str, Any], profile: dict[str, Any], space: Any) -> dict[str, Any]:
    """Return the lessons of a finished session's state, keyed by its data's profile.

    ``space``: the session's space, which says what the best configuration changed from
    its default among the knobs it reads.
    """
    maximize = profile.get("direction", "maximize") == "maximize"
    verdicts = {v["trial"]: v for v in values.get("verdicts", [])}
    counts = {"improve": 0, "neutral": 0, "regress": 0}
    moves = []
    for trial in values.get("trials", []):
        verdict = verdicts.get(trial["index"])
        if verdict is None or not trial.get("changes"):
            continue
        outcome = {"improved": "improve", "neutral": "neutral"}.get(verdict["outcome"], "regress")
        counts[outcome] += 1
        if outcome == "neutral":
            continue
        moves.append(
            {
                "changes": {c["knob"]: c["new"] for c in trial["changes"]},
                "model": trial["config"].get("model"),
                "outcome": outcome,
                "floors": _signed(verdict["delta"], verdict.get("floor"), maximize),
            }
        )
    final = values.get("final") or {}
    best = next((t for t in values.get("trials", []) if t["index"] == final.get("trial")), None)
    config = best["config"] if best else {}
    changed = {c.knob: c.new for c in space.changed(config)} if config else {}
    order = ["model", *sorted(k for k in changed if k != "model")]
    ranked = sorted(moves, key=lambda m: -(m["floors"] or (1 if m["outcome"] == "improve" else -1)))
    prompts = values.get("prompts", [])
    return {
        "version": 1,
        "profile": key_of(profile),
        "trials": len(values.get("trials", [])),
        "verdicts": counts,
        "best": {k: changed[k] for k in order if k in changed},
        "best_model": config.get("model"),
        "improved": [m for m in ranked if m["outcome"] == "improve"][:KEPT],
        "regressed": [m for m in reversed(ranked) if m["outcome"] == "regress"][:KEPT],
        "guidance": prompts[-1]["guidance"] if len(prompts) > 1 else "",
    }


def _from_store(uri: str, family: str, exclude: str | None) -> list[dict[str, Any]]:
    from mlflow import MlflowClient

    from lgt_graph.tracking import store  # noqa: F401  (quiet artifact downloads)

    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    runs = client.search_runs(
        experiments,
        f"tags.`lgt.lessons` = '{family}' and attributes.status = 'FINISHED'",
        max_results=SEARCHED,
        order_by=["attributes.start_time DESC"],
    )
    out = []
    with tempfile.TemporaryDirectory() as folder:
        for run in runs:
            if run.info.run_id == exclude:
                continue
            path = client.download_artifacts(run.info.run_id, "lessons.json", folder)
            lesson = json.loads(Path(path).read_text())
            out.append({**lesson, "session": run.info.run_id})
    return out


def store_uri(source: str) -> str:
    """Return the tracking URI of an experience PATH (a store's file or folder, or a URI)."""
    if "://" in source or source.startswith("sqlite:"):
        return source
    path = Path(source).resolve()
    if path.is_file():
        return f"sqlite:///{path}"
    if path.is_dir():
        return path.as_uri()
    raise UserError(
        f"--experience {source}: no such store or lessons file (give auto, none, an MLflow"
        " store's .db file or mlruns folder, or a JSON list of lessons)"
    )


def load(
    source: str, own_uri: str, profile: dict[str, Any], exclude: str | None = None
) -> list[dict[str, Any]]:
    """Return the lessons of the nearest finished sessions for ``profile``, nearest first."""
    if source == "none":
        return []
    family = str(profile.get("family"))
    if source.endswith(".json") and Path(source).is_file():
        try:
            found = [dict(x) for x in json.loads(Path(source).read_text())]
        except (ValueError, TypeError) as exc:
            raise UserError(f"--experience {source}: not a JSON list of lessons ({exc})") from None
    else:
        found = _from_store(own_uri if source == "auto" else store_uri(source), family, exclude)
    here = key_of(profile)
    scored = [(distance(here, lesson.get("profile", {})), lesson) for lesson in found]
    near = sorted((d, i, x) for i, (d, x) in enumerate(scored) if d <= MAX_DISTANCE)
    return [{**lesson, "distance": d} for d, _, lesson in near[:NEAREST]]


def read_lessons(tracker: Any, session: str) -> list[dict[str, Any]]:
    """Return the lessons a session read when it started (none if it read none)."""
    names = {a.path for a in tracker.client.list_artifacts(session)}
    if "experience.json" not in names:
        return []
    with tempfile.TemporaryDirectory() as folder:
        path = tracker.client.download_artifacts(session, "experience.json", folder)
        return list(json.loads(Path(path).read_text())["lessons"])


def prior(lessons: list[dict[str, Any]]) -> dict[str, float] | None:
    """Return the share of each verdict over the lessons' sessions, or None without lessons."""
    totals = {"improve": 0.0, "neutral": 0.0, "regress": 0.0}
    for lesson in lessons:
        for outcome, n in lesson.get("verdicts", {}).items():
            totals[outcome] = totals.get(outcome, 0.0) + float(n)
    whole = sum(totals.values())
    return {k: v / whole for k, v in totals.items()} if whole else None


def _changes(changes: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items())


def describe(profile: dict[str, Any]) -> str:
    """Say what kind of table a profile is, in a few words."""
    rows, cols = profile.get("train_examples"), profile.get("features")
    text = f"{profile.get('problem')}, {rows} rows, {cols} columns"
    if profile.get("categorical_features"):
        text += f" ({profile['categorical_features']} categorical)"
    if profile.get("problem") == "classification" and profile.get("smallest_class_share"):
        text += f", smallest class {float(profile['smallest_class_share']):.0%}"
    if profile.get("target_skew") is not None and profile.get("problem") != "classification":
        text += f", target skew {float(profile['target_skew']):.1f}"
    return text


def experience_text(lessons: list[dict[str, Any]]) -> str:
    """Write the lessons for an agent's prompt: one short paragraph per similar table."""
    if not lessons:
        return ""
    parts = []
    for lesson in lessons:
        best = _changes(lesson.get("best", {})) or "the default"
        head = (
            f"- A similar table ({describe(lesson.get('profile', {}))}; distance"
            f" {lesson.get('distance', 0):.2f}): best was {best}"
        )
        won = "; ".join(
            f"{_changes(m['changes'])} ({m['floors']:+.1f} floors)"
            if m.get("floors") is not None
            else _changes(m["changes"])
            for m in lesson.get("improved", [])[:3]
        )
        lost = "; ".join(_changes(m["changes"]) for m in lesson.get("regressed", [])[:3])
        v = lesson.get("verdicts", {})
        parts.append(
            head
            + (f". Gains: {won}" if won else "")
            + (f". Losses: {lost}" if lost else "")
            + f". Verdicts: {v.get('improve', 0)} improved, {v.get('neutral', 0)} neutral,"
            f" {v.get('regress', 0)} regressed."
        )
    return "\n".join(parts)
