"""Read a session back from the MLflow store: its trials, verdicts, curves and prompts."""

from __future__ import annotations

import difflib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lgt_graph.errors import UserError
from lgt_graph.evaluation.metrics import maximized


@dataclass
class TrialView:
    """One trial as the report shows it."""

    index: int
    score: float | None
    status: str
    reason: str
    changes: list[dict[str, Any]]
    rationale: str
    outcome: str
    diagnosis: str
    suggestions: list[str]
    curves: dict[str, list[float]] = field(default_factory=dict)
    steps: dict[str, list[int]] = field(default_factory=dict)
    """Each curve's steps: epochs, or the boosting rounds a tree model was scored at."""
    floor: float | None = None
    """The noise floor the verdict judged the gain against (None: the fixed rule)."""
    hit: bool | None = None
    """Whether the Advisor's prediction for the trial came true (None: it made none)."""
    prediction: dict[str, Any] | None = None
    """The check of the Advisor's prediction (:mod:`lgt_graph.agents.predictions`), if any."""

    @property
    def judged(self) -> str:
        """Return the outcome as the report shows it, with its noise floor."""
        shown = self.outcome
        if self.floor is not None:
            shown += f", noise floor ±{self.floor:.4g}"
        if self.hit is not None:
            shown += ", as predicted" if self.hit else ", not as predicted"
        return shown


@dataclass
class SessionView:
    """A session as the report shows it."""

    run_id: str
    task: str
    llm: str
    nodes: str
    primary: str
    maximize: bool
    trials: list[TrialView]
    rollbacks: list[int]
    """Trials after which the graph rolled back to the best configuration."""
    prompts: list[dict[str, Any]]
    final: dict[str, Any]
    status: str
    line: dict[str, Any] | None = None
    """The epoch-level loop's run: its curve across segments and its changes (``line.json``)."""


def load_session(uri: str, run_id: str) -> SessionView:
    """Read a session run and everything under it from the MLflow store at ``uri``."""
    with tempfile.TemporaryDirectory(prefix="lgt-report-") as folder:
        return _load_session(uri, run_id, folder)


def _load_session(uri: str, run_id: str, folder: str) -> SessionView:
    from lgt_graph.tracking import open_client

    client = open_client(uri)
    try:
        parent = client.get_run(run_id)
    except Exception:
        raise UserError(f"report {run_id}: no such run in the MLflow store {uri}") from None
    if parent.data.tags.get("kind") != "session":
        raise UserError(f"report {run_id}: not a tuning session run (see `run`)")
    names = {a.path for a in client.list_artifacts(run_id)}

    def artifact(run: str, name: str, present: set[str] | None = None) -> Any:
        if present is not None and name not in present:
            return None
        return json.loads(Path(client.download_artifacts(run, name, folder)).read_text())

    final = artifact(run_id, "final.json", names) or {}
    transitions = (artifact(run_id, "transitions.json", names) or {}).get("transitions", [])
    primary = next(
        (k.split("/", 1)[1][4:] for k in parent.data.metrics if k.startswith("trial/val_")), ""
    )
    children = client.search_runs(
        [parent.info.experiment_id],
        f"tags.mlflow.parentRunId = '{run_id}'",
        max_results=5000,
    )
    trials = []
    for child in sorted(children, key=lambda r: int(r.data.tags.get("lgt.trial", 0))):
        present = {a.path for a in client.list_artifacts(child.info.run_id)}
        proposal = artifact(child.info.run_id, "proposal.json", present) or {}
        verdict = artifact(child.info.run_id, "verdict.json", present) or {}
        histories = {
            key[len("curve/") :]: sorted(
                client.get_metric_history(child.info.run_id, key), key=lambda m: m.step
            )
            for key in child.data.metrics
            if key in (f"curve/val_{primary}", "curve/train_loss", "curve/val_loss")
        }
        curves = {name: [m.value for m in ms] for name, ms in histories.items()}
        steps = {name: [m.step for m in ms] for name, ms in histories.items()}
        trials.append(
            TrialView(
                index=int(child.data.tags["lgt.trial"]),
                score=child.data.metrics.get(f"val_{primary}"),
                status=child.data.tags.get("status", ""),
                reason=child.data.tags.get("failure_reason", ""),
                changes=list(proposal.get("changes", [])),
                rationale=str(proposal.get("rationale", "")),
                outcome=str(verdict.get("outcome", "")),
                diagnosis=str(verdict.get("diagnosis", "")),
                suggestions=list(verdict.get("suggestions", [])),
                curves=curves,
                steps=steps,
                floor=verdict.get("floor"),
                hit=(verdict.get("prediction") or {}).get("hit"),
                prediction=verdict.get("prediction"),
            )
        )
    prompts = []
    prompt_uri = parent.data.tags.get("lgt.prompt", "")
    if prompt_uri.startswith("prompts:/"):
        name = prompt_uri.split("/")[1]
        versions = sorted(client.search_prompt_versions(name), key=lambda v: int(v.version))
        previous = ""
        for v in versions:
            changed = [
                line
                for line in difflib.unified_diff(
                    previous.splitlines(), v.template.splitlines(), lineterm="", n=0
                )
                if line[:1] in "+-" and not line.startswith(("+++", "---"))
            ]
            prompts.append(
                {
                    "version": int(v.version),
                    "why": v.commit_message or "",
                    "after_trial": (v.tags or {}).get("lgt.after_trial", ""),
                    "changed": changed if previous else [],
                }
            )
            previous = v.template
    return SessionView(
        run_id=run_id,
        task=parent.data.tags.get("task", ""),
        llm=parent.data.tags.get("llm", ""),
        nodes=parent.data.tags.get("nodes", ""),
        primary=primary,
        maximize=maximized(primary),
        trials=trials,
        rollbacks=sorted({int(t["iteration"]) for t in transitions if t["target"] == "rollback"}),
        prompts=prompts,
        final=final,
        status=parent.info.status,
        line=artifact(run_id, "line.json", names),
    )
