"""An LGTSampler study in MLflow: a parent run for the study, a nested run per trial.

Each trial's run holds its parameters, value and curves (as ``run`` writes a trial),
who proposed it, and the proposal and the Evaluator's verdict as readable markdown;
the parent run holds every version of the Advisor's prompt. The parent's id is kept in
the study's user attributes, so a study resumed from its storage in another process
goes on writing under the same run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from optuna.study import Study
from optuna.trial import FrozenTrial

from lgt_graph.tracking import Tracker
from lgt_graph.tracking.markdown import proposal_markdown, verdict_markdown
from lgt_graph.tracking.runs import write_trial

TOLD: tuple[str, ...] = ("base", "rationale", "expected_effect", "expected_gain")
TOLD += ("expected_outcome", "probability", "exploratory", "forecast")
"""What a proposal's trial keeps of it, each as a user attribute (``lgt_`` before its name)."""
RUN = "lgt_mlflow_run"
"""The study user attribute that holds the MLflow parent run's id."""


class StudyRecords:
    """Write a study's trials, textual gradients and prompt versions to an MLflow store."""

    def __init__(self, uri: str, experiment: str | None = None, llm: str = "heuristic") -> None:
        self.uri = uri
        self.experiment = experiment
        self.llm = llm
        self._tracker: Tracker | None = None

    def _open(self, study: Study) -> tuple[Any, str, str]:
        if self._tracker is None:
            self._tracker = Tracker(self.uri, self.experiment or f"optuna-{study.study_name}")
        client, experiment_id = self._tracker.client, self._tracker.experiment_id
        parent = study.user_attrs.get(RUN)
        if not parent:
            parent = client.create_run(
                experiment_id,
                run_name=f"study {study.study_name}",
                tags={
                    "kind": "optuna-study",
                    "lgt.study": study.study_name,
                    "lgt.sampler": "LGTSampler",
                    "lgt.llm": self.llm,
                },
            ).info.run_id
            study.set_user_attr(RUN, parent)
        return client, experiment_id, str(parent)

    def trial(
        self,
        study: Study,
        trial: FrozenTrial,
        result: dict[str, Any],
        verdict: dict[str, Any],
    ) -> str:
        """Write one finished trial as a nested run; return its run id."""
        client, experiment_id, parent = self._open(study)
        attrs = {**trial.user_attrs}
        tags = {
            "kind": "trial",
            "optuna.trial": str(trial.number),
            "lgt.proposed_by": str(attrs.get("lgt_proposed_by", "enqueued")),
            "lgt.verdict": str(verdict["outcome"]),
        }
        run_id = write_trial(
            client, experiment_id, result, tags, f"trial {trial.number}", parent, terminate=False
        )
        if "lgt_changes" in attrs:
            proposal = {
                "for_trial": trial.number,
                "base": attrs.get("lgt_base"),
                "changes": attrs["lgt_changes"],
                "rationale": attrs.get("lgt_rationale", ""),
                "expected_effect": attrs.get("lgt_expected_effect", ""),
                "expected_outcome": attrs.get("lgt_expected_outcome"),
                "probability": attrs.get("lgt_probability"),
                "exploratory": attrs.get("lgt_exploratory", False),
                "status": attrs.get("lgt_proposal_status", ""),
            }
            client.log_text(run_id, proposal_markdown(proposal), "proposal.md")
        elif "lgt_why" in attrs:
            client.set_tag(run_id, "lgt.why", str(attrs["lgt_why"])[:5000])
        client.log_text(
            run_id, verdict_markdown({**verdict, "trial": trial.number}), "textual_gradient.md"
        )
        client.set_terminated(run_id, "FINISHED" if result["status"] == "ok" else "FAILED")
        return str(run_id)

    def prompt(self, study: Study, version: dict[str, Any]) -> None:
        """Keep a new version of the Advisor's prompt on the study's run."""
        client, _, parent = self._open(study)
        text = (
            f"# Advisor prompt v{version['version']}\n\n{version['guidance']}\n\n{version['why']}\n"
        )
        client.log_text(parent, text, f"prompts/v{version['version']}.md")
        client.set_tag(parent, "lgt.prompt_version", str(version["version"]))


class CallLog:
    """The agents' calls an LGTSampler made (their ``AgentCall`` records), kept until read.

    A session whose searcher is an LGTSampler (``--method hybrid``, ``lgt-optuna``) reads
    them after each ask (:meth:`drain`), so its ``agent_calls`` count every exchange with
    the chat model — valid at once, repaired or fallen back, tokens and seconds — as LGT's
    own do. A study outside a session may read them too, or leave them.
    """

    def __init__(self) -> None:
        self._calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def wrap(self, nodes: dict[str, Callable[..., dict[str, Any]]]) -> dict[str, Any]:
        """Return the nodes, each keeping the calls of its updates here."""

        def keeping(node: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
            def run(*args: Any, **kwargs: Any) -> dict[str, Any]:
                update = node(*args, **kwargs)
                with self._lock:
                    self._calls += [dict(c) for c in update.get("agent_calls") or []]
                return update

            return run

        return {name: keeping(node) for name, node in nodes.items()}

    def drain(self) -> list[dict[str, Any]]:
        """Return the calls kept since the last drain, and forget them."""
        with self._lock:
            calls, self._calls = self._calls, []
        return calls
