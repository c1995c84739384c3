"""Whether an Advisor's proposal fits the space, and a random change when it does not.

:func:`check_proposal` applies a proposal to its base configuration and rejects knobs
outside the space, values out of range, knobs the model does not read, no-ops and
repeats (a :class:`ProposalError` is sent back to the model once); :func:`random_change`
is the fallback when the model's second answer fails too.
"""

from __future__ import annotations

import random

from lgt_graph.agents.schemas import Proposal
from lgt_graph.space import Config, Space, Value, config_key
from lgt_graph.state import ChangeRecord


class ProposalError(ValueError):
    """A proposal that names knobs or values outside the space, or changes nothing new."""


def check_proposal(
    proposal: Proposal, space: Space, base: Config, tried: dict[str, int], live: bool = False
) -> tuple[Config, list[ChangeRecord]]:
    """Apply a proposal to ``base``; reject unknown knobs, bad values, no-ops and repeats.

    ``tried`` maps the key of every configuration trained so far to its trial. With
    ``live`` (the epoch-level loop) only live knobs may change, and no change at all
    means: continue the run as it is.
    """
    values: dict[str, Value] = {}
    reasons: dict[str, str] = {}
    for change in proposal.changes:
        knob = space[change.knob]
        if live and not knob.live:
            raise ProposalError(
                f"{knob.name} cannot change in the middle of a training run ({knob.dimension});"
                f" only these live knobs can: {', '.join(k.name for k in space.live())}"
            )
        if knob.name in values:
            raise ProposalError(f"knob {knob.name!r} is changed twice")
        value = change.value
        if isinstance(value, str) and knob.kind != "choice":
            value = knob.parse(value)
        values[knob.name] = knob.validate(value)
        reasons[knob.name] = change.reason
    config = space.apply(base, values)
    model = str(config.get("model", ""))
    idle = [n for n in values if n != "model" and not space[n].active_in(config)]
    if idle:
        raise ProposalError(
            f"the configuration (model {model!r}) does not read {', '.join(idle)}; change"
            f" knobs it uses ({', '.join(k.name for k in space.active(config))})"
        )
    changes = [
        ChangeRecord(knob=n, old=base.get(n), new=v, reason=reasons[n])
        for n, v in values.items()
        if base.get(n) != v
    ]
    if not changes and live and not values:
        return config, []  # continue the run unchanged
    if not changes:
        raise ProposalError("the proposal changes nothing: every value equals the base's")
    key = config_key(config)
    if key in tried:
        raise ProposalError(f"this configuration was already tried (trial {tried[key]})")
    return config, changes


def random_change(
    space: Space,
    base: Config,
    tried: dict[str, int],
    seed: int,
    max_knobs: int = 2,
    live: bool = False,
) -> tuple[Config, list[ChangeRecord]]:
    """Change one or two knobs the model reads (live ones only, mid-run) at random; no repeat."""
    rng = random.Random(seed)
    for _ in range(500):
        names = [k.name for k in space.active(base) if k.live or not live]
        picked = rng.sample(names, k=min(len(names), rng.randint(1, max_knobs)))
        values = {n: space[n].sample(rng) for n in picked}
        config = space.apply(base, values)
        changes = [
            ChangeRecord(
                knob=n, old=base.get(n), new=v, reason="random change (no language guidance)"
            )
            for n, v in values.items()
            if base.get(n) != v
        ]
        if changes and config_key(config) not in tried:
            return config, changes
    raise RuntimeError("no untried configuration found by random changes")
