"""The neural models of the space: an MLP and a small CNN, built from the configuration."""

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
    return _mlp(config, input_shape, n_outputs, live)


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
    for _ in range(int(config["depth"])):
        layers.append(nn.Conv2d(channels_in, channels, 3, padding=1, bias=not config["batch_norm"]))
        if config["batch_norm"]:
            layers.append(nn.BatchNorm2d(channels))
        layers.append(activation())
        if min(height, width_px) >= 2:
            layers.append(nn.MaxPool2d(2))
            height, width_px = height // 2, width_px // 2
        if live or dropout > 0:
            layers.append(nn.Dropout(dropout))
        channels_in, channels = channels, min(channels * 2, MAX_CHANNELS)
    layers.append(nn.Flatten())
    layers += _hidden(config, channels_in * height * width_px, int(config["width"]), live)
    layers.append(nn.Linear(int(config["width"]), n_outputs))
    return nn.Sequential(*layers)
