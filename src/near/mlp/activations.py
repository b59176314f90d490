"""Named activation functions, as modules, for building and comparing networks."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class STanh(nn.Module):
    """Scaled tanh, ``1.59223 * tanh(x)``: the scale keeps unit-variance inputs at unit variance."""

    scale = 1.59223

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.tanh(x)


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "tanhshrink": nn.Tanhshrink,
    "elu": nn.ELU,
    "sigmoid": nn.Sigmoid,
    "stanh": STanh,
}
