"""Settings from the environment: which variable sets which setting, and how its text reads."""

from __future__ import annotations

from typing import Any

from lgt_graph.errors import UserError

ENV = {
    "budget": "LGT_BUDGET",
    "patience": "LGT_PATIENCE",
    "min_delta": "LGT_MIN_DELTA",
    "tolerance": "LGT_TOLERANCE",
    "seed": "LGT_SEED",
    "llm": "LGT_LLM",
    "experience": "LGT_EXPERIENCE",
    "base_url": "OPENAI_BASE_URL",
    "device": "LGT_DEVICE",
    "amp": "LGT_AMP",
    "data_dir": "LGT_DATA_DIR",
    "tracking_uri": "MLFLOW_TRACKING_URI",
}
"""The environment variable that sets each setting when no argument does."""


def coerce(name: str, text: str, default: object) -> Any:
    """Return the value of setting ``name`` that the environment's ``text`` gives."""
    kind = type(default)
    if kind is bool:
        if text.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if text.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise UserError(f"{ENV[name]}={text!r} is not a valid {name}: use 1 or 0")
    try:
        if name in ("patience",):
            return int(text)
        if name == "tolerance":
            return float(text)
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise UserError(f"{ENV[name]}={text!r} is not a valid {name}") from None
    return text
