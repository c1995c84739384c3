"""The nodes by name: every graph node has built-in implementations and can be swapped.

``--node advisor=random`` picks a built-in; ``--node advisor=my_pkg.module:MyAdvisor``
imports the user's own (a function ``(state, runtime) -> update``, or a class whose
instances are such callables, instantiated without arguments).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

from lgt_graph.errors import UserError

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
    "train": {"default": "lgt_graph.nodes.train:train"},
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
    },
    "finalize": {"default": "lgt_graph.nodes.finalize:finalize"},
}
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


def choices(chosen: Mapping[str, str]) -> dict[str, str]:
    """Return every slot's implementation name: the chosen ones, defaults for the rest."""
    return {slot: chosen.get(slot, DEFAULTS[slot]) for slot in SLOTS}


def resolve(chosen: Mapping[str, str]) -> dict[str, Any]:
    """Import the implementation of every slot; return them keyed by graph node name."""
    out = {}
    for slot, name in choices(chosen).items():
        target = BUILTIN[slot].get(name)
        if target is None and ":" not in name:
            known = ", ".join(BUILTIN[slot])
            raise UserError(
                f"--node {slot}={name}: no such built-in; built-ins: {known}, or module:Name"
            )
        out[SLOTS[slot]] = load(target or name, slot)
    return out


def load(target: str, slot: str) -> Any:
    """Import ``module:Name``; instantiate it if it is a class; check that it is callable."""
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
        node = node()
    if not callable(node):
        raise UserError(f"--node {slot}={target}: not callable as (state, runtime)")
    return node
