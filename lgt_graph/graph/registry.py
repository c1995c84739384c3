"""The nodes by name: every graph node has built-in implementations and can be swapped.

``--node advisor=random`` picks a built-in; ``--node advisor=my_pkg.module:MyAdvisor``
imports the user's own (a function ``(state, runtime) -> update``, or a class whose
instances are such callables, instantiated without arguments). Every baseline of
:mod:`lgt_graph.graph.methods` is also an Advisor built-in (``--node advisor=bayes``). This
module is the only one that imports the nodes (``nodes/``, installed as
``lgt_graph.nodes``): everything else asks it for them by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

from lgt_graph.errors import UserError
from lgt_graph.graph.methods import LOOP_NODES, METHODS, method

SLOTS = {
    "train": "train",
    "evaluator": "evaluate",
    "rollback": "rollback",
    "optimizer": "optimize",
    "advisor": "advise",
    "finalize": "finalize",
}
"""Flag name of each swappable role -> the graph node it fills."""

BUILTIN: dict[str, dict[str, str]] = {
    "train": {
        "default": "lgt_graph.nodes.train:train",
        "paired": "lgt_graph.nodes.segment:paired_segment",
        "unpaired": "lgt_graph.nodes.segment:unpaired_segment",
        "nested": "lgt_graph.nodes.segment:nested_trial",
    },
    "evaluator": {
        "llm": "lgt_graph.nodes.evaluator:llm_evaluator",
        "numeric": "lgt_graph.nodes.evaluator:numeric_evaluator",
    },
    "rollback": {
        "default": "lgt_graph.nodes.rollback:rollback",
        "none": "lgt_graph.nodes.rollback:no_rollback",
    },
    "optimizer": {
        "llm": "lgt_graph.nodes.optimizer:llm_optimizer",
        "none": "lgt_graph.nodes.optimizer:frozen_prompt",
    },
    "advisor": {
        "llm": "lgt_graph.nodes.advisor:llm_advisor",
        "random": "lgt_graph.nodes.advisor:random_advisor",
        "keep": "lgt_graph.nodes.schedules:keep",
        "cosine": "lgt_graph.nodes.schedules:cosine",
        "plateau": "lgt_graph.nodes.schedules:Plateau",
        "pbt": "lgt_graph.nodes.population:Population",
        **{
            m.advisor_name: f"lgt_graph.nodes.search:SearchAdvisor?method={m.name}"
            for m in METHODS.values()
            if m.baseline
        },
    },
    "finalize": {
        "default": "lgt_graph.nodes.finalize:finalize",
        "checkpoint": "lgt_graph.nodes.finalize:best_checkpoint",
        "one-se": "lgt_graph.nodes.finalize:one_se",
        "ensemble": "lgt_graph.nodes.finalize:ensemble",
    },
}
"""Each slot's built-ins: ``module:Name``, with ``?key=value`` for a class's arguments."""
DEFAULTS = {slot: next(iter(impls)) for slot, impls in BUILTIN.items()}


def parse_node_flags(flags: Iterable[str]) -> dict[str, str]:
    """Parse ``slot=implementation`` flags; the slot may also be the node's name."""
    by_node = {node: slot for slot, node in SLOTS.items()}
    chosen: dict[str, str] = {}
    for flag in flags:
        slot, sep, impl = flag.partition("=")
        slot = by_node.get(slot.strip(), slot.strip())
        if not sep or not impl.strip():
            raise UserError(f"--node expects slot=implementation, got {flag!r}")
        if slot not in SLOTS:
            raise UserError(f"--node {flag}: unknown slot {slot!r}; slots: {', '.join(SLOTS)}")
        chosen[slot] = impl.strip()
    return chosen


def choices(
    chosen: Mapping[str, str], method_name: str = "lgt", loop: str = "trial"
) -> dict[str, str]:
    """Return every slot's implementation: the chosen ones, the method's, the loop's, defaults."""
    picked = {
        **DEFAULTS,
        **LOOP_NODES.get(loop, {}),
        **method(method_name).node_set(loop),
        **chosen,
    }
    return {slot: picked[slot] for slot in SLOTS}


def resolve(
    chosen: Mapping[str, str], method_name: str = "lgt", loop: str = "trial"
) -> dict[str, Any]:
    """Import the implementation of every slot; return them keyed by graph node name.

    Each call builds new instances of class nodes, so a node that keeps a cache (a
    baseline's searcher) starts afresh for every session.
    """
    out = {}
    for slot, name in choices(chosen, method_name, loop).items():
        short, _, query = name.partition("?")
        target = BUILTIN[slot].get(short)
        if target is not None and query:  # a built-in with arguments: plateau?patience=1
            target += ("&" if "?" in target else "?") + query
        if target is None and ":" not in name:
            known = ", ".join(BUILTIN[slot])
            raise UserError(
                f"--node {slot}={name}: no such built-in; built-ins: {known}, or module:Name"
            )
        out[SLOTS[slot]] = load(target or name, slot)
    return out


def builtin(slot: str, name: str) -> Any:
    """Return a new instance of a built-in node (``builtin("train", "default")``)."""
    return load(BUILTIN[slot][name], slot)


def load(target: str, slot: str) -> Any:
    """Import ``module:Name``; instantiate it if it is a class; check that it is callable."""
    target, _, query = target.partition("?")
    arguments = {}
    for item in filter(None, query.split("&")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--node {slot}={target}?{query}: arguments are ?key=value&key=value")
        arguments[key] = value
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"--node {slot}={target}: cannot import {module_name} ({exc})") from None
    try:
        node = getattr(module, attribute)
    except AttributeError:
        raise UserError(f"--node {slot}={target}: {module_name} has no {attribute!r}") from None
    if isinstance(node, type):
        node = node(**arguments)
    if not callable(node):
        raise UserError(f"--node {slot}={target}: not callable as (state, runtime)")
    return node
