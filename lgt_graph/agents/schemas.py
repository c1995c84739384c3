"""What the agents answer: a proposal, a verdict, a prompt rewrite (pydantic, structured output).

The schemas bound sizes so that a runaway reply is rejected, not stored; whether a
proposal's knobs and values fit the space is checked afterwards against the space
(:func:`lgt_graph.agents.proposal_checks.check_proposal`), and the error is sent back to the
model once.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Value = bool | int | float | str


class KnobChange(BaseModel):
    """One change to the configuration, with the diagnosis that calls for it."""

    knob: str = Field(description="Name of a knob of the configuration space.", max_length=64)
    value: Value = Field(description="New value, within the knob's range or choices.")
    reason: str = Field(
        description="Why: what the curves or the history show that this change should fix.",
        min_length=3,
        max_length=800,
    )


MAX_CHANGES = 4
"""The most changes one proposal may make: few enough that the Evaluator can credit each."""


class Forecast(BaseModel):
    """The chance of each verdict a proposal can get against the noise floor (they sum to 1)."""

    improve: float = Field(ge=0.0, le=1.0, description="A gain that clears the noise floor.")
    neutral: float = Field(ge=0.0, le=1.0, description="A change within the noise floor.")
    regress: float = Field(ge=0.0, le=1.0, description="A loss beyond it, or a failure.")


class Proposal(BaseModel):
    """The Advisor's proposal: the next configuration as changes to a base one."""

    changes: list[KnobChange] = Field(
        description="One to four changes to apply to the base configuration (between epochs"
        " of one run, an empty list continues the run unchanged).",
        min_length=0,
        max_length=MAX_CHANGES,
    )
    rationale: str = Field(
        description="The diagnosis behind the whole proposal, in a few sentences.",
        min_length=3,
        max_length=1500,
    )
    expected_effect: str = Field(
        description="What should happen to the curves and the validation metric.",
        min_length=3,
        max_length=800,
    )
    expected_gain: float | None = Field(
        default=None,
        description="How much the validation primary metric should improve on the base"
        " trial's, in the metric's units, positive for better (0.02: two points of"
        " accuracy); 0 when the change should only save time; null when you cannot say.",
    )
    expected_outcome: Literal["improve", "neutral", "regress"] | None = Field(
        default=None,
        description="The verdict you expect against the noise floor: improve (a gain that"
        " clears it), neutral (within it) or regress.",
    )
    probability: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="How likely expected_outcome is, from 0 to 1; scored against the verdicts.",
    )
    forecast: Forecast | None = Field(
        default=None,
        description="Optional: the chance of each verdict, summing to 1 (scored in place of"
        " probability's even split of the rest).",
    )
    exploratory: bool = Field(
        default=False,
        description="True when no evidence calls for the change (an untried model family, a"
        " sweep): expected_effect then says what its result will teach.",
    )
    start_from: Literal["current", "best"] = Field(
        default="current",
        description="Apply the changes to the current base configuration, or go back to the"
        " best configuration so far and apply them there.",
    )


MAX_ROUND = 64
"""The most proposals one round may hold (``--workers``)."""


class ProposalBatch(BaseModel):
    """A round of distinct proposals, trained side by side (``--workers`` N asks for N)."""

    proposals: list[Proposal] = Field(
        description="As many proposals as asked for, each its own diagnosis and changes;"
        " no two may give the same configuration.",
        min_length=1,
        max_length=MAX_ROUND,
    )


class Verdict(BaseModel):
    """The Evaluator's judgement of a trial, with the textual gradient."""

    outcome: Literal["improved", "regressed", "neutral", "failed"] = Field(
        description="improved: better than the best so far; regressed: worse than the best"
        " beyond tolerance; failed: the trial has no score; neutral: otherwise."
    )
    delta: float = Field(
        description="Validation primary metric minus the best before this trial (positive is"
        " higher, whatever the direction)."
    )
    diagnosis: str = Field(
        description="The textual gradient: what the curves say about the configuration and"
        " which change caused what.",
        min_length=3,
        max_length=2000,
    )
    suggestions: list[str] = Field(
        default_factory=list,
        description="Up to five concrete next changes, each written as knob=value: reason.",
        max_length=5,
    )


class PromptRewrite(BaseModel):
    """The Optimizer's new guidance for the Advisor, distilled from what worked."""

    guidance: str = Field(
        description="Guidance for the Advisor as short lines: 'Prefer: ...', 'Avoid: ...',"
        " 'Try next: ...', each naming knobs and what the history says about them.",
        min_length=3,
        max_length=2000,
    )
    why: str = Field(
        description="What in the history led to this rewrite.", min_length=3, max_length=800
    )
    patience: int | None = Field(
        default=None,
        description="Epoch-level loop only: how many segments the run trains on without a"
        " proposal once the recent paired changes all sat inside their noise floor (0: never"
        " wait); null keeps the current patience.",
        ge=0,
        le=20,
    )
