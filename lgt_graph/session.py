"""Run a tuning session: open what the settings name, stream the graph, mirror it to MLflow.

The graph's checkpointed state is the record of truth. The mirror projects it into
MLflow as it grows — trial runs, verdicts, prompt versions, transitions — with
writes that a resumed session can replay without duplicates, and prints a line
per trial.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lgt_graph import history
from lgt_graph.agents import EndpointUnavailable
from lgt_graph.context import Context, Settings
from lgt_graph.errors import UserError
from lgt_graph.prompting import INITIAL_GUIDANCE, advisor_system
from lgt_graph.space import diff
from lgt_graph.state import PromptVersion, State

Echo = Callable[[str], None]
RESUME_OVERRIDES = ("budget", "data_dir", "base_url", "timeout", "max_retries", "on_endpoint_error")
"""The settings that ``run --resume`` takes from the command line over the recorded ones."""
TABLE_EVERY = 5
"""Rewrite the transition and agent-call tables in MLflow every this many trials (at first:
the spacing grows with the session, so the rewrites stay linear in the budget)."""


@dataclass
class Mirror:
    """Project the session's state into MLflow and onto the screen, each item once."""

    ctx: Context
    parent: str
    echo: Echo
    seen: dict[str, int] = field(default_factory=dict)

    def _new(self, values: State, key: str) -> list[Any]:
        items: list[Any] = list(values.get(key, []))  # type: ignore[call-overload]
        start = self.seen.get(key, 0)
        self.seen[key] = len(items)
        return items[start:]

    def sync(self, values: State) -> None:
        """Write and print whatever the state holds that was not mirrored yet."""
        ctx, tracker = self.ctx, self.ctx.tracker
        session = ctx.session_id
        for version in self._new(values, "prompts"):
            tracker.submit(
                "session_prompt",
                parent=self.parent,
                session=session,
                version=dict(version),
                text=advisor_system(version["guidance"]),
            )
        proposals = {p["for_trial"]: p for p in values.get("proposals", [])}
        for trial in self._new(values, "trials"):
            best = history.best_trial(values, ctx.maximize, before=trial["index"] + 1)
            tracker.submit(
                "session_trial",
                parent=self.parent,
                session=session,
                trial=dict(trial),
                proposal=proposals.get(trial["index"]),
                primary=ctx.primary,
                best=best["score"] if best else None,
                prompt_version=trial["prompt_version"],
                tags={
                    "task": ctx.data.task.name,
                    "family": ctx.data.task.family,
                    "seed": str(ctx.settings.seed),
                },
            )
        verdicts = self._new(values, "verdicts")
        for verdict in verdicts:
            trial = history.trial(values, verdict["trial"])
            stamp = trial["timestamp"] if trial else int(time.time() * 1000)
            tracker.submit(
                "session_verdict", parent=self.parent, verdict=dict(verdict), stamp=stamp
            )
            if trial is not None:
                self.echo(self.line(trial, verdict, proposals.get(trial["index"])))
        finished = bool(values.get("final")) and not self.seen.get("final")
        if verdicts or finished:
            self.seen["final"] = int(finished)
            judged = len(values.get("verdicts", []))
            tracker.submit(
                "session_progress",
                parent=self.parent,
                transitions=[dict(t) for t in values.get("transitions", [])],
                calls=[dict(c) for c in values.get("agent_calls", [])],
                stamp=int(time.time() * 1000),
                # the tables are rewritten whole: every few trials and at the end
                tables=finished or judged % (TABLE_EVERY * max(1, judged // 50)) == 1,
            )

    def line(self, trial: Any, verdict: Any, proposal: Any) -> str:
        """Format one trial: metric, verdict, then the change and its reason."""
        budget = self.ctx.settings.budget
        score = "failed" if trial["score"] is None else f"{trial['score']:.4f}"
        if trial["changes"]:
            change = ", ".join(f"{c['knob']} {c['old']} -> {c['new']}" for c in trial["changes"])
            reason = trial["changes"][0]["reason"]
            change = f"{change} ({reason})"
        else:
            change = "default configuration"
        if proposal is not None and proposal["status"] not in ("ok", "random"):
            change += f" [{proposal['status'][:40]}]"
        text = (
            f"trial {trial['index']:>3}/{budget}  val_{self.ctx.primary} {score:>8}"
            f"  {verdict['outcome']:<9} {verdict['delta']:+.4f}  {change}"
        )
        return text if len(text) <= 160 else text[:157] + "..."


def initial_state(ctx: Context) -> State:
    """Return the state a new session starts from: the default configuration, prompt v1."""
    first = PromptVersion(
        version=1,
        guidance=INITIAL_GUIDANCE,
        why="the starting prompt, prompts/advisor.md",
        after_trial=0,
        status="initial",
    )
    return State(config=ctx.space.default(), base=None, pending_changes=[], prompts=[first])


def summary_markdown(values: Any, ctx: Context) -> str:
    """Render the session's trials and final result as a markdown summary."""
    primary = ctx.primary
    lines = [
        f"# LGT session {ctx.session_id} on {ctx.data.task.name}",
        "",
        f"| trial | val_{primary} | verdict | changes |",
        "|---|---|---|---|",
    ]
    for trial in history.trials(values):
        verdict = history.verdict_for(values, trial["index"])
        score = "failed" if trial["score"] is None else f"{trial['score']:.4f}"
        changes = ", ".join(f"{c['knob']}: {c['old']} -> {c['new']}" for c in trial["changes"])
        outcome = verdict["outcome"] if verdict else "-"
        lines.append(f"| {trial['index']} | {score} | {outcome} | {changes or 'default'} |")
    final = values.get("final", {})
    lines.append("")
    if final.get("status") == "ok":
        best = history.trial(values, final["trial"])
        changed = diff(ctx.space.default(), best["config"]) if best else []
        lines += [
            f"Best: trial {final['trial']}; refit on train, scored once on the test split:",
            "",
            "| split | " + " | ".join(final["val"]) + " |",
            "|---|" + "---|" * len(final["val"]),
            "| validation | " + " | ".join(f"{v:.4f}" for v in final["val"].values()) + " |",
            "| test | " + " | ".join(f"{v:.4f}" for v in final["test"].values()) + " |",
            "",
            "Changed from the default: " + (", ".join(map(str, changed)) or "nothing"),
        ]
    else:
        lines.append(f"No final result: {final.get('reason', 'the session did not finish')}")
    return "\n".join(lines) + "\n"


def print_summary(values: Any, ctx: Context, echo: Echo) -> None:
    """Print the table of trials and the final result."""
    for line in summary_markdown(values, ctx).splitlines()[2:]:
        echo(line)


def open_session(
    settings: Settings, resume: str | None, checkpoints: str | None, echo: Echo
) -> tuple[Context, Any, Any, bool]:
    """Open (or reopen) everything a session needs; return context, graph, store, resumed."""
    from pathlib import Path

    from lgt_graph.cli import experiment_name
    from lgt_graph.graph import build_graph
    from lgt_graph.llm import make_chat_model
    from lgt_graph.registry import choices, resolve
    from lgt_graph.sessions import SessionStore, default_path
    from lgt_graph.tracking import Tracker, check_uri, tracking_uri

    uri = tracking_uri(settings.tracking_uri)
    check_uri(uri)
    store_path = Path(checkpoints) if checkpoints else default_path(uri)
    if resume:
        if not store_path.exists():
            raise UserError(f"--resume {resume}: no checkpoint database at {store_path}")
        store = SessionStore(store_path)
        record = store.get(resume)
        if record["status"] == "finished":
            raise UserError(f"session {resume} already finished; start a new one")
        recorded = Settings.from_dict(record["settings"])
        # What a resumed session may change: its budget, where the data is, and how
        # the LLM endpoint is reached (it may have moved while the session waited).
        overrides = {
            k: getattr(settings, k)
            for k in RESUME_OVERRIDES
            if getattr(settings, k) != getattr(Settings(task=""), k)
        }
        settings = Settings.from_dict({**recorded.to_dict(), **overrides})
        settings.check()
        uri = record["tracking_uri"]
    task, space, data, facts = open_task(settings)
    nodes = resolve(settings.nodes)
    model, options = make_chat_model(
        settings.llm,
        settings.base_url,
        settings.timeout,
        settings.max_retries,
        settings.structured_output,
    )
    experiment = settings.experiment or experiment_name(task.name)
    tracker = Tracker(uri, experiment, background=True)
    if resume:
        session = resume
        tracker.submit("status", run_id=session, status="RUNNING").result()
    else:
        store = SessionStore(store_path)
        nodes_used = choices(settings.nodes)
        session = start_parent_run(
            tracker,
            settings,
            facts,
            {
                "method": "lgt",
                "llm": settings.llm,
                "nodes": ",".join(f"{k}={v}" for k, v in nodes_used.items()),
            },
            {f"node.{k}": v for k, v in nodes_used.items()},
        )
        store.add(session, settings.to_dict(), uri, experiment)
    tracer = _llm_tracer(uri, tracker.experiment_id) if settings.llm != "heuristic" else None
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
    )
    graph = build_graph(nodes, checkpointer=store.saver)
    return ctx, graph, store, bool(resume)


def open_task(settings: Settings) -> tuple[Any, Any, Any, dict[str, Any]]:
    """Load the task's data and narrowed space; return (task, space, data, data profile)."""
    from lgt_graph.curves import profile
    from lgt_graph.space import space_for
    from lgt_graph.tasks import get_task, load_task_data

    task = get_task(settings.task, settings.target, settings.problem)  # type: ignore[arg-type]
    space = space_for(task.family).narrowed(settings.limits)
    data = load_task_data(task, settings.seed, settings.data_dir, settings.max_train_samples)
    return task, space, data, profile(data)


def start_parent_run(
    tracker: Any,
    settings: Settings,
    facts: dict[str, Any],
    tags: dict[str, str],
    params: dict[str, Any] | None = None,
) -> str:
    """Create a session's parent run: tags and params that say what the session is."""
    from mlflow.entities import Param

    all_tags = {
        "kind": "session",
        "task": settings.task,
        "seed": str(settings.seed),
        "budget": str(settings.budget),
        "mlflow.note.content": f"Tuning {settings.task} with {tags.get('method', 'lgt')}.",
        **tags,
    }
    run = tracker.client.create_run(
        tracker.experiment_id,
        run_name=f"{tags.get('method', 'lgt')}-{settings.task}-{time.strftime('%m%d-%H%M%S')}",
        tags=all_tags,
    )
    run_id = str(run.info.run_id)
    values = {f"setting.{k}": v for k, v in settings.to_dict().items()}
    values |= params or {}
    values |= {f"data.{k}": v for k, v in facts.items()}
    items = [Param(k, str(v)[:6000]) for k, v in values.items()]
    for start in range(0, len(items), 100):
        tracker.client.log_batch(run_id, params=items[start : start + 100])
    tracker.client.set_tag(run_id, "lgt.session", run_id)
    return run_id


def _llm_tracer(uri: str, experiment_id: str) -> Any:
    """Return MLflow's LangChain tracer for the agents' calls (real models only), or None."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment_id=experiment_id)
    try:
        from mlflow.langchain.langchain_tracer import MlflowLangchainTracer

        class AgentTracer(MlflowLangchainTracer):  # type: ignore[misc]
            """Trace each agent call as a root span: the graph node around it is not traced."""

            def _get_parent_span(self, parent_run_id: Any) -> Any:
                known = getattr(self, "_run_span_mapping", {})
                return super()._get_parent_span(
                    parent_run_id if str(parent_run_id) in known else None
                )

        return AgentTracer()
    except Exception as exc:  # tracing is an aid; a run must not fail for it
        import logging

        logging.getLogger(__name__).warning("MLflow tracing of LLM calls is off: %s", exc)
        return None


@dataclass
class Outcome:
    """A finished session: its id, final state and context."""

    session_id: str
    values: dict[str, Any]
    ctx: Context
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of the set-up, the graph's loop, and the final flush and close."""


def run_session(
    settings: Settings,
    resume: str | None = None,
    checkpoints: str | None = None,
    echo: Echo = print,
) -> Outcome:
    """Run (or resume) a session to its end; return its final state."""
    started = time.perf_counter()
    ctx, graph, store, resumed = open_session(settings, resume, checkpoints, echo)
    seconds = {"setup": time.perf_counter() - started}
    started = time.perf_counter()
    parent = ctx.session_id
    mirror = Mirror(ctx, parent, echo)
    config = {
        "configurable": {"thread_id": parent},
        "recursion_limit": 6 * ctx.settings.budget + 20,
    }
    if resumed:
        values = graph.get_state(config).values
        echo(f"resuming session {parent} after {len(values.get('trials', []))} trials")
        mirror.sync(values)
        inputs = None if values else initial_state(ctx)
    else:
        echo(
            f"session {parent}: {ctx.data.task.name}, budget {ctx.settings.budget} trials,"
            f" llm {ctx.settings.llm}"
        )
        inputs = initial_state(ctx)
    status = "FAILED"
    try:
        for values in graph.stream(
            inputs, config, context=ctx, stream_mode="values", durability="async"
        ):
            mirror.sync(values)
        values = graph.get_state(config).values
        if not values.get("final"):
            raise RuntimeError("the graph stopped before finalize")
        status = "FINISHED"
        seconds["loop"] = time.perf_counter() - started
        started = time.perf_counter()
    except KeyboardInterrupt:
        status = "KILLED"
        echo(f"interrupted; continue with: python -m lgt_graph run --resume {parent}")
        raise
    except EndpointUnavailable as exc:
        status = "KILLED"
        echo(
            f"the LLM endpoint still failed after {ctx.settings.max_retries} retries ({exc});"
            f" session {parent} is saved: once the endpoint is back, continue with"
            f" python -m lgt_graph run --resume {parent}"
        )
        raise
    finally:
        ctx.tracker.flush()
        if status == "FINISHED":
            ctx.tracker.submit(
                "session_end",
                parent=parent,
                final=dict(values["final"]),
                summary=summary_markdown(values, ctx),
                status=status,
            )
        else:
            ctx.tracker.submit("status", run_id=parent, status=status)
        ctx.tracker.close()
        store.set_status(
            parent, {"FINISHED": "finished", "KILLED": "interrupted"}.get(status, "failed")
        )
        store.close()
    seconds["finish"] = time.perf_counter() - started
    return Outcome(parent, dict(values), ctx, seconds)
