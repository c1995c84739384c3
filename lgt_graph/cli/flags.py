"""The values of repeatable flags: ``--limit``, ``--set``, ``--drop``, read into settings."""

from __future__ import annotations

from collections.abc import Sequence

from lgt_graph.errors import UserError


def parse_limits(flags: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Parse ``--limit knob=MAX`` or ``knob=MIN:MAX`` flags into (low, high) ranges."""
    from lgt_graph.space import FAMILIES, space_for

    limits = {}
    for flag in flags:
        name, sep, value = flag.partition("=")
        name = name.strip()
        spaces = [space_for(f) for f in FAMILIES if name in space_for(f)]
        if not sep:
            raise UserError(f"--limit expects knob=MAX or knob=MIN:MAX, got {flag!r}")
        if not spaces:
            numeric = sorted(
                {
                    k.name
                    for f in FAMILIES
                    for k in space_for(f).knobs.values()
                    if k.kind in ("int", "float")
                }
            )
            raise UserError(
                f"--limit {flag}: unknown knob {name!r}; numeric knobs: {', '.join(numeric)}"
            )
        low_text, colon, high_text = value.partition(":")
        try:
            low = float(low_text) if colon else float(spaces[0][name].low or 0)
            high = float(high_text if colon else value)
        except ValueError:
            raise UserError(f"--limit expects knob=MAX or knob=MIN:MAX, got {flag!r}") from None
        limits[name] = (low, high)
    return limits


def parse_start(flags: Sequence[str]) -> dict[str, str]:
    """Parse ``--set knob=value`` flags into text values (the task's space types them)."""
    start: dict[str, str] = {}
    for flag in flags:
        name, sep, value = flag.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UserError(f"--set expects knob=value, got {flag!r}")
        start[name.strip()] = value.strip()
    return start


def parse_drop(flags: Sequence[str]) -> tuple[str, ...]:
    """Read ``--drop a,b --drop c`` into the column names, in order, each once."""
    names = [n.strip() for flag in flags for n in flag.split(",") if n.strip()]
    return tuple(dict.fromkeys(names))
