"""The report's figures: the trajectory of a session and the learning curves of its trials."""

from __future__ import annotations

import io
from typing import Any

from lgt_graph.evaluation.metrics import SETBACKS, better
from lgt_graph.report.load import SessionView


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def plot_trajectory(view: SessionView) -> bytes:
    """Plot the validation metric per trial, the best so far, failed trials and rollbacks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    done = [(t.index, t.score) for t in view.trials if t.score is not None]
    ax.plot([i for i, _ in done], [s for _, s in done], "o-", color="#888", label="trial")
    best: list[tuple[int, float]] = []
    for index, score in done:
        if not best or better(score, best[-1][1], view.maximize):
            best.append((index, float(score)))
        else:
            best.append((index, best[-1][1]))
    if best:
        ax.step(*zip(*best, strict=True), where="post", color="#1f77b4", lw=2, label="best so far")
    low = min((s for _, s in done), default=0.0)
    failed = [t.index for t in view.trials if t.score is None]
    if failed:
        ax.plot(failed, [low] * len(failed), "x", color="#d62728", ms=9, label="failed trial")
    for i, index in enumerate(view.rollbacks):
        ax.axvline(index + 0.5, color="#ff7f0e", ls=":", label="rollback" if i == 0 else None)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {view.primary}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def plot_learning_curves(view: SessionView) -> bytes:
    """Plot loss and validation metric per epoch of the first and the best configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best = view.final.get("trial")
    shown = [t for t in view.trials if t.index in (1, best) and t.curves]
    fig, (loss, metric) = plt.subplots(1, 2, figsize=(9, 3.4))
    for t, color in zip(shown, ("#888", "#1f77b4"), strict=False):
        label = "initial" if t.index == 1 else f"best (trial {t.index})"
        for key, style in (("train_loss", "--"), ("val_loss", "-")):
            if t.curves.get(key):
                loss.plot(_steps(t, key), t.curves[key], style, color=color,
                          label=f"{label}, {key.replace('_', ' ')}")  # fmt: skip
        key = f"val_{view.primary}"
        if t.curves.get(key):
            metric.plot(_steps(t, key), t.curves[key], "-", color=color, label=label)
    loss.set_xlabel("epoch (boosting round for trees)")
    loss.set_ylabel("loss")
    metric.set_xlabel("epoch (boosting round for trees)")
    metric.set_ylabel(f"validation {view.primary}")
    for ax in (loss, metric):
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no curves: these trials failed or fitted in one step",
                    ha="center", transform=ax.transAxes)  # fmt: skip
    fig.tight_layout()
    return _png(fig)


def _steps(trial: Any, key: str) -> list[int]:
    """Return the steps a trial's curve was recorded at (1, 2, … when none were kept)."""
    steps = trial.steps.get(key) if hasattr(trial, "steps") else None
    return (
        list(steps)
        if steps and len(steps) == len(trial.curves[key])
        else list(range(1, len(trial.curves[key]) + 1))
    )


def plot_run_line(view: SessionView) -> bytes:
    """Plot an epoch-level run's curve with every kept change and every rolled-back one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    line = view.line or {}
    steps = line.get("steps", [])
    curves = line.get("curves", {})
    fig, (metric, loss) = plt.subplots(2, 1, figsize=(8, 5.2), sharex=True)
    values = curves.get(f"val_{view.primary}", [])
    metric.plot(steps, values, "-o", ms=3, color="#1f77b4", label=f"validation {view.primary}")
    for key, style in (("train_loss", "--"), ("val_loss", "-")):
        if curves.get(key):
            loss.plot(steps, curves[key], style, color="#555", label=key.replace("_", " "))
    kept = rejected = False
    for event in line.get("events", []):
        text = ", ".join(event["changes"])
        if not event.get("kept", event["outcome"] not in SETBACKS):  # older runs: no "kept"
            if event["score"] is not None:
                metric.plot([event["end_epoch"]], [event["score"]], "x", color="#d62728", ms=8,
                            label=None if rejected else "change rolled back")  # fmt: skip
            rejected = True
            continue
        for ax in (metric, loss):
            ax.axvline(event["epoch"] + 0.5, color="#2ca02c", ls=":", lw=1)
        metric.annotate(text, (event["epoch"] + 0.5, metric.get_ylim()[0]), rotation=90,
                        fontsize=6, va="bottom", ha="right", color="#2ca02c")  # fmt: skip
        kept = True
    if kept:
        metric.plot([], [], ":", color="#2ca02c", label="change kept")
    if line.get("best_epoch"):
        metric.axvline(line["best_epoch"], color="#ff7f0e", lw=1, label="best checkpoint")
    metric.set_ylabel(f"validation {view.primary}")
    loss.set_ylabel("loss")
    loss.set_xlabel("epoch of the run")
    for ax in (metric, loss):
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)
