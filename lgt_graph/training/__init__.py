"""Train one configuration: ``config → TrialResult``, the unit every tuner's budget counts."""

from __future__ import annotations

import time
import traceback
from typing import TYPE_CHECKING, Any

import numpy as np

from lgt_graph import interrupts
from lgt_graph.space import NEURAL_MODELS, Config, space_for
from lgt_graph.tasks.base import SealedSplitError, TaskData
from lgt_graph.training.arrays import Arrays, TargetTransform
from lgt_graph.training.features import image_arrays, tabular_arrays
from lgt_graph.training.result import Diverged, Progress, TrialResult
from lgt_graph.training.threads import available_threads, limit_threads

if TYPE_CHECKING:
    from lgt_graph.training.device import Placement

__all__ = ["TrialResult", "available_threads", "limit_threads", "train"]


def prepare_arrays(config: Config, data: TaskData, with_test: bool = False) -> Arrays:
    """Apply the configuration's feature engineering; fit every statistic on train only."""
    # A session's space may leave knobs out (inert on its data, or planned per trial, as
    # in a continued run): they take the family's defaults, as in train().
    config = space_for(data.task.family).validate(config)
    classification = data.task.problem == "classification"
    others = [data.X_val, data.X_test] if with_test else [data.X_val]
    if data.task.family == "image":
        X_train, rest = image_arrays(
            config, np.asarray(data.X_train), [np.asarray(x) for x in others]
        )
    else:
        X_train, rest = tabular_arrays(
            config, data.X_train, data.y_train, list(others), classification, data.seed
        )
    target = TargetTransform()
    if not classification:
        target = TargetTransform.fit(str(config["target_transform"]), data.y_train)
    return Arrays(
        X_train=X_train,
        y_train=data.y_train,
        X_val=rest[0],
        y_val=data.y_val,
        classification=classification,
        n_classes=data.n_classes,
        target=target,
        X_test=rest[1] if with_test else None,
        y_test=data.y_test if with_test else None,
    )


def train(
    config: Config,
    data: TaskData,
    seed: int | None = None,
    progress: Progress | None = None,
    score_test: bool = False,
    placement: Placement | None = None,
) -> TrialResult:
    """Fit ``config`` on the training split and score it on the validation split.

    ``progress`` hears of each epoch of a net and each stage of a forest, and may stop
    the trial there (:class:`Pruned`). ``score_test`` also scores the fitted model on the
    test split; only the final refit of a session asks for it, inside ``data.open_test()``
    (the split is sealed everywhere else). A net trains, and is scored, on ``placement``
    (None: ``--device auto``); scikit-learn models always fit on the CPU. Failures (a loss
    that turns NaN, infinite or explodes, a configuration the data cannot take, memory
    exhaustion, any exception inside the fit) end as a failed trial with the reason; they
    never raise out of here.
    """
    started = time.perf_counter()
    full = space_for(data.task.family).validate(config)
    # The result names the knobs asked for: a session's space leaves out the knobs its data
    # makes inert, and its trials are compared with what its searchers asked.
    config = {name: full[name] for name in config}
    seed = data.seed if seed is None else seed
    try:
        fitted = _fit(full, data, seed, progress, score_test, placement)
    except SealedSplitError:
        raise  # a tuner read the test split: our bug, never a failed trial
    except Exception as exc:
        # Beyond the numeric failures, anything raised inside a trial (a layer the input
        # is too small for, a library error on odd data) fails that trial, with its
        # traceback kept, so an hours-long session is not lost to one configuration.
        interrupts.check()  # unless it is a Ctrl-C that a library turned into an error
        return _failed(config, exc, started)
    return TrialResult.of_fit(config, fitted, time.perf_counter() - started)


def _fit(
    config: Config,
    data: TaskData,
    seed: int,
    progress: Progress | None,
    score_test: bool,
    placement: Placement | None,
) -> dict[str, Any]:
    arrays = prepare_arrays(config, data, with_test=score_test)
    task = data.task
    threads = available_threads()
    if config["model"] in NEURAL_MODELS:
        from lgt_graph.training.device import resolve_placement
        from lgt_graph.training.neural import fit_neural, predict

        placement = placement or resolve_placement()
        maximize = task.direction == "maximize"
        fitted = fit_neural(
            config, arrays, task.primary, maximize, seed, progress, threads, placement
        )
        if score_test and arrays.X_test is not None:
            import torch

            flip = bool(config.get("test_time_flip"))
            logits = predict(fitted["model"], torch.from_numpy(arrays.X_test), placement, flip)
            fitted["test_metrics"] = arrays.scorer(logits=True)(data.y_test, logits.cpu().numpy())
            fitted["test_output"] = arrays.outputs(logits.cpu().numpy(), logits=True)
    else:
        from lgt_graph.training.classic import fit_classic, model_outputs

        fitted = fit_classic(config, arrays, seed, threads, progress)
        fitted["diagnostics"]["device"] = "cpu"  # scikit-learn has no GPU path, --device or not
        if score_test and arrays.X_test is not None:
            out = model_outputs(fitted["model"], arrays, arrays.X_test)
            fitted["test_metrics"] = arrays.scorer()(data.y_test, out)
            fitted["test_output"] = arrays.outputs(out)
    out = fitted.pop("val_output", None)
    if (
        out is not None
    ):  # what a paired comparison of two trials reads (lgt_graph.evaluation.selection)
        net = config["model"] in NEURAL_MODELS
        fitted["validation"] = arrays.outputs(out, logits=net).astype(np.float32)
        fitted["diagnostics"].update(_spread(fitted["validation"], data))
    fitted["diagnostics"]["features"] = int(arrays.X_train[0].size)
    fitted["diagnostics"]["train_examples"] = len(arrays.y_train)
    return fitted


def _spread(outputs: np.ndarray, data: TaskData) -> dict[str, Any]:
    """Return how varied the validation predictions are (a degenerate model's are not)."""
    if data.task.problem == "classification":
        return {"predicted_classes": len(np.unique(outputs.argmax(axis=1)))}
    spread = float(np.std(data.y_val))
    if spread <= 0:
        return {}
    return {"prediction_spread": round(float(np.std(outputs.reshape(-1))) / spread, 4)}


def _failed(config: Config, exc: BaseException, started: float) -> TrialResult:
    reason = f"{type(exc).__name__}: {exc}" if not isinstance(exc, Diverged) else f"diverged: {exc}"
    return TrialResult(
        config=config,
        status="failed",
        wall_time=time.perf_counter() - started,
        reason=reason,
        diagnostics={"traceback": "".join(traceback.format_exception(exc))},
    )
