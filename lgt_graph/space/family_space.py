"""The space of one task family: its knobs, with validation, defaults and differences."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from lgt_graph.errors import ConfigError
from lgt_graph.space.knob import (
    DIMENSIONS,
    Change,
    Config,
    Dimension,
    Family,
    Knob,
    Value,
    did_you_mean,
)


class Space:
    """The knobs of one task family, with validation, defaults and differences."""

    def __init__(self, family: Family, knobs: Iterable[Knob]) -> None:
        self.family = family
        self.knobs: dict[str, Knob] = {}
        for knob in knobs:
            if knob.name in self.knobs:
                raise ValueError(f"knob {knob.name!r} declared twice in the {family} space")
            knob.validate(knob.default)
            self.knobs[knob.name] = knob
        order = list(self.knobs)
        for knob in self.knobs.values():
            if knob.when is None or knob.when[0] not in self.knobs:
                continue
            # configurations are drawn in declaration order: the value a knob hangs on first
            if order.index(knob.when[0]) > order.index(knob.name):
                raise ValueError(f"knob {knob.name!r} is declared before {knob.when[0]!r}")
            for value in knob.when[1]:  # a misspelt value would silence the knob for good
                self.knobs[knob.when[0]].validate(value)

    def __contains__(self, name: object) -> bool:
        return name in self.knobs

    def __getitem__(self, name: str) -> Knob:
        try:
            return self.knobs[name]
        except KeyError:
            hint = did_you_mean(name, list(self.knobs))
            raise ConfigError(
                f"unknown knob {name!r} for the {self.family} space{hint}; "
                f"knobs: {', '.join(self.knobs)}"
            ) from None

    def default(self) -> Config:
        """Return the default configuration: the plain, untuned start (the NoTuning baseline)."""
        return {name: knob.default for name, knob in self.knobs.items()}

    def validate(self, config: Mapping[str, object]) -> Config:
        """Return a complete, typed configuration; missing knobs take their defaults."""
        out = self.default()
        for name, value in config.items():
            out[name] = self[name].validate(value)
        return out

    def apply(self, base: Mapping[str, Value], changes: Mapping[str, object]) -> Config:
        """Return ``base`` with ``changes`` applied, every change validated."""
        return self.validate({**base, **changes})

    def parse_assignments(self, assignments: Iterable[str]) -> dict[str, Value]:
        """Parse ``knob=value`` strings (the ``--set`` flag) into validated values."""
        out: dict[str, Value] = {}
        for item in assignments:
            name, sep, text = item.partition("=")
            if not sep or not name.strip():
                raise ConfigError(f"--set expects knob=value, got {item!r}")
            knob = self[name.strip()]
            out[knob.name] = knob.parse(text)
        return out

    def narrowed(self, limits: Mapping[str, Sequence[float]]) -> Space:
        """Return the space with numeric ranges narrowed to ``(low, high)`` (``--limit``).

        Every method of a comparison searches the same narrowed space, e.g. fewer
        epochs for images on a CPU; a default outside the new range moves to its edge.
        """
        unknown = set(limits) - set(self.knobs)
        if unknown:
            self[sorted(unknown)[0]]  # raises the unknown-knob error
        knobs = []
        for knob in self.knobs.values():
            if knob.name in limits:
                if knob.kind not in ("int", "float"):
                    raise ConfigError(f"--limit {knob.name}: only numeric knobs have bounds")
                assert knob.low is not None and knob.high is not None
                low, high = (float(x) for x in limits[knob.name])
                if not knob.low <= low <= high <= knob.high:
                    raise ConfigError(
                        f"--limit {knob.name}={low:g}:{high:g} is not within {knob.allowed()}"
                    )
                cast = int if knob.kind == "int" else float
                default = min(max(float(knob.default), low), high)
                knob = replace(knob, low=cast(low), high=cast(high), default=cast(default))
            knobs.append(knob)
        return Space(self.family, knobs)

    def with_defaults(self, start: Mapping[str, object]) -> Space:
        """Return the space whose default configuration has ``start``'s values (``--set``).

        Every method of a session starts from the default configuration, so moving it
        moves every method's first trial alike. Values may be command-line text.
        """
        unknown = set(start) - set(self.knobs)
        if unknown:
            self[sorted(unknown)[0]]  # raises the unknown-knob error
        knobs = []
        for knob in self.knobs.values():
            if knob.name in start:
                value = start[knob.name]
                typed = knob.parse(value) if isinstance(value, str) else knob.validate(value)
                knob = replace(knob, default=typed)
            knobs.append(knob)
        return Space(self.family, knobs)

    def without(self, names: Iterable[str]) -> Space:
        """Return the space without some knobs (a configuration then takes their defaults)."""
        dropped = set(names)
        return Space(self.family, [k for k in self.knobs.values() if k.name not in dropped])

    def live(self) -> list[Knob]:
        """Return the knobs that may change between epochs of one training run."""
        return [k for k in self.knobs.values() if k.live]

    def by_dimension(self) -> dict[Dimension, list[Knob]]:
        """Group the knobs by dimension, in declaration order."""
        groups: dict[Dimension, list[Knob]] = {d: [] for d in DIMENSIONS}
        for knob in self.knobs.values():
            groups[knob.dimension].append(knob)
        return groups

    def active(self, config: Mapping[str, Value]) -> list[Knob]:
        """Return the knobs that the configuration actually reads (its model, their ``when``)."""
        return [k for k in self.knobs.values() if k.active_in(config)]

    def changed(self, config: Mapping[str, Value]) -> list[Change]:
        """Name the knobs ``config`` reads whose values differ from the default configuration.

        A knob the configuration does not read (momentum under adam) trains nothing
        differently, whatever value it was left at.
        """
        read = {k.name for k in self.active(config)}
        return [c for c in diff(self.default(), config) if c.knob in read]

    def describe(self) -> str:
        """Render the space as text, one knob a line, grouped by dimension.

        ``[live]`` marks the knobs that may change between the epochs of one run.
        """
        lines = []
        for dimension, knobs in self.by_dimension().items():
            lines.append(f"[{dimension}]")
            lines.extend(f"  {k.describe()}{' [live]' if k.live else ''}" for k in knobs)
        return "\n".join(lines)


def diff(a: Mapping[str, Value], b: Mapping[str, Value]) -> list[Change]:
    """Name the knobs whose values differ from ``a`` to ``b``, in ``a``'s order."""
    names = list(a) + [n for n in b if n not in a]
    return [Change(n, a.get(n), b.get(n)) for n in names if a.get(n) != b.get(n)]


def config_key(config: Mapping[str, Value]) -> str:
    """Return a canonical text form of a configuration, equal for equal configurations."""
    return json.dumps({k: config[k] for k in sorted(config)}, separators=(",", ":"))
