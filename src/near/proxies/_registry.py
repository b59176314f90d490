"""The proxy registry and the context every proxy function receives.

A proxy is a function ``fn(ctx: ProxyContext, **options) -> float`` registered with :func:`proxy`.
The context hands out private copies of the caller's model, the batch (and labels, when needed) and
a memo through which several proxies computed for one model share work (one forward/backward,
one input Jacobian) instead of repeating it.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import InputError, ProxyError, ProxyNotApplicableError


class ProxyScore(float):
    """A proxy's value, a plain ``float``; a NaN carries the reason in ``.reason`` (dead network, overflow …)."""

    reason: str | None
    seconds: float | None  # time the computation took, set by compute / compute_many

    def __new__(cls, value: float, reason: str | None = None) -> ProxyScore:
        score = super().__new__(cls, value)
        score.reason = reason if not math.isfinite(score) else None
        score.seconds = None
        return score

    def __repr__(self) -> str:
        return f"ProxyScore(nan, reason={self.reason!r})" if self.reason else f"ProxyScore({float(self)!r})"


@dataclass(frozen=True)
class ProxyInfo:
    """What a user may ask about a proxy before computing it.

    ``sign`` says how our value relates to the original paper's (every proxy here returns
    "higher = predicted better"); ``activations`` says which networks it applies to.
    """

    name: str
    needs_labels: bool
    uses_data: bool
    activations: str
    sign: str
    reference: str
    function: Callable[..., float] = field(repr=False, compare=False)

    @property
    def summary(self) -> str:
        """The first line of the proxy's docstring."""
        return (inspect.getdoc(self.function) or "").splitlines()[0] if self.function.__doc__ else ""

    @property
    def options(self) -> tuple[str, ...]:
        """The keyword options the proxy accepts."""
        parameters = list(inspect.signature(self.function).parameters.values())[1:]
        return tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)


REGISTRY: dict[str, ProxyInfo] = {}


def proxy(
    name: str,
    *,
    needs_labels: bool,
    uses_data: bool = True,
    activations: str = "any",
    sign: str = "as published",
    reference: str = "",
) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Register ``fn(ctx, *, option=default, …) -> float`` under ``name``."""

    def register(function: Callable[..., float]) -> Callable[..., float]:
        if name in REGISTRY:
            raise ProxyError(f"proxy {name!r} is registered twice")
        REGISTRY[name] = ProxyInfo(name, needs_labels, uses_data, activations, sign, reference, function)
        return function

    return register


def info(name: str) -> ProxyInfo:
    """The metadata of one proxy; unknown names raise a :class:`ProxyError` listing the known ones."""
    if name not in REGISTRY:
        raise ProxyError(f"unknown proxy {name!r}; choose one of {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def _tensor(value, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    raise InputError(f"{what} must be a tensor or NumPy array; got {type(value).__name__}")


def as_batches(inputs, targets) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """``inputs`` as a list of ``(x, y or None)`` batches.

    A tensor or array is one batch; an ``(x, y)`` tuple is one labelled batch; a list (or a
    ``DataLoader``, or any iterable) is several batches, each a tensor or an ``(x, y)`` pair.
    ``targets`` labels a single batch given as a tensor.
    """
    if isinstance(inputs, (torch.Tensor, np.ndarray)):
        batches = [(inputs, targets)]
    elif isinstance(inputs, tuple):
        if targets is not None:
            raise InputError("labels were given twice: in the (x, y) tuple and as targets=; give them once")
        batches = [(inputs[0], inputs[1] if len(inputs) > 1 else None)]
    else:
        if targets is not None:
            raise InputError("targets= labels a single batch; with several batches give (x, y) pairs instead")
        try:
            items = list(inputs)
        except TypeError:
            raise InputError(
                f"inputs must be a tensor, an (x, y) tuple or an iterable of batches; got {type(inputs).__name__}"
            ) from None
        batches = [(item[0], item[1] if len(item) > 1 else None) if isinstance(item, (tuple, list)) else (item, None)
                   for item in items]
    if not batches:
        raise InputError("inputs hold no batch; give at least one batch of samples")
    result = []
    for x, y in batches:
        x = _tensor(x, "inputs")
        if x.ndim < 2 or len(x) == 0:
            raise InputError(f"a batch needs a sample axis and at least one sample; got shape {tuple(x.shape)}")
        if y is not None:
            y = _tensor(y, "targets")
            if len(y) != len(x):
                raise InputError(f"a batch has {len(x)} samples but {len(y)} labels; give one label per sample")
        result.append((x, y))
    return result


class ProxyContext:
    """What a proxy function works with: copies of the model, the data, a seed, and shared results."""

    def __init__(self, model: nn.Module, inputs, targets=None, *, device=None, seed: int = 0) -> None:
        if not isinstance(model, nn.Module):
            raise InputError(f"model must be an nn.Module; got {type(model).__name__}")
        self.model = model  # the caller's: read, never changed
        self.batches = as_batches(inputs, targets)
        self.device = torch.device(device) if device is not None else _device_of(model)
        self.seed = seed
        self._memo: dict[Any, Any] = {}

    @property
    def x(self) -> torch.Tensor:
        """All samples as one batch on the device; integer inputs (uint8 images) become the default float type."""

        def join() -> torch.Tensor:
            x = torch.cat([x for x, _ in self.batches]).to(self.device)
            return x if x.is_floating_point() else x.to(torch.get_default_dtype())

        return self.shared("x", join)

    @property
    def y(self) -> torch.Tensor | None:
        """All labels as one batch on the device, or ``None`` when any batch is unlabelled."""
        if any(y is None for _, y in self.batches):
            return None
        return self.shared("y", lambda: torch.cat([y for _, y in self.batches]).to(self.device))

    def labels(self, proxy_name: str) -> torch.Tensor:
        """The labels, or a :class:`ProxyNotApplicableError` saying the proxy needs them."""
        if self.y is None:
            raise ProxyNotApplicableError(
                f"{proxy_name} needs labels: pass targets= or (x, y) batches (it computes a loss on them)"
            )
        return self.y

    def copy(self, train: bool = True) -> nn.Module:
        """A private deep copy of the caller's model on the device, in train (default) or eval mode."""
        model = copy.deepcopy(self.model).to(self.device)
        return model.train(train)

    def shared(self, key, compute: Callable[[], Any]) -> Any:
        """``compute()``'s result, computed once per context and shared by every proxy asking for ``key``."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


def _device_of(model: nn.Module) -> torch.device:
    tensor = next(model.parameters(), None)
    if tensor is None:
        tensor = next(model.buffers(), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def weighted_layers(model: nn.Module) -> list[nn.Module]:
    """The layers the gradient proxies score: every ``Linear`` and ``Conv*`` in ``modules()`` order.

    The references take ``Conv2d`` and ``Linear``; other convolution dimensions follow the same rule.
    """
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd))]


def logits_of(output) -> torch.Tensor:
    """The logits of a model's output: a tensor, or the last tensor of a tuple/list (xautodl's
    ``(features, logits)``)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        tensors = [o for o in output if isinstance(o, torch.Tensor)]
        if tensors:
            return tensors[-1]
    raise ProxyNotApplicableError(f"the model returned {type(output).__name__}; proxies need a logits tensor")
