"""The state of a tuning session: what evolves as the graph runs, checkpointed after each step.

Lists only grow, through their declared reducers; nodes return partial updates and never
mutate what they read. Everything derived (the best trial, the changes that hurt) is
computed from these lists by :mod:`lgt_graph.history`, never stored twice.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, NotRequired, TypedDict

from langgraph.channels.delta import DeltaChannel

from lgt_graph.space import Config, Value


class ChangeRecord(TypedDict):
    """One knob changed by a proposal, and why."""

    knob: str
    old: Value | None
    new: Value
    reason: str


class ProposalRecord(TypedDict):
    """A proposal as applied: the changes to the base trial's configuration."""

    for_trial: int
    base: int | None
    changes: list[ChangeRecord]
    rationale: str
    expected_effect: str
    status: str
    """How it was obtained: ok, repaired (after one error was sent back), or fallback: why."""
    expected_gain: NotRequired[float | None]
    """The gain over the base the Advisor expects (positive: better); None: not said."""
    expected_outcome: NotRequired[str | None]
    """improve, neutral or regress: the verdict the Advisor expects; None: not said."""
    probability: NotRequired[float | None]
    """How likely the Advisor said ``expected_outcome`` is (scored in agents/predictions.py)."""
    forecast: NotRequired[dict[str, float] | None]
    """The chance of each verdict (improve, neutral, regress) where the Advisor gave them."""
    exploratory: NotRequired[bool]
    """The change has no evidence behind it; its expected effect says what it will teach."""


class CheckpointRef(TypedDict):
    """A checkpoint file of a training run: where it is, its hash, and what it holds."""

    path: str
    sha256: str
    epoch: int
    """Epochs the run had trained when the file was written."""
    trial: int | None
    """The segment (a trial of the epoch-level loop) that wrote it."""
    branch: str
    """candidate (the proposed configuration) or control (the current one)."""
    score: float | None
    """The validation primary metric of the saved state."""


class Branch(TypedDict):
    """The control branch of a paired segment: the current configuration, same start."""

    status: str
    reason: str
    score: float | None
    metrics: dict[str, float]
    curves: dict[str, list[float]]
    steps: list[int]
    checkpoint: CheckpointRef | None
    wall_time: NotRequired[float]
    """The control branch's seconds (the segment's trial counts both branches')."""


class Segment(TypedDict):
    """How a trial of the epoch-level loop continued the run, and what it is judged against."""

    start: CheckpointRef | None
    """The checkpoint both branches started from; None for the run's first segment."""
    start_epoch: int
    epochs: int
    paired: bool
    control: Branch | None
    reference: float | None
    """The score the candidate is judged against: the control's (paired), or the score at
    the start checkpoint (unpaired); None for the first segment."""
    reference_is: str
    """control, start or none."""
    cost: int
    """Epochs trained by this segment, both branches counted."""
    note: str
    floor: NotRequired[float | None]
    """A paired segment's noise floor: the standard error of the difference of the two
    branches' scores on the same validation rows (``metrics.paired_standard_error``)."""


class Trial(TypedDict):
    """One pass through the train node: the unit every method's budget counts.

    In the epoch-level loop a trial is a segment of one continuing run (``segment``
    says how); its result is the candidate branch's.
    """

    index: int
    config: Config
    base: int | None
    changes: list[ChangeRecord]
    result: dict[str, Any]
    """TrialResult.to_dict(): curves, validation metrics, status, diagnostics."""
    score: float | None
    """The validation primary metric; None when the trial failed."""
    prompt_version: int
    timestamp: int
    """Milliseconds since the epoch when the trial ended; written with its MLflow records."""
    segment: NotRequired[Segment]
    round: NotRequired[int]
    """The first trial of the parallel round this trial trained in (``--workers`` above 1)."""


class RoundMember(TypedDict):
    """A proposal of a parallel round trained beside the state's ``config``."""

    config: Config
    base: int | None
    changes: list[ChangeRecord]


class Taken(TypedDict):
    """A configuration the next proposal must not repeat, though no trial of the state has it."""

    trial: int
    """The trial that holds it."""
    config: Config
    why: str
    """Why it is taken: the trial is still running, say."""


class VerdictRecord(TypedDict):
    """The Evaluator's judgement of one trial."""

    trial: int
    outcome: str
    delta: float
    diagnosis: str
    suggestions: list[str]
    status: str
    floor: NotRequired[float]
    """The noise floor the gain was judged against (none under ``--tolerance``)."""
    prediction: NotRequired[dict[str, Any]]
    """Whether the Advisor's expected effect came true (see :mod:`lgt_graph.agents.noise`)."""


class PromptVersion(TypedDict):
    """One version of the Advisor's guidance, as the Optimizer rewrote it."""

    version: int
    guidance: str
    why: str
    after_trial: int
    status: str
    patience: NotRequired[int]
    """The epoch-level Advisor's patience this version sets (see :mod:`lgt_graph.epoch.guards`)."""


class Transition(TypedDict):
    """One edge the graph took: from which node to which, at which trial, and why."""

    iteration: int
    source: str
    target: str
    why: str


class AgentCall(TypedDict):
    """One agent's exchange with the chat model: how it ended and what it cost."""

    agent: str
    trial: int
    status: str
    attempts: int
    input_tokens: int
    output_tokens: int
    error: str
    prompt_tokens: NotRequired[int]
    """The prompt's tokens by the model's tokenizer, before sending (0: not measured)."""
    fit: NotRequired[str]
    """What was left out of the prompt to fit the model's context window."""
    mode: NotRequired[str]
    """The structured-output mode of the last request ('' : the built-in model's own)."""
    notes: NotRequired[list[str]]
    """Modes the server refused and windows learned during this call, in order."""
    seconds: NotRequired[float]


def extend(current: list[Any] | None, writes: Sequence[list[Any]]) -> list[Any]:
    """Append every write's items, in order: the reducer of the growing lists."""
    out = list(current or [])
    for items in writes:
        out.extend(items)
    return out


def _history(snapshot_every: int = 50) -> DeltaChannel[Any]:
    # Checkpoints store only each step's new items and replay them on load, instead of
    # re-serialising a session's whole history (trials hold their curves) at every step.
    return DeltaChannel(extend, snapshot_frequency=snapshot_every)


class State(TypedDict, total=False):
    """The whole session, as LangGraph checkpoints it."""

    trials: Annotated[list[Trial], _history()]
    proposals: Annotated[list[ProposalRecord], _history()]
    verdicts: Annotated[list[VerdictRecord], _history()]
    prompts: Annotated[list[PromptVersion], operator.add]
    transitions: Annotated[list[Transition], _history()]
    agent_calls: Annotated[list[AgentCall], _history()]
    config: Config
    """The configuration the next train step fits."""
    base: int | None
    """The trial whose configuration ``config`` changes (None for the default start)."""
    pending_changes: list[ChangeRecord]
    """The changes that turned the base configuration into ``config``."""
    round: list[RoundMember]
    """The round's other proposals, trained side by side with ``config`` (``--workers`` N:
    up to N - 1 of them; never set with one worker)."""
    taken: list[Taken]
    """Configurations the next proposal must differ from beyond the trials': those of trials
    still running beside it (an Optuna study's other workers, ``n_jobs``). Set by
    LGTSampler; the graph's own parallel rounds are proposed together and never need it."""
    exhausted: str
    """Why the Advisor has nothing left to propose (a searcher ran out); the graph finalizes."""
    searcher: dict[str, Any]
    """A baseline's searcher as it was first built (method, budget), so a resumed session
    rebuilds the very same searcher even when ``--resume`` changes the budget."""
    run: dict[str, Any]
    """The epoch-level loop's training run, as checkpoint references (never tensors):
    ``current`` (what the next segment continues), ``fallback`` (what a rollback restores),
    ``best`` (the best state so far, with its score and trial), ``epochs_trained`` (every
    branch counted), ``improved_at`` (the trial that last moved the best by more than
    ``--min-delta``) and ``cost`` (epochs a proposal costs: 2 segments when paired)."""
    last_node: str
    """The node that ran last, so each transition knows where it came from."""
    final: dict[str, Any]
    """The refit of the best configuration and its test metrics."""


def applied(state: State, update: Mapping[str, Any]) -> State:
    """Return the state after a node's update: growing lists extended, the rest replaced."""
    out: dict[str, Any] = dict(state)
    for key, value in update.items():
        if key in ("trials", "proposals", "verdicts", "prompts", "agent_calls", "transitions"):
            out[key] = list(out.get(key, [])) + list(value)
        else:
            out[key] = value
    return out  # type: ignore[return-value]
