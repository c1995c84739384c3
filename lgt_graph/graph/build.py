"""The LGT graph: train, evaluate, then stop, roll back, or optimize the prompt and advise.

```
START → train → evaluate ─┬─ budget spent / converged ─────────────→ finalize → END
                          ├─ regressed ─→ rollback ─┐                   ↑
                          └─ improved / kept ───────┴→ optimize → advise ┴─→ train
```
Advise goes to finalize only when the Advisor has nothing left to propose (a
baseline's searcher ran out, as NoTuning does after its one trial).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from lgt_graph.context import Context
from lgt_graph.graph.routing import (
    decide,
    decide_after_advise,
    route_after_advise,
    route_after_evaluate,
)
from lgt_graph.state import State, Transition

Node = Callable[[State, Runtime[Context]], dict[str, Any]]
NODE_NAMES = ("train", "evaluate", "rollback", "optimize", "advise", "finalize")


def recorded(name: str, node: Node) -> Node:
    """Wrap a node so that its update also records the transition that led to it."""

    def run(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        update = dict(node(state, runtime) or {})
        source = state.get("last_node", START)
        if source == "evaluate":
            why = decide(state, runtime.context.settings, runtime.context.maximize)[1]
        elif source == "advise":
            why = decide_after_advise(state)[1]
        else:
            why = "fixed edge" if source != START else "session start"
        iteration = len(state.get("trials", []))
        step = Transition(iteration=iteration, source=source, target=name, why=why)
        return {**update, "transitions": [step], "last_node": name}

    run.__name__ = name
    return run


def build_graph(nodes: Mapping[str, Node], checkpointer: Any = None) -> Any:
    """Wire the given nodes (one per name in ``NODE_NAMES``) into the compiled LGT graph."""
    missing = [n for n in NODE_NAMES if n not in nodes]
    if missing:
        raise ValueError(f"build_graph needs the nodes {', '.join(missing)}")
    graph = StateGraph(State, context_schema=Context)
    for name in NODE_NAMES:
        graph.add_node(name, recorded(name, nodes[name]))  # type: ignore[call-overload]
    graph.add_edge(START, "train")
    graph.add_edge("train", "evaluate")
    graph.add_conditional_edges(
        "evaluate",
        route_after_evaluate,
        {"finalize": "finalize", "rollback": "rollback", "optimize": "optimize"},
    )
    graph.add_edge("rollback", "optimize")
    graph.add_edge("optimize", "advise")
    graph.add_conditional_edges(
        "advise", route_after_advise, {"train": "train", "finalize": "finalize"}
    )
    graph.add_edge("finalize", END)
    return graph.compile(checkpointer=checkpointer, name="lgt")


def make_graph(config: Any = None) -> Any:
    """Build the LGT graph with the built-in nodes: the factory ``langgraph.json`` names.

    LangGraph's CLI and Studio load the graph through it (they bring their own
    checkpointer). A run needs the session's ``Context`` (data, space, tracker, model)
    as the graph's runtime context, which :func:`lgt_graph.session.opening.open_session`
    builds.
    """
    from lgt_graph.graph.registry import resolve

    return build_graph(resolve({}))
