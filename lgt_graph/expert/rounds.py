"""The heuristic Advisor's parallel round: several distinct proposals from one reading."""

from __future__ import annotations

from typing import Any

from lgt_graph.expert.advisor import digest, plan, random_step, written


def propose_round(facts: dict[str, Any], attempt: int = 1) -> dict[str, Any]:
    """Return a ProposalBatch (as a dict): the round's size of the best distinct proposals.

    The ranked ideas in order (a second attempt starts one further on), then small
    random steps when the ideas run out; no two proposals give the same configuration.
    """
    wanted = int(facts.get("round_size", 1))
    ranked = plan(facts)
    picked = ranked.usable[attempt - 1 : attempt - 1 + wanted]
    taken = ranked.tried | {digest({**ranked.base, **c}) for _, c in picked}
    seed = len(facts.get("history", [])) * 1000 + attempt
    while len(picked) < wanted:
        step = random_step(ranked.base, ranked.knobs, taken, seed + len(picked))
        taken.add(digest({**ranked.base, **step[1]}))
        picked.append(step)
    return {"proposals": [written(ranked, c, changes, facts) for c, changes in picked]}
