"""Plumbing shared by the proxy families (gradient, jacobian, patterns, meco, zen): batch selection,
the model's input (a private copy in the dtype the model runs in), Zen-NAS's Gaussian initialisation
and hooks that are always removed."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator

import torch
from torch import nn

from ..errors import InsufficientSamplesError, OptionError
from ._registry import ProxyContext


def check_positive(name: str, option: str, value, *, allow_none: bool = False) -> None:
    """Raise an :class:`OptionError` unless ``value`` is a positive integer (or ``None`` when allowed)."""
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        extra = " or None" if allow_none else ""
        raise OptionError(f"{name}: {option} must be a positive integer{extra}; got {value!r}")


def check_positive_number(name: str, option: str, value, *, why: str = "") -> None:
    """Raise an :class:`OptionError` unless ``value`` is a finite number above 0 (``why``: what it means)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise OptionError(f"{name}: {option}{why} must be a finite positive number; got {value!r}")


def first_samples(ctx: ProxyContext, name: str, batch_size: int | None, *, minimum: int = 1) -> torch.Tensor:
    """The first ``batch_size`` samples of ``ctx.x`` — all of them when fewer are given, or for ``None``.

    ``batch_size`` is the reference's batch (an upper bound, so a proxy applies to whatever data a user
    has); the caller decides the order of the samples. Fewer than ``minimum`` is an
    :class:`InsufficientSamplesError` (an :class:`InputError` that ``on_error="nan"`` turns into NaN).
    """
    check_positive(name, "batch_size", batch_size, allow_none=True)
    x = ctx.x if batch_size is None else ctx.x[:batch_size]
    if len(x) < minimum:
        raise InsufficientSamplesError(f"{name} needs at least {minimum} samples; got {len(x)}: give more samples")
    return x


def model_dtype(model: nn.Module, default: torch.dtype | None = None) -> torch.dtype:
    """The floating dtype of the model's weights (``ctx.x`` is in the default dtype)."""
    fallback = default or torch.get_default_dtype()
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), fallback)


def model_input(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A private copy of ``x`` in the dtype of the model's weights (``x``'s own for a model without any).

    A copy, because ``x`` is shared with the next proxy (``ctx.x``) or the next repeat, and a model may
    change its input in place (an ``nn.ReLU(inplace=True)`` first): that must not change another value.
    """
    return x.to(model_dtype(model, x.dtype), copy=True)


@torch.no_grad()
def gaussian_init_(model: nn.Module) -> nn.Module:
    """Zen-NAS's ``network_weight_gaussian_init`` (also SWAP's): Conv/Linear weights ~ N(0, 1) with zero
    bias; BatchNorm/GroupNorm weight 1 and bias 0 (a norm layer without affine parameters is left alone).

    The references test ``nn.Conv2d``; every convolution dimension is treated the same here.
    """
    for module in model.modules():
        if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
            nn.init.normal_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)):
            if module.weight is not None:
                nn.init.ones_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


@contextlib.contextmanager
def hooks(modules: Iterable[nn.Module], hook: Callable, *, pre: bool = False) -> Iterator[None]:
    """Register ``hook`` as a forward (or forward-pre) hook on every module; remove them all on exit."""
    handles = []
    try:
        for module in modules:
            register = module.register_forward_pre_hook if pre else module.register_forward_hook
            handles.append(register(hook))
        yield
    finally:
        for handle in handles:
            handle.remove()


def first_tensor(value) -> torch.Tensor | None:
    """``value`` if it is a tensor, else the first tensor of a tuple/list (a module's output or input)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        return next((v for v in value if isinstance(v, torch.Tensor)), None)
    return None
