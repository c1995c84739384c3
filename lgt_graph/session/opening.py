"""Open (or reopen) what a session needs: its task, nodes, model, tracker and checkpoints.

Every method opens the same way — LGT, its variants and the baselines differ only in
the nodes the method table names — so their data, space, budget and records match
by construction. ``run --resume ID`` rebuilds the recorded settings; only the ones in
:data:`RESUME_OVERRIDES` may change.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from lgt_graph.context import Context, Settings
from lgt_graph.errors import UserError
from lgt_graph.space.knob import NEURAL_MODELS

PLANNED = ("lr_schedule", "early_stopping_patience")
"""Knobs that plan a whole trial's rate and stop; a continued run moves its rate and stops
by itself (``--loop epoch`` or ``both``), so neither is searched there."""
RESUME_OVERRIDES = (
    "budget",
    "budget_epochs",
    "budget_seconds",
    "data_dir",
    "base_url",
    "timeout",
    "max_retries",
    "on_endpoint_error",
    "device",
    "executor",
    "ray_address",
    "cpus_per_trial",
    "gpus_per_trial",
    "workers",
)
"""The settings that ``run --resume`` takes from the command line over the recorded ones."""


def open_session(
    settings: Settings, resume: str | None, checkpoints: str | None
) -> tuple[Context, Any, Any]:
    """Open (or reopen) everything a session needs; return its context, graph and store."""
    from lgt_graph.agents.experience import load, read_lessons
    from lgt_graph.executors import open_executor
    from lgt_graph.graph.build import build_graph
    from lgt_graph.graph.registry import choices, resolve
    from lgt_graph.llm import make_chat_model
    from lgt_graph.session.naming import experiment_name, start_parent_run, tag_placement
    from lgt_graph.session.store import SessionStore, checkpoints_path
    from lgt_graph.session.tracer import llm_tracer
    from lgt_graph.tracking import Tracker, check_uri, tracking_uri
    from lgt_graph.training.device import resolve_placement, warm_up

    uri = tracking_uri(settings.tracking_uri)
    check_uri(uri)
    store_path = checkpoints_path(settings, checkpoints)
    if resume:
        settings, uri = recorded_settings(store_path, resume, settings)
    # before any data is read or run recorded: --device cuda without a GPU is one line
    placement = resolve_placement(settings.device, settings.amp)
    warm_up()  # torch's one-time imports, outside the first trial's seconds
    task, space, data, facts = open_task(settings)
    if settings.loop == "epoch" and space.default()["model"] not in NEURAL_MODELS:
        raise UserError(
            f"--loop epoch tunes a net between its epochs; model {space.default()['model']!r}"
            " has no epochs: for it the loop is the trial loop (drop --loop epoch)"
        )
    nodes = resolve(settings.nodes, settings.method, settings.loop)
    # a cluster that cannot be reached is one line, before the session is recorded
    executor = open_executor(settings, data, placement)
    try:
        model, options = make_chat_model(
            settings.llm,
            settings.base_url,
            settings.timeout,
            settings.max_retries,
            settings.structured_output,
            settings.context_window,
        )
        experiment = settings.experiment or experiment_name(task.name)
        store = SessionStore(store_path)
        try:
            if resume:
                store.acquire(resume)  # one process runs a session at a time
            tracker = Tracker(uri, experiment, background=True)
        except BaseException:
            store.close()
            raise
        if resume:
            session = resume  # marked RUNNING by the runner, where a stop marks it KILLED again
            # the machine may differ from the first run's
            tag_placement(tracker, session, placement)
            lessons = read_lessons(tracker, session)  # what it read when it started
        else:
            lessons = load(settings.experience, uri, facts)
            nodes_used = choices(settings.nodes, settings.method, settings.loop)
            session = start_parent_run(tracker, settings, facts, nodes_used, placement)
            if settings.experience != "none":
                tracker.client.log_dict(session, {"lessons": lessons}, "experience.json")
            store.add(session, settings.to_dict(), uri, experiment)
            store.acquire(session)
        tracer = llm_tracer(uri, tracker.experiment_id) if settings.llm != "heuristic" else None
        ctx = Context(
            settings=settings,
            data=data,
            space=space,
            tracker=tracker,
            model=model,
            session_id=session,
            profile=facts,
            options=options,
            tracer=tracer,
            workdir=store_path.parent / "lgt_runs" / session,
            checkpointer=store.saver,
            placement=placement,
            executor=executor,
            experience=lessons,
        )
    except BaseException:
        executor.close()
        raise
    return ctx, build_graph(nodes, checkpointer=store.saver), store


def recorded_settings(store_path: Path, resume: str, given: Settings) -> tuple[Settings, str]:
    """Return a recorded session's settings, with the allowed overrides, and its store URI."""
    from lgt_graph.session.store import SessionStore

    if not store_path.exists():
        raise UserError(f"--resume {resume}: no checkpoint database at {store_path}")
    store = SessionStore(store_path)
    try:
        record = store.get(resume)
    finally:
        store.close()
    if record["status"] == "finished":
        raise UserError(f"session {resume} already finished; start a new one")
    recorded = Settings.from_dict(record["settings"])
    from lgt_graph.graph.methods import method

    peer = method(recorded.method)
    if peer.peer is not None:
        raise UserError(
            f"--resume {resume}: a {peer.title} session cannot be resumed (the tool's search"
            f" is not checkpointed); start it again with --method {peer.name}"
        )
    # What a resumed session may change: its budget, where the data is, and how
    # the LLM endpoint is reached (it may have moved while the session waited).
    overrides = {
        k: getattr(given, k)
        for k in RESUME_OVERRIDES
        if getattr(given, k) != getattr(Settings(task=""), k)
    }
    settings = Settings.from_dict({**recorded.to_dict(), **overrides})
    settings.check()
    return settings, str(record["tracking_uri"])


def open_task(settings: Settings) -> tuple[Any, Any, Any, dict[str, Any]]:
    """Load the task's data and narrowed space; return (task, space, data, data profile)."""
    from lgt_graph.evaluation.curves import profile
    from lgt_graph.evaluation.metrics import check_metric
    from lgt_graph.space import space_for
    from lgt_graph.space.shape import shaped_by_data
    from lgt_graph.tasks import get_task, load_task_data

    task = get_task(settings.task, settings.target, settings.problem, settings.drop)  # type: ignore[arg-type]
    check_metric(settings.metric, task.problem)  # before the data is read, which may take long
    data = load_task_data(task, settings.seed, settings.data_dir, settings.max_train_samples)
    task = data.task = dataclasses.replace(task, primary=primary_metric(settings, data)[0])
    space = space_for(task.family).narrowed(settings.limits)
    # what the data can take, for every method alike; a knob set with --set stays
    space, notes = shaped_by_data(space, data, keep=settings.start)
    data.notes += notes
    space = space.with_defaults(settings.start)
    if settings.loop != "trial":
        space = space.without(PLANNED)
    return task, space, data, profile(data)


def primary_metric(settings: Settings, data: Any) -> tuple[str, str]:
    """Return the primary metric of a session, and why: ``--metric``, or the data's default."""
    from lgt_graph.evaluation.metrics import check_metric, default_metric

    problem = data.task.problem
    if settings.metric is not None:
        check_metric(settings.metric, problem)
        return settings.metric, "--metric"
    shares = None
    if problem == "classification":
        counts = np.bincount(data.y_train, minlength=max(data.n_classes, 1))
        shares = (counts / max(counts.sum(), 1)).tolist()
    return default_metric(problem, shares)


def data_line(settings: Settings, data: Any) -> str:
    """Describe what was inferred from the data: problem, classes, splits, primary metric."""
    problem = data.task.problem
    what = problem
    if problem == "classification":
        counts = np.bincount(data.y_train, minlength=max(data.n_classes, 1))
        what += f", {data.n_classes} classes (smallest {counts.min() / max(counts.sum(), 1):.1%})"
    metric, why = primary_metric(settings, data)
    hint = "" if why == "--metric" else "; --metric to change"
    return (
        f"data: {what}, {len(data.y_train)} training and {len(data.y_val)} validation"
        f" examples; primary metric {metric} ({why}{hint})"
    )
