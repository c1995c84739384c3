"""langgraph.json names a factory that LangGraph's CLI and Studio can load the graph from."""

import importlib.util
import json
from pathlib import Path

from lgt_graph.context import Context
from lgt_graph.graph.build import NODE_NAMES

ROOT = Path(__file__).parents[1]


def test_the_entry_in_langgraph_json_builds_and_compiles_the_graph():
    spec = json.loads((ROOT / "langgraph.json").read_text())
    assert spec["dependencies"] == ["."]
    path, _, attr = spec["graphs"]["lgt"].partition(":")
    # load the file by path, as the LangGraph CLI does
    module_spec = importlib.util.spec_from_file_location("lgt_entry", ROOT / path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    graph = getattr(module, attr)()
    drawn = graph.get_graph()
    assert set(drawn.nodes) == {"__start__", "__end__", *NODE_NAMES}
    edges = {(e.source, e.target) for e in drawn.edges}
    assert {("train", "evaluate"), ("rollback", "optimize"), ("advise", "train")} <= edges
    assert {("evaluate", "rollback"), ("evaluate", "finalize"), ("finalize", "__end__")} <= edges
    assert ("advise", "finalize") in edges  # a baseline's searcher may run out
    assert graph.context_schema is Context
    assert graph.name == "lgt"
