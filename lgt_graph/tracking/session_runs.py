"""A session's MLflow records, each write idempotent so that a resumed session can replay it.

Every function takes ``(client, experiment_id, **data)`` and runs in the tracker's
writer process. A trial run is found again by its parent and trial number; metrics
carry the timestamps recorded in the state, so a replay writes identical rows.
"""

from __future__ import annotations

from typing import Any

from lgt_graph.tracking.markdown import proposal_markdown, transitions_markdown, verdict_markdown
from lgt_graph.tracking.runs import set_status, write_trial
from lgt_graph.tracking.segment_runs import inner_segments, segment_metrics

PROMPT_PREFIX = "lgt-advisor-"


def prompt_name(session_id: str) -> str:
    """Name the Advisor's prompt of a session in MLflow's prompt registry."""
    return f"{PROMPT_PREFIX}{session_id[:12]}"


_TRIAL_RUNS: dict[str, dict[int, tuple[str, str]]] = {}
"""Per session: trial number -> (run id, status), read from MLflow once per writer process."""
_TAGGED: dict[str, int] = {}
"""Per session: how many transitions this writer process has already tagged."""


def _trial_runs(client: Any, experiment_id: str, parent: str) -> dict[int, tuple[str, str]]:
    if parent not in _TRIAL_RUNS:
        runs = client.search_runs(
            [experiment_id], f"tags.mlflow.parentRunId = '{parent}'", max_results=50000
        )
        _TRIAL_RUNS[parent] = {
            int(r.data.tags["lgt.trial"]): (r.info.run_id, r.info.status)
            for r in runs
            if "lgt.trial" in r.data.tags
        }
    return _TRIAL_RUNS[parent]


def session_trial(
    client: Any,
    experiment_id: str,
    parent: str,
    session: str,
    trial: dict[str, Any],
    proposal: dict[str, Any] | None,
    primary: str,
    best: float | None,
    prompt_version: int,
    tags: dict[str, str],
) -> str:
    """Write trial ``trial['index']`` as a nested run, once; return its run id."""
    from mlflow.entities import Metric

    index = int(trial["index"])
    known = _trial_runs(client, experiment_id, parent)
    if index in known:
        run_id, status = known[index]
        if status in ("FINISHED", "FAILED"):
            return run_id
        for child in client.search_runs(
            [experiment_id], f"tags.mlflow.parentRunId = '{run_id}'", max_results=50000
        ):
            client.delete_run(child.info.run_id)
        client.delete_run(run_id)  # a write cut short: write it again, children too
    changes = ", ".join(f"{c['knob']}={c['new']}" for c in trial["changes"]) or "default"
    segment = trial.get("segment")
    extra = {}
    if segment is not None:
        extra = {
            "kind": "segment",
            "lgt.paired": str(segment["paired"]).lower(),
            "lgt.reference": segment["reference_is"],
            "lgt.start_epoch": str(segment["start_epoch"]),
            "lgt.start_checkpoint": (segment["start"] or {}).get("path", "none"),
        }
    if "round" in trial:  # --workers: the parallel round it trained in (its first trial)
        extra["lgt.round"] = str(trial["round"])
    run_id = write_trial(
        client,
        experiment_id,
        trial["result"],
        tags={
            **tags,
            "kind": "trial",
            "lgt.session": session,
            "lgt.trial": str(index),
            "lgt.base": str(trial["base"]),
            "lgt.changes": changes[:5000],
            "lgt.prompt_version": str(prompt_version),
            **extra,
        },
        run_name=f"{'segment' if segment is not None else 'trial'}-{index:03d}",
        parent_run_id=parent,
        terminate=False,
        # written after the fact: the run spans the trial's training, not the write
        start_time=int(trial["timestamp"]) - int(1000 * float(trial["result"]["wall_time"])),
    )
    if segment is not None:
        segment_metrics(client, run_id, segment, int(trial["timestamp"]))
    inner = trial["result"].get("diagnostics", {}).get("segments")
    if inner:
        inner_segments(client, experiment_id, run_id, index, inner, primary, tags)
    if proposal is not None:
        client.log_dict(run_id, proposal, "proposal.json")
        client.log_text(run_id, proposal_markdown(proposal), "proposal.md")
    if prompt_version:
        client.link_prompt_version_to_run(
            run_id, f"prompts:/{prompt_name(session)}/{prompt_version}"
        )
    status = "FINISHED" if trial["result"]["status"] == "ok" else "FAILED"
    client.set_terminated(run_id, status, end_time=int(trial["timestamp"]))
    known[index] = (run_id, status)
    stamp = int(trial["timestamp"])
    metrics = []
    if trial["score"] is not None:
        metrics.append(Metric(f"trial/val_{primary}", float(trial["score"]), stamp, index))
    if best is not None:
        metrics.append(Metric(f"best/val_{primary}", float(best), stamp, index))
    metrics.append(Metric("trial/wall_time_s", float(trial["result"]["wall_time"]), stamp, index))
    client.log_batch(parent, metrics=metrics)
    return run_id


def session_verdict(
    client: Any, experiment_id: str, parent: str, verdict: dict[str, Any], stamp: int
) -> None:
    """Attach a verdict (the textual gradient) to its trial's run."""
    from mlflow.entities import Metric

    known = _trial_runs(client, experiment_id, parent).get(int(verdict["trial"]))
    if known is None:
        raise RuntimeError(f"no run for trial {verdict['trial']} under session {parent}")
    run_id = known[0]
    client.log_dict(run_id, verdict, "verdict.json")
    client.log_text(run_id, verdict_markdown(verdict), "verdict.md")
    client.set_tag(run_id, "lgt.verdict", verdict["outcome"])
    step = int(verdict["trial"])
    metrics = [Metric("verdict/delta", float(verdict["delta"]), stamp, step)]
    if verdict.get("floor") is not None:
        metrics.append(Metric("verdict/noise_floor", float(verdict["floor"]), stamp, step))
    if verdict.get("prediction"):  # the Advisor's hit rate so far (lgt_graph.agents.predictions)
        said = verdict["prediction"]
        metrics.append(Metric("advisor/hit_rate", float(said["hit_rate"]), stamp, step))
        for name in ("brier", "skill"):  # the stated probabilities' score so far
            if said.get(f"{name}_so_far") is not None:
                value = float(said[f"{name}_so_far"])
                metrics.append(Metric(f"advisor/{name}", value, stamp, step))
    client.log_batch(parent, metrics=metrics)


def session_prompt(
    client: Any, experiment_id: str, parent: str, session: str, version: dict[str, Any], text: str
) -> None:
    """Register a prompt version in MLflow's prompt registry, unless it is there already."""
    name = prompt_name(session)
    number = int(version["version"])
    existing = list(client.search_prompt_versions(name)) if client.get_prompt(name) else []
    if any(int(v.version) >= number for v in existing):
        return
    registered = client.register_prompt(
        name,
        text,
        commit_message=version["why"][:500],
        tags={
            "lgt.session": session,
            "lgt.version": str(number),
            "lgt.after_trial": str(version["after_trial"]),
            "lgt.status": version["status"],
        },
    )
    if int(registered.version) != number:
        raise RuntimeError(f"{name}: registered version {registered.version}, expected {number}")
    client.set_tag(parent, "lgt.prompt", f"prompts:/{name}/{number}")


def session_progress(
    client: Any,
    experiment_id: str,
    parent: str,
    transitions: list[dict[str, Any]],
    calls: list[dict[str, Any]],
    stamp: int,
    tables: bool = True,
) -> None:
    """Tag the new transitions and count them; with ``tables``, rewrite the two tables."""
    from mlflow.entities import Metric, RunTag

    if tables:
        client.log_dict(parent, {"transitions": transitions}, "transitions.json")
        client.log_text(parent, transitions_markdown(transitions), "transitions.md")
        client.log_dict(parent, {"agent_calls": calls}, "agent_calls.json")
    done = _TAGGED.get(parent, 0)
    tags = [
        RunTag(f"transition.{n:04d}", f"{t['source']} -> {t['target']}: {t['why']}"[:5000])
        for n, t in enumerate(transitions, 1)
        if n > done
    ]
    _TAGGED[parent] = len(transitions)
    step = transitions[-1]["iteration"] if transitions else 0
    rollbacks = sum(t["target"] == "rollback" for t in transitions)
    counts = {
        "graph/transitions": len(transitions),
        "graph/rollbacks": rollbacks,
        "llm/calls": len(calls),
        "llm/repaired": sum(c["status"] == "repaired" for c in calls),
        "llm/fallbacks": sum(c["status"] == "fallback" for c in calls),
        "llm/input_tokens": sum(c["input_tokens"] for c in calls),
        "llm/output_tokens": sum(c["output_tokens"] for c in calls),
        "llm/shortened": sum(bool(c.get("fit")) for c in calls),
        "llm/seconds": sum(c.get("seconds", 0.0) for c in calls),
    }
    metrics = [Metric(k, float(v), stamp, step) for k, v in counts.items()]
    # the structured-output mode in use, and each mode refused or window learned, once
    if modes := [c["mode"] for c in calls if c.get("mode")]:
        tags.append(RunTag("llm.structured_output", modes[-1]))
    if notes := [n for c in calls for n in c.get("notes", [])]:
        tags.append(RunTag("llm.notes", "\n".join(notes)[-5000:]))
    for start in range(0, len(tags), 900):
        client.log_batch(
            parent, tags=tags[start : start + 900], metrics=metrics if start == 0 else []
        )
    if not tags:
        client.log_batch(parent, metrics=metrics)


def session_end(
    client: Any,
    experiment_id: str,
    parent: str,
    final: dict[str, Any],
    summary: str,
    status: str,
    line: dict[str, Any] | None = None,
    lessons: dict[str, Any] | None = None,
) -> None:
    """Record the final refit's metrics and the summary on the session run, and close it.

    ``line`` (the epoch-level loop) is the curve the run's weights went through, with its
    changes: written as ``line.json`` and as ``line/...`` metrics, a step per epoch.
    ``lessons`` (:mod:`lgt_graph.agents.experience`): ``lessons.json``, tagged ``lgt.lessons`` with
    the task family, so that later sessions on similar tables find it.
    """
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [Metric(f"test_{k}", float(v), now, 0) for k, v in final.get("test", {}).items()]
    metrics += [Metric(f"final_val_{k}", float(v), now, 0) for k, v in final.get("val", {}).items()]
    if metrics:
        client.log_batch(parent, metrics=metrics)
    client.log_dict(parent, final, "final.json")
    client.log_text(parent, summary, "summary.md")
    if line is not None:
        client.log_dict(parent, line, "line.json")
        points = [
            Metric(f"line/{name}", float(value), now, int(step))
            for name, values in line["curves"].items()
            for step, value in zip(line["steps"], values, strict=True)
        ]
        for start in range(0, len(points), 1000):
            client.log_batch(parent, metrics=points[start : start + 1000])
    if final.get("checkpoint"):
        # The epoch-level loop's best state: load it with lgt_graph.training.segments.load_model.
        client.log_artifact(parent, final["checkpoint"], "model")
    client.set_tag(parent, "lgt.best_trial", str(final.get("trial")))
    if lessons is not None:
        client.log_dict(parent, lessons, "lessons.json")
        client.set_tag(parent, "lgt.lessons", str(lessons["profile"].get("family")))
    if final.get("selection"):
        client.set_tag(parent, "lgt.selection", str(final["selection"].get("rule")))
    set_status(client, experiment_id, parent, status)
