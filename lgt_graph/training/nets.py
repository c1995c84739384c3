"""The neural models of the space: an MLP, a CNN and a ResNet, built from the configuration."""

from __future__ import annotations

import torch
from torch import nn

from lgt_graph.space import Config

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
}
MAX_CHANNELS = 512


def build_net(
    config: Config, input_shape: tuple[int, ...], n_outputs: int, live: bool = False
) -> nn.Module:
    """Build the MLP or CNN the configuration describes, for inputs of ``input_shape``.

    ``live`` keeps a dropout layer where one may be wanted even at probability 0, so that
    the epoch-level loop can change ``dropout`` mid-run (:func:`set_dropout`); the weights
    are the same either way.
    """
    if config["model"] == "cnn":
        return _cnn(config, input_shape, n_outputs, live)
    if config["model"] == "resnet":
        return _resnet(config, input_shape, n_outputs, live)
    return _mlp(config, input_shape, n_outputs, live)


def has_batch_norm(config: Config) -> bool:
    """Say whether the configuration's net normalises its batches (a ResNet always does)."""
    return config["model"] == "resnet" or bool(config.get("batch_norm"))


def convolutional(config: Config) -> bool:
    """Say whether the configuration's net convolves (it then runs channels-last)."""
    return config["model"] in ("cnn", "resnet")


def lay_out(
    config: Config, model: nn.Module, tensors: list[torch.Tensor]
) -> tuple[nn.Module, list[torch.Tensor]]:
    """Lay a convolutional net and its images out channels-last; return others as they are.

    Convolutions run faster so on a CPU and on a GPU's tensor cores (bench.image_epoch).
    """
    if not convolutional(config):
        return model, tensors
    model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return model, [t.contiguous(memory_format=torch.channels_last) for t in tensors]


def set_dropout(model: nn.Module, p: float) -> None:
    """Set the probability of every dropout layer of ``model``."""
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = p


def _hidden(config: Config, n_in: int, n_out: int, live: bool = False) -> list[nn.Module]:
    """One hidden block: linear, optional batch norm, activation, optional dropout."""
    layers: list[nn.Module] = [nn.Linear(n_in, n_out)]
    if config["batch_norm"]:
        layers.append(nn.BatchNorm1d(n_out))
    layers.append(ACTIVATIONS[str(config["activation"])]())
    if live or float(config["dropout"]) > 0:
        layers.append(nn.Dropout(float(config["dropout"])))
    return layers


def _mlp(config: Config, input_shape: tuple[int, ...], n_outputs: int, live: bool) -> nn.Module:
    width = int(config["width"])
    n_in = int(torch.tensor(input_shape).prod())
    layers: list[nn.Module] = [nn.Flatten()] if len(input_shape) > 1 else []
    for _ in range(int(config["depth"])):
        layers += _hidden(config, n_in, width, live)
        n_in = width
    layers.append(nn.Linear(n_in, n_outputs))
    return nn.Sequential(*layers)


def _cnn(config: Config, input_shape: tuple[int, ...], n_outputs: int, live: bool) -> nn.Module:
    channels_in, height, width_px = input_shape
    activation = ACTIVATIONS[str(config["activation"])]
    dropout = float(config["dropout"])
    layers: list[nn.Module] = []
    channels = int(config["channels"])
    norm = bool(config["batch_norm"])
    for _ in range(int(config["depth"])):
        layers += _conv(channels_in, channels, norm, activation)
        if min(height, width_px) >= 2:
            layers.append(nn.MaxPool2d(2))
            height, width_px = height // 2, width_px // 2
        for _ in range(int(config.get("convs_per_block", 1)) - 1):
            layers += _conv(channels, channels, norm, activation)
        if live or dropout > 0:
            layers.append(nn.Dropout(dropout))
        channels_in, channels = channels, min(channels * 2, MAX_CHANNELS)
    layers.append(nn.Flatten())
    layers += _hidden(config, channels_in * height * width_px, int(config["width"]), live)
    layers.append(nn.Linear(int(config["width"]), n_outputs))
    return nn.Sequential(*layers)


def _conv(n_in: int, n_out: int, norm: bool, activation: type[nn.Module]) -> list[nn.Module]:
    """Return a 3x3 convolution, optional batch norm (then no bias), activation."""
    layers: list[nn.Module] = [nn.Conv2d(n_in, n_out, 3, padding=1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(n_out))
    return [*layers, activation()]


class _Residual(nn.Module):
    """A basic residual block: two 3x3 convolutions with batch norm, plus the input.

    The first convolution has ``stride`` (2 halves the map); the shortcut is the input,
    or a strided 1x1 convolution when the shape changes.
    """

    def __init__(self, n_in: int, n_out: int, stride: int, activation: type[nn.Module]) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(n_in, n_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(n_out),
            activation(),
            nn.Conv2d(n_out, n_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(n_out),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or n_in != n_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(n_in, n_out, 1, stride=stride, bias=False), nn.BatchNorm2d(n_out)
            )
        self.out = activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x) + self.shortcut(x))


def _resnet(config: Config, input_shape: tuple[int, ...], n_outputs: int, live: bool) -> nn.Module:
    """Return a ResNet: a 3x3 stem, ``stages`` stages of ``depth`` residual blocks, a pool.

    Each stage after the first halves the map (while it is at least 2 pixels) and
    doubles the channels, up to ``MAX_CHANNELS``.
    """
    activation = ACTIVATIONS[str(config["activation"])]
    channels = int(config["channels"])
    side = min(input_shape[1], input_shape[2])
    layers: list[nn.Module] = [
        nn.Conv2d(input_shape[0], channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels),
        activation(),
    ]
    n_in = channels
    for stage in range(int(config["stages"])):
        n_out = min(channels * 2**stage, MAX_CHANNELS)
        stride = 2 if stage > 0 and side >= 2 else 1
        side = side // stride
        for block in range(int(config["depth"])):
            layers.append(_Residual(n_in, n_out, stride if block == 0 else 1, activation))
            n_in = n_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if live or float(config["dropout"]) > 0:
        layers.append(nn.Dropout(float(config["dropout"])))
    layers.append(nn.Linear(n_in, n_outputs))
    return nn.Sequential(*layers)
