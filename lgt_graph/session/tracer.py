"""Trace the agents' chat calls in MLflow, when they go to a real model."""

from __future__ import annotations

from typing import Any


def llm_tracer(uri: str, experiment_id: str) -> Any:
    """Return MLflow's LangChain tracer for the agents' calls (real models only), or None."""
    import mlflow

    from lgt_graph.tracking.store import use_globally

    use_globally(uri)
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
