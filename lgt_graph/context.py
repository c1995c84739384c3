"""What is fixed for a tuning session: its settings, and the resources built from them.

Settings resolve with the precedence explicit argument > environment variable >
default (``Settings.resolve``). The context handed to the graph (LangGraph's
``context_schema``) carries the settings plus what they open: the data, the
space, the tracker and the chat model. Only the CLI builds a context.
It is long because every setting is declared here once, with its meaning and its check.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from lgt_graph.agents.experience import store_uri
from lgt_graph.errors import UserError
from lgt_graph.evaluation.metrics import DIRECTIONS
from lgt_graph.graph.methods import LOOPS, check_installed, method
from lgt_graph.settings_env import ENV, coerce

EXECUTORS = ("local", "ray")
"""Where trials run (``--executor``): this process, or Ray tasks (:mod:`lgt_graph.executors`)."""
DEVICES = ("auto", "cpu", "cuda")
"""Where nets may train (``--device``): auto is CUDA when torch sees a GPU, else the CPU."""
TOLERANCE = 0.01
"""The fraction of the best a loss may reach and stay neutral, where no noise floor applies."""
TRIAL_CAP = 1000
"""The trial budget of a trial-loop session budgeted in epochs or seconds alone."""


@dataclass(frozen=True)
class Settings:
    """A tuning session's settings: what the user chose, recorded with the session."""

    task: str
    target: str | None = None
    problem: str | None = None
    drop: Sequence[str] = ()
    """Columns of a CSV task left out (``--drop``)."""
    metric: str | None = None
    """The primary metric (``--metric``); None: chosen from the data (``default_metric``)."""
    method: str = "lgt"
    """A row of :data:`lgt_graph.graph.methods.METHODS`: LGT, a variant of it, or a baseline."""
    loop: str = "trial"
    """trial: each trial trains from scratch; epoch: trials are segments of one run."""
    segment: int = 1
    """Epochs per segment of the epoch-level loop (``--segment``)."""
    keep_checkpoints: bool = False
    """Keep every segment's checkpoint, not only those the run can still go back to
    (``--keep-checkpoints``): to branch from any point of the run later."""
    start: Mapping[str, Any] = field(default_factory=dict)
    """Knob values of the default configuration every method starts from (``--set``)."""
    budget: int = 10
    """Trials of the trial loop; epochs trained, every branch counted, of the epoch-level
    loops (``--budget``). See :mod:`lgt_graph.graph.budgets` for every budget."""
    budget_epochs: int | None = None
    """Epochs trained over the session, every trial's counted (``--budget-epochs``)."""
    budget_seconds: float | None = None
    """Seconds of training over the session, every trial's wall time (``--budget-seconds``)."""
    patience: int | None = None
    min_delta: float = 0.0
    stop_at: float | None = None
    tolerance: float | None = None
    """None: the Evaluator judges gains against the noise floor of the validation metric
    (:func:`lgt_graph.evaluation.metrics.noise_floor`); a number (``--tolerance``): any gain
    improves,
    and a trial worse than the best by more than this fraction of it regressed."""
    seed: int = 0
    llm: str = "heuristic"
    base_url: str | None = None
    structured_output: str = "auto"
    """The structured-output mode tried first; a server that refuses it gets the next
    (:mod:`lgt_graph.llm.structured`). auto: function calling first."""
    context_window: int | None = None
    """The model's context window in tokens (``--context-window``): prompts are shortened
    to fit it. None: the local server's own, or unknown until a server reports one."""
    timeout: float = 120.0
    max_retries: int = 3
    experience: str = "none"
    """Lessons the agents read (:mod:`lgt_graph.agents.experience`): none, auto, a store or file."""
    on_endpoint_error: str = "stop"
    """stop: save the session and exit when the LLM endpoint stays down; fallback: carry on."""
    llm_share: float | None = None
    """The hybrid Advisor's share of trials proposed by the agents (``--llm-share``; 0.25)."""
    stall: int | None = None
    """The hybrid's sampler trials without a gain that hand the agents a turn (``--stall``; 5)."""
    follow: bool = True
    """The hybrid: the agents also propose after a trial of theirs that improved the best."""
    executor: str = "local"
    """Where trials run: ``local`` (this process) or ``ray`` (``--executor``)."""
    ray_address: str | None = None
    """An existing Ray cluster (``--ray-address``); None: a local instance of the session."""
    cpus_per_trial: float = 1.0
    """CPUs a Ray task of one trial declares (``--cpus-per-trial``); its training threads."""
    gpus_per_trial: float = 0.0
    """GPUs a Ray task of one trial declares (``--gpus-per-trial``)."""
    workers: int = 1
    """Trials trained side by side in a round (``--workers``; above 1 needs ``--executor ray``)."""
    nodes: Mapping[str, str] = field(default_factory=dict)
    """Node choices over the method's (``--node slot=implementation``)."""
    max_train_samples: int | None = None
    threads: int | None = None
    """Threads per trial (``--threads``); None: the CPUs this process may use."""
    device: str = "auto"
    """Where nets train (``--device``): auto (CUDA when torch sees a GPU, else the CPU), cpu or
    cuda. Scikit-learn models (linear, gbm, random_forest) always fit on the CPU."""
    amp: bool = False
    """Train nets in mixed precision (``--amp``): bfloat16 autocast, or float16 with a gradient
    scaler on a CUDA GPU without bfloat16."""
    limits: Mapping[str, Sequence[float]] = field(default_factory=dict)
    """Narrowed (low, high) ranges of numeric knobs (``--limit epochs=10``), for every method."""
    data_dir: str | None = None
    tracking_uri: str | None = None
    experiment: str | None = None

    @classmethod
    def resolve(cls, **explicit: Any) -> Settings:
        """Build settings: explicit arguments, then environment variables, then defaults."""
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, spec in known.items():
            given = explicit.get(name)
            if given is not None:
                values[name] = given
            elif name in ENV and os.environ.get(ENV[name]):
                values[name] = coerce(name, os.environ[ENV[name]], spec.default)
        unknown = set(explicit) - set(known)
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        if "budget" not in values:  # budgeted in epochs or seconds alone
            values["budget"] = _implied_budget(values)
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Reject settings no session can run with."""
        if self.loop not in LOOPS:
            raise UserError(f"--loop must be one of {', '.join(LOOPS)}, got {self.loop!r}")
        method(self.method).node_set(self.loop)  # a method that cannot run this loop says so
        check_installed(self.method)  # a missing extra is one line, before anything loads
        if method(self.method).peer is not None and self.budget_seconds is None:
            raise UserError(
                f"method {self.method} runs {method(self.method).title} for a time: give"
                " --budget-seconds (its time limit; in a comparison, every method's seconds)"
            )
        if not 0 <= self.seed < 2**32:
            raise UserError(f"--seed must be an integer from 0 to 2**32 - 1, got {self.seed}")
        if self.metric is not None and self.metric not in DIRECTIONS:
            raise UserError(f"--metric must be one of {', '.join(DIRECTIONS)}, got {self.metric!r}")
        if self.llm_share is not None and not 0 < self.llm_share <= 1:
            raise UserError(f"--llm-share must be in (0, 1], got {self.llm_share}")
        if self.stall is not None and self.stall < 1:
            raise UserError(f"--stall must be at least 1 trial, got {self.stall}")
        if self.experience not in ("auto", "none"):
            store_uri(self.experience)  # a missing store or lessons file: one line, now
        if self.threads is not None and self.threads < 1:
            raise UserError(f"--threads must be at least 1, got {self.threads}")
        if self.executor not in EXECUTORS:
            raise UserError(f"--executor must be local or ray, got {self.executor!r}")
        if self.executor == "ray" and self.loop == "both":
            raise UserError(
                "--executor ray runs trials, or --loop epoch's segment branches, on workers;"
                " --loop both runs an epoch-level graph inside each trial: use --executor local"
            )
        if self.executor == "ray" and method(self.method).options.get("pruner"):
            raise UserError(
                f"--method {self.method} prunes each trial epoch by epoch in this process;"
                " --executor ray runs whole trials on workers: use --executor local"
            )
        if self.workers < 1 or (
            self.workers > 1 and (self.executor, self.loop) != ("ray", "trial")
        ):
            raise UserError(
                f"--workers {self.workers}: rounds of trials train side by side as Ray tasks;"
                " give at least 1, and with more than 1 add --executor ray (trial loop only)"
            )
        if not self.cpus_per_trial > 0 or self.gpus_per_trial < 0:
            raise UserError(
                "--cpus-per-trial must be above 0 and --gpus-per-trial at least 0, got"
                f" {self.cpus_per_trial:g} and {self.gpus_per_trial:g}"
            )
        if self.device not in DEVICES:
            raise UserError(f"--device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.segment < 1:
            raise UserError(f"--segment must be at least 1 epoch, got {self.segment}")
        if self.budget < 1:
            raise UserError(f"--budget must be at least 1 {self.unit}, got {self.budget}")
        if self.budget_epochs is not None and self.budget_epochs < 1:
            raise UserError(f"--budget-epochs must be at least 1, got {self.budget_epochs}")
        if self.budget_seconds is not None and not self.budget_seconds > 0:
            raise UserError(f"--budget-seconds must be positive, got {self.budget_seconds}")
        if self.patience is not None and self.patience < 1:
            raise UserError(f"--patience must be at least 1 trial, got {self.patience}")
        if self.min_delta < 0 or (self.tolerance is not None and self.tolerance < 0):
            raise UserError("--min-delta and --tolerance must not be negative")
        if self.structured_output not in ("auto", "function_calling", "json_schema", "json_mode"):
            raise UserError(
                "--structured-output must be auto, function_calling, json_schema or json_mode"
            )
        if self.context_window is not None and self.context_window < 512:
            raise UserError(
                f"--context-window must be at least 512 tokens, got {self.context_window}"
            )
        if self.on_endpoint_error not in ("stop", "fallback"):
            raise UserError("--on-endpoint-error must be stop or fallback")
        if self.timeout <= 0 or self.max_retries < 0:
            raise UserError("--timeout must be positive and --max-retries not negative")

    @property
    def tolerance_fraction(self) -> float:
        """Return ``--tolerance``, or the 1 % that applies where no noise floor does."""
        return TOLERANCE if self.tolerance is None else self.tolerance

    @property
    def unit(self) -> str:
        """Say what the budget counts: trials, or epochs trained in the epoch-level loop."""
        return "trial" if self.loop == "trial" else "epoch"

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as JSON-compatible data (what a session records)."""
        data = asdict(self)
        data["nodes"] = dict(self.nodes)
        data["start"] = dict(self.start)
        data["limits"] = {k: list(v) for k, v in self.limits.items()}
        data["drop"] = list(self.drop)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Settings:
        """Rebuild settings recorded by :meth:`to_dict`."""
        return cls(**{k: v for k, v in data.items() if k in {f.name for f in fields(cls)}})


@dataclass
class Context:
    """The session's settings and the resources opened from them (LangGraph context)."""

    settings: Settings
    data: Any
    """TaskData: the splits every trial trains and validates on."""
    space: Any
    """The task family's configuration space."""
    tracker: Any
    """The MLflow tracker, writing from its background process."""
    model: Any
    """The agents' LangChain chat model."""
    session_id: str
    profile: dict[str, Any] = field(default_factory=dict)
    """Facts about the data (sizes, balance, scales) that the agents read."""
    options: dict[str, Any] = field(default_factory=dict)
    """Options of the chat model's structured output (e.g. the method for ChatOpenAI)."""
    tracer: Any = None
    """MLflow's LangChain tracer when the agents' calls are traced, else None."""
    workdir: Path | None = None
    """The session's folder for files too big for the graph state (the epoch-level loop's
    checkpoints of the run's weights)."""
    checkpointer: Any = None
    """The session's LangGraph checkpointer (``--loop both`` runs each trial's inner graph
    on a thread of its own in it)."""
    progress: Any = None
    """Where nodes report progress inside a long step (a line of text each), if anywhere."""
    epochs: Any = None
    """A trial's per-epoch progress callback (a terminal's live line), or None."""
    monitor: Any = None
    """The next trial's judge, epoch by epoch: ``monitor(epoch, value)`` says whether a
    multi-fidelity baseline's pruner stops it there. The Advisor that asked for the trial
    leaves it; the train node uses it once. None: every trial trains to its end."""
    placement: Any = None
    """Where the session's nets train (a :class:`~lgt_graph.training.device.Placement`,
    resolved from ``--device`` and ``--amp`` when the session opens); None: ``--device auto``."""
    executor: Any = None
    """Where the train node's trials run (:mod:`lgt_graph.executors`); None: this process."""
    experience: list[dict[str, Any]] = field(default_factory=list)  # lgt_graph.agents.experience

    def call_config(self, agent: str, trial: int) -> dict[str, Any] | None:
        """Return the LangChain config of one agent call: its own trace, named for the agent.

        Only the chat call is traced, as a trace of its own: tracing the graph would
        copy the whole (growing) state into every span, quadratic in the budget.
        """
        if self.tracer is None:
            return None
        return {
            "callbacks": [self.tracer],
            "run_name": agent,
            "metadata": {"lgt.session": self.session_id, "lgt.trial": trial},
        }

    @property
    def maximize(self) -> bool:
        """Say whether the task's primary metric is maximised."""
        return bool(self.data.task.direction == "maximize")

    @property
    def primary(self) -> str:
        """Return the task's primary metric."""
        return str(self.data.task.primary)


def _implied_budget(values: Mapping[str, Any]) -> int:
    """Return ``budget`` when only ``--budget-epochs`` or ``--budget-seconds`` was given.

    The trial loop then runs until that budget is spent (up to
    :data:`TRIAL_CAP` trials); the epoch-level loops count epochs, so
    ``--budget-epochs`` is their budget, and ``--budget-seconds`` alone lifts their
    epoch cap to :data:`TRIAL_CAP` epochs.
    """
    default = int(Settings.budget)
    epochs, seconds = values.get("budget_epochs"), values.get("budget_seconds")
    if values.get("loop", "trial") == "trial":
        return TRIAL_CAP if epochs is not None or seconds is not None else default
    if epochs is not None:
        return int(epochs)
    return TRIAL_CAP if seconds is not None else default
