"""The writes a tracker runs, by name: the writer process receives names, not functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lgt_graph.tracking import session_runs
from lgt_graph.tracking.runs import set_status, write_trial

WRITES: dict[str, Callable[..., Any]] = {
    "trial": write_trial,
    "status": set_status,
    "session_trial": session_runs.session_trial,
    "session_verdict": session_runs.session_verdict,
    "session_prompt": session_runs.session_prompt,
    "session_progress": session_runs.session_progress,
    "session_end": session_runs.session_end,
}
