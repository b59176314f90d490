"""Small example models for the quick start: ``near score near.models:mlp --data digits``.

Each factory takes the shape of one sample and the number of classes, which is what the command
line passes from the data, so the same factory fits any dataset.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn

from .errors import OptionError
from .mlp.activations import ACTIVATIONS

DEFAULT_CLASSES = 10


def mlp(
    input_shape: int | Sequence[int],
    num_classes: int | None = None,
    hidden: Sequence[int] = (128, 128),
    activation: str = "relu",
) -> nn.Sequential:
    """A fully connected network: flatten, then ``Linear`` + activation per hidden width, then ``Linear``.

    Parameters
    ----------
    input_shape
        Shape of one sample (or the number of features); it is flattened.
    num_classes
        Output width; ``None`` (data without labels) gives 10.
    hidden
        Width of each hidden layer.
    activation
        One of ``near.models.ACTIVATIONS``.

    Examples
    --------
    >>> mlp((1, 8, 8), 10, hidden=(32,))
    Sequential(
      (0): Flatten(start_dim=1, end_dim=-1)
      (1): Linear(in_features=64, out_features=32, bias=True)
      (2): ReLU()
      (3): Linear(in_features=32, out_features=10, bias=True)
    )
    """
    shape = _shape(input_shape)
    outputs = _classes(num_classes)
    widths = _widths(hidden, "hidden", allow_empty=True)
    if activation not in ACTIVATIONS:
        raise OptionError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(shape)
    for next_width in widths:
        layers += [nn.Linear(width, next_width), ACTIVATIONS[activation]()]
        width = next_width
    layers.append(nn.Linear(width, outputs))
    return nn.Sequential(*layers)


def cnn(
    input_shape: Sequence[int],
    num_classes: int | None = None,
    channels: Sequence[int] = (16, 32, 64),
) -> nn.Sequential:
    """A small convolutional network: Conv3x3-BatchNorm-ReLU blocks, global average pooling, ``Linear``.

    Every block after the first halves the resolution (stride 2).

    Parameters
    ----------
    input_shape
        ``(channels, height, width)`` of one image.
    num_classes
        Output width; ``None`` (data without labels) gives 10.
    channels
        Output channels of each block.

    Examples
    --------
    >>> import torch
    >>> net = cnn((3, 32, 32), 10, channels=(8, 16))
    >>> net(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """
    shape = _shape(input_shape)
    if len(shape) != 3:
        raise OptionError(f"cnn needs input_shape (channels, height, width), got {tuple(shape)}")
    outputs = _classes(num_classes)
    widths = _widths(channels, "channels", allow_empty=False)
    layers: list[nn.Module] = []
    width = shape[0]
    for index, next_width in enumerate(widths):
        stride = 1 if index == 0 else 2
        layers += [
            nn.Conv2d(width, next_width, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(next_width),
            nn.ReLU(),
        ]
        width = next_width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, outputs)]
    return nn.Sequential(*layers)


def _positive(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _shape(input_shape) -> tuple[int, ...]:
    shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    if not shape or not all(_positive(size) for size in shape):
        raise OptionError(f"input_shape must be positive integers, got {input_shape!r}")
    return shape


def _classes(num_classes) -> int:
    if num_classes is None:
        return DEFAULT_CLASSES
    if not _positive(num_classes):
        raise OptionError(f"num_classes must be a positive integer or None, got {num_classes!r}")
    return num_classes


def _widths(widths, what: str, allow_empty: bool) -> tuple[int, ...]:
    widths = (widths,) if isinstance(widths, int) else tuple(widths)
    if (not widths and not allow_empty) or not all(_positive(width) for width in widths):
        raise OptionError(f"{what} must be {'' if allow_empty else 'one or more '}positive integers, got {widths!r}")
    return widths
