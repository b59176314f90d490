"""Benchmark search spaces: build any cell of NAS-Bench-201, NATS-Bench-SSS or NAS-Bench-101 as a model.

Each space is a :class:`Space` registered under a name with the :func:`register` decorator, the
way timm registers model factories; :func:`available` lists the names, :func:`get` returns the
space and :func:`build` is the one-line shortcut. Every model built here returns **logits only**
(a plain tensor), ends with ``nn.AdaptiveAvgPool2d`` and takes 3×H×W images of any size.

Examples
--------
>>> import near.spaces
>>> near.spaces.available()
['nats-sss', 'nb101', 'nb201']
>>> space = near.spaces.get("nb201")
>>> space.validate("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|")
'|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|'
>>> space.num_parameters("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", num_classes=10)
73306
"""

from __future__ import annotations

from typing import Any

from torch import nn

from . import nats_sss, nb101, nb201  # noqa: F401  (each registers its space on import)
from ._registry import Space, available, get, register

__all__ = ["Space", "available", "build", "get", "register"]


def build(space: str | Space, arch: Any, num_classes: int = 10) -> nn.Module:
    """Build architecture ``arch`` of search space ``space``; the model's forward returns logits only.

    Parameters
    ----------
    space
        A name from :func:`available` (``"nb201"``, ``"nats-sss"``, ``"nb101"``) or a :class:`Space`.
    arch
        NB201: an arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``; NATS-SSS: a channel string
        ``"c0:c1:c2:c3:c4"``; NB101: ``(matrix, ops)``, ``{"matrix": …, "ops": …}`` or a ``Cell``.
    num_classes
        Width of the classifier: 10 (CIFAR-10), 100 (CIFAR-100) or 120 (ImageNet16-120).

    Examples
    --------
    >>> import torch, near.spaces
    >>> net = near.spaces.build("nats-sss", "8:8:8:8:8", num_classes=120)
    >>> net(torch.zeros(2, 3, 16, 16)).shape
    torch.Size([2, 120])
    """
    return get(space).build(arch, num_classes=num_classes)
