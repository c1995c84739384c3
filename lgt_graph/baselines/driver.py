"""Run a baseline as a session: same data, space, budget and MLflow record as an LGT run."""

from __future__ import annotations

import time
from typing import Any

from lgt_graph import history
from lgt_graph.context import Context, Settings
from lgt_graph.session import Echo, Outcome, open_task, start_parent_run, summary_markdown
from lgt_graph.space import diff
from lgt_graph.state import ChangeRecord, State, Trial


def run_search(
    settings: Settings, method: str, sampler: str = "tpe", echo: Echo = print
) -> Outcome:
    """Tune with a baseline method for ``settings.budget`` trials; refit and test the best."""
    from lgt_graph.baselines import make_searcher
    from lgt_graph.cli import experiment_name
    from lgt_graph.nodes.finalize import refit_best
    from lgt_graph.tracking import Tracker, check_uri, tracking_uri
    from lgt_graph.training import train

    started = time.perf_counter()
    uri = tracking_uri(settings.tracking_uri)
    check_uri(uri)
    task, space, data, facts = open_task(settings)
    tracker = Tracker(uri, settings.experiment or experiment_name(task.name), background=True)
    label = f"bayes-{sampler}" if method == "bayes" else method
    session = start_parent_run(tracker, settings, facts, {"method": label})
    ctx = Context(
        settings=settings,
        data=data,
        space=space,
        tracker=tracker,
        model=None,
        session_id=session,
        profile=facts,
    )
    options = {"sampler": sampler} if method == "bayes" else {}
    searcher = make_searcher(method, space, settings.budget, settings.seed, ctx.maximize, **options)
    seconds = {"setup": time.perf_counter() - started}
    started = time.perf_counter()
    values: State = State(trials=[])
    default = space.default()
    status = "FAILED"
    try:
        for index in range(1, settings.budget + 1):
            config = searcher.ask()
            if config is None:
                break
            result = train(config, data)
            trial = Trial(
                index=index,
                config=result.config,
                base=None,
                changes=[
                    ChangeRecord(knob=c.knob, old=c.old, new=c.new, reason=label)
                    for c in diff(default, result.config)
                    if c.new is not None
                ],
                result=result.to_dict(),
                score=result.score(ctx.primary),
                prompt_version=0,
                timestamp=int(time.time() * 1000),
            )
            searcher.tell(result.config, trial["score"])
            values["trials"] = [*values["trials"], trial]
            best = history.best_trial(values, ctx.maximize)
            tracker.submit(
                "session_trial",
                parent=session,
                session=session,
                trial=dict(trial),
                proposal=None,
                primary=ctx.primary,
                best=best["score"] if best else None,
                prompt_version=0,
                tags={
                    "task": task.name,
                    "family": task.family,
                    "seed": str(settings.seed),
                    "method": label,
                },
            )
            echo(_line(label, trial, settings.budget, ctx.primary))
        values["final"] = refit_best(values, data, ctx.maximize)
        status = "FINISHED"
        seconds["loop"] = time.perf_counter() - started
        started = time.perf_counter()
    finally:
        tracker.flush()
        if status == "FINISHED":
            tracker.submit(
                "session_end",
                parent=session,
                final=dict(values["final"]),
                summary=summary_markdown(values, ctx),
                status=status,
            )
        else:
            tracker.submit("status", run_id=session, status=status)
        tracker.close()
    seconds["finish"] = time.perf_counter() - started
    return Outcome(session, dict(values), ctx, seconds)


def _line(label: str, trial: Any, budget: int, primary: str) -> str:
    score = "failed" if trial["score"] is None else f"{trial['score']:.4f}"
    changed = ", ".join(f"{c['knob']}={_short(c['new'])}" for c in trial["changes"]) or "default"
    text = f"{label} trial {trial['index']:>3}/{budget}  val_{primary} {score:>8}  {changed}"
    return text if len(text) <= 160 else text[:157] + "..."


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
