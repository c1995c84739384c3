"""The expert's moves for a net on images: each model family's start, then what to change.

What the fast image trainings are made of, in general terms (none keys on a dataset):
convolutions in blocks of two with batch norm, residual stages for depth, SGD with
Nesterov momentum, random crops and flips (flips for colour photos, whose classes a
mirror does not change), cutout, a moving average of the weights, test-time flips,
label smoothing, and a schedule long enough to converge.
"""

from __future__ import annotations

import math
from typing import Any

Move = tuple[dict[str, Any], str]


def side(profile: dict[str, Any]) -> int:
    """Return the images' shorter side in pixels (28 when the profile does not say)."""
    shape = profile.get("input_shape") or [1, 28, 28]
    return min(int(shape[-1]), int(shape[-2])) if len(shape) >= 2 else 28


def cnn_blocks(profile: dict[str, Any]) -> int:
    """Return the convolution blocks (each halves the image) that pool it to about 4 pixels."""
    return max(1, min(4, round(math.log2(max(side(profile), 2) / 4))))


def photos(profile: dict[str, Any]) -> bool:
    """Say whether the images are colour photos, whose classes a mirror image keeps."""
    return profile.get("channels") == 3


def ema_decay(base: dict[str, Any], profile: dict[str, Any]) -> float:
    """Return a weight-average decay whose horizon is about one epoch of steps."""
    steps = int(profile.get("train_examples", 1000)) / max(1, int(base.get("batch_size", 64)))
    return round(min(0.999, max(0.9, 1 - 1 / max(steps, 1))), 4)


def family_starts(base: dict[str, Any], profile: dict[str, Any], tried: set[str]) -> list[Move]:
    """List the CNN as a practitioner would start it, when no CNN has been tried.

    Blocks that pool the image down to about 4 pixels, batch norm, and either two
    convolutions a block (images of 16 pixels or more: the fast trainings' block; plain
    SGD then gets its momentum next, from the curves) or momentum 0.9 (small images).
    The ResNet is the step up in capacity once a CNN is tuned (:func:`residual_start`):
    on a CPU it costs several times a CNN's epoch for the same score after a few epochs.
    """
    if "cnn" in tried or str(base.get("model")) == "cnn":
        return []
    blocks = cnn_blocks(profile)
    wide = side(profile) >= 16
    extra: dict[str, Any] = {"convs_per_block": 2} if wide else {"momentum": 0.9}
    block = (
        "two convolutions a block, the second at the pooled size (the fast image trainings' block)"
        if wide
        else "SGD with momentum 0.9 (the classic recipe)"
    )
    return [
        (
            {"model": "cnn", "depth": blocks, "batch_norm": True, **extra},
            "convolutions use the images' spatial structure, which an MLP on flattened"
            f" pixels ignores; {blocks} convolution-batch-norm-ReLU blocks pool the image"
            f" down to a few pixels, so the head sees shapes, not just strokes; {block}",
        )
    ]


def residual_start(base: dict[str, Any], profile: dict[str, Any]) -> Move:
    """Return the ResNet a tuned CNN steps up to: stages that pool to about 4 pixels."""
    stages = min(4, cnn_blocks(profile) + 1)
    sgd = {"nesterov": True} if base.get("optimizer") == "sgd" else {}
    return (
        {"model": "resnet", "stages": stages, **sgd},
        f"residual blocks (He et al. 2016) let a deeper net train: {stages} stages, each"
        " halving the map and doubling the channels, then an average over the last map;"
        " batch norm in every block",
    )


def more_varied(config: dict[str, Any], profile: dict[str, Any]) -> Move | None:
    """Return the next step to more varied training images, or None when none is left.

    Random crops first (with mirror images, for colour photos), then cutout (a quarter
    of the side, on images of 16 pixels or more).
    """
    augmentation = str(config.get("augmentation", "none"))
    if augmentation == "none":
        return (
            {"augmentation": "flip_shift" if photos(profile) else "shift"},
            "random crops (and mirror images, for photos) enlarge the training set",
        )
    if "shift" in augmentation and int(config.get("cutout", 0)) == 0 and side(profile) >= 16:
        return (
            {"cutout": side(profile) // 4},
            "cutout hides a random square of each training image, so the net learns from"
            " every part of the object, not one telling patch",
        )
    return None


def image_moves(base: dict[str, Any], profile: dict[str, Any]) -> list[Move]:
    """List the moves for a net on images, the cheap and usually helpful ones first."""
    model = str(base.get("model"))
    conv = model in ("cnn", "resnet")
    moves: list[Move] = []
    sgd = base.get("optimizer") == "sgd"
    if sgd and float(base.get("momentum", 0)) < 0.5:
        moves.append(
            (
                {"momentum": 0.9, "nesterov": True},
                "plain SGD: Nesterov momentum 0.9 is the standard",
            )
        )
    elif sgd and not base.get("nesterov"):
        moves.append(
            (
                {"nesterov": True},
                "Nesterov momentum takes the gradient where the momentum leads: the same"
                " steps, corrected earlier",
            )
        )
    if model != "resnet" and not base.get("batch_norm"):
        moves.append(({"batch_norm": True}, "batch normalisation steadies and speeds up training"))
    if model == "cnn" and int(base.get("convs_per_block", 1)) < 2 and side(profile) >= 16:
        moves.append(
            (
                {"convs_per_block": 2},
                "a second convolution in each block, at the pooled size (the fast image"
                " trainings' block), deepens the net at a fraction of the first's cost",
            )
        )
    varied = more_varied(base, profile)
    augmentation = str(base.get("augmentation", "none"))
    if varied is not None and augmentation == "none":  # crops: cutout waits for a wider net
        moves.append(varied)
    if "flip" in augmentation and not base.get("test_time_flip"):
        moves.append(
            (
                {"test_time_flip": True},
                "the net learned mirror images as the same class: scoring each image as the"
                " average of it and its mirror costs one more forward pass and no training",
            )
        )
    if conv:
        moves.append(
            ({"channels": int(base.get("channels", 16)) * 2}, "wider convolutions, more features")
        )
    if float(base.get("ema", 0)) == 0:
        moves.append(
            (
                {"ema": ema_decay(base, profile)},
                "a moving average of the weights (about an epoch's horizon) smooths the"
                " noise of the last steps; the averaged net is scored",
            )
        )
    if varied is not None and augmentation != "none":
        moves.append(varied)
    moves += [
        ({"epochs": int(base.get("epochs", 5)) * 2}, "a longer schedule to converge"),
        ({"lr_schedule": "onecycle"}, "a one-cycle schedule warms up, then anneals"),
        ({"label_smoothing": 0.1}, "label smoothing calms overconfident outputs"),
    ]
    if model != "resnet":
        moves.append(({"width": int(base.get("width", 128)) * 2}, "a wider dense layer"))
    moves += [
        (
            {"depth": int(base.get("depth", 1)) + 1},
            "one more residual block a stage" if model == "resnet" else "one more block",
        ),
        ({"dropout": 0.2}, "light dropout regularises"),
        ({"input_normalization": "standardize"}, "per-channel standardised inputs"),
    ]
    if sgd:
        moves.append(
            (
                {"optimizer": "adam", "learning_rate": 0.001},
                "Adam adapts each weight's step and often converges in fewer epochs",
            )
        )
    if model == "cnn":
        moves.append(residual_start(base, profile))
    return moves


def image_regularisers(config: dict[str, Any], profile: dict[str, Any]) -> list[dict[str, Any]]:
    """List what closes a gap between training and validation on images, first first.

    More varied data (crops, mirror images for photos, then cutout), averaged weights,
    softer targets; dropout and the rest come after, from the general rule.
    """
    varied = more_varied(config, profile)
    options: list[dict[str, Any]] = [varied[0]] if varied is not None else []
    if float(config.get("ema", 0)) == 0:
        options.append({"ema": ema_decay(config, profile)})
    if float(config.get("label_smoothing", 0)) == 0:
        options.append({"label_smoothing": 0.1})
    return options


def capacity(config: dict[str, Any], profile: dict[str, Any], clip: Any) -> dict[str, Any]:
    """Return the step up in capacity for a net that underfits: deeper blocks, wider, residual.

    ``clip(name, value)`` keeps a value in the space.
    """
    model = str(config.get("model"))
    if model == "cnn" and int(config.get("convs_per_block", 1)) < 2:
        return {"convs_per_block": 2}
    channels = int(config.get("channels", 16))
    if model in ("cnn", "resnet") and clip("channels", channels * 2) > channels:
        return {"channels": clip("channels", channels * 2)}
    if model == "cnn":  # as wide as the space allows: residual depth next
        return residual_start(config, profile)[0]
    if model == "resnet":
        return {"depth": clip("depth", int(config.get("depth", 1)) + 1)}
    return {"width": clip("width", int(config.get("width", 64)) * 2)}
