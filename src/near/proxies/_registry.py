"""The proxy registry and the context every proxy function receives.

A proxy is a function ``fn(ctx: ProxyContext, **options) -> float`` registered with :func:`proxy`.
The context hands out private copies of the caller's model, the batch (and labels, when needed) and
a memo through which several proxies computed for one model share work (one forward/backward,
one input Jacobian) instead of repeating it.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import InputError, ModelError, ProxyError, ProxyNotApplicableError
from ..inputs import _as_tensor as as_tensor
from ..inputs import _holds_numbers as holds_numbers
from ..inputs import _nested_rows as nested_rows


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


def as_batches(inputs, targets) -> list[tuple[object, object]]:
    """``inputs`` as a list of ``(x, y or None)`` batches, as given (:func:`check_inputs` reads them).

    A tensor or array is one batch, and so is a nested Python list of numbers (read as an array, as
    :func:`near.score` reads it); an ``(x, y)`` tuple is one labelled batch; any other list (or a
    ``DataLoader``, or any iterable) is several batches, each a tensor or an ``(x, y)`` pair.
    ``targets`` labels a single batch given as a tensor.
    """
    if isinstance(inputs, list) and holds_numbers(inputs):
        inputs = nested_rows(inputs)
    if isinstance(inputs, (torch.Tensor, np.ndarray)):
        batches = [(inputs, targets)]
    elif isinstance(inputs, tuple):
        if targets is not None:
            raise InputError("labels were given twice: in the (x, y) tuple and as targets=; give them once")
        if not inputs:
            raise InputError("got an empty tuple where an (x, y) batch was expected")
        batches = [(inputs[0], inputs[1] if len(inputs) > 1 else None)]
    else:
        if targets is not None:
            raise InputError("targets= labels a single batch; with several batches give (x, y) pairs instead")
        if isinstance(inputs, (str, bytes, dict)):
            items = None
        else:
            try:
                items = list(inputs)
            except TypeError:
                items = None
        if items is None:
            raise InputError(
                f"inputs must be a tensor, an (x, y) tuple or an iterable of batches; got {type(inputs).__name__}"
            ) from None
        batches = [(item[0], item[1] if len(item) > 1 else None) if isinstance(item, (tuple, list)) and item
                   else (item, None) for item in items]
    if not batches:
        raise InputError("inputs hold no batch; give at least one batch of samples")
    for x, y in batches:
        if y is not None and _length(y) != _length(x):
            raise InputError(
                f"a batch has {_length(x)} samples but {_length(y)} labels; give one label per sample"
            )
    return batches


def _length(value) -> int | None:
    """The length of the first axis, where there is one."""
    try:
        return len(value)
    except TypeError:
        return None


def check_inputs(batches: list[tuple[object, object]]) -> list[torch.Tensor]:
    """The inputs of every batch as dense, real, finite tensors with a sample axis and one sample shape —
    :func:`near.score`'s own check (:func:`near.inputs._as_tensor`), so both read the same inputs alike."""
    xs = []
    for x, _ in batches:
        x = as_tensor(x, "the inputs")
        if x.ndim < 2 or len(x) == 0:
            raise InputError(f"a batch needs a sample axis and at least one sample; got shape {tuple(x.shape)}")
        xs.append(x)
    shapes = {tuple(x.shape[1:]) for x in xs}
    if len(shapes) > 1:
        raise InputError(f"the batches hold samples of different shapes {sorted(shapes)[:4]}; give one sample shape")
    return xs


def check_labels(batches: list[tuple[object, object]]) -> list[torch.Tensor]:
    """Every batch's labels as class indices (int64, shape (N,)) or class-probability rows (float, (N, C≥2)).

    Non-integer class indices are refused rather than truncated: 2.9 read as class 2 would give a
    plausible, wrong value.
    """
    ys = []
    for _, y in batches:
        y = as_tensor(y, "the labels")
        if y.ndim == 1:
            if y.is_floating_point():
                if not torch.equal(y, y.round()):
                    bad = y[y != y.round()][:3].tolist()
                    raise InputError(
                        f"the labels must be integer class indices; got non-integer values such as {bad}: "
                        "pass class indices (y.long() only if the values are meant to be whole)"
                    )
            y = y.long()
        elif y.ndim == 2 and y.shape[1] >= 2 and y.is_floating_point():
            pass  # class probabilities (or one-hot rows), one row per sample
        else:
            hint = ": pass y.squeeze(1)" if y.ndim == 2 and y.shape[1] == 1 else ""
            raise InputError(
                f"the labels must have shape (N,) (class indices) or (N, C) (float class probabilities); got "
                f"shape {tuple(y.shape)} and dtype {y.dtype}{hint}"
            )
        ys.append(y)
    if len({y.ndim for y in ys}) > 1:
        raise InputError("some batches are labelled with class indices and others with probabilities; give one kind")
    return ys


class ProxyContext:
    """What a proxy function works with: copies of the model, the data, a seed, and shared results.

    The inputs are checked here, once (:func:`check_inputs`), and the labels on first use
    (:func:`check_labels`); a failed check is raised by every use of the data, so a proxy that reads
    only the model (``params``) can still be computed beside proxies that cannot.
    """

    def __init__(self, model: nn.Module, inputs, targets=None, *, device=None, seed: int = 0, factory=None) -> None:
        if not isinstance(model, nn.Module):
            raise InputError(f"model must be an nn.Module; got {type(model).__name__}")
        if factory is not None and (isinstance(factory, nn.Module) or not callable(factory)):
            raise InputError(f"factory must be a callable that builds a fresh model; got {type(factory).__name__}")
        self.model = model  # the caller's: read, never changed
        self.factory = factory  # builds a network like `model`, with its own initialisation (NEAR's repetitions)
        self._given = as_batches(inputs, targets)
        self.device = torch.device(device) if device is not None else _device_of(model)
        self.seed = seed
        self._memo: dict[Any, Any] = {}
        self.input_error: InputError | None = None
        try:
            self._xs = check_inputs(self._given)
        except InputError as error:
            self.input_error = error

    def _inputs(self) -> list[torch.Tensor]:
        if self.input_error is not None:
            raise InputError(str(self.input_error))
        return self._xs

    @property
    def labelled(self) -> bool:
        """Whether every batch carries labels."""
        return all(y is not None for _, y in self._given)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample (for proxies that feed inputs of their own)."""
        return tuple(self._inputs()[0].shape[1:])

    @property
    def batches(self) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """The checked batches as given (inputs, labels or ``None``), on the caller's device."""
        xs = self._inputs()
        ys = self._checked_labels() if self.labelled else [None] * len(xs)
        return list(zip(xs, ys))

    def _checked_labels(self) -> list[torch.Tensor]:
        return self.shared("checked labels", lambda: check_labels(self._given))

    @property
    def x(self) -> torch.Tensor:
        """All samples as one batch on the device; integer inputs (uint8 images) become the default float type."""
        xs = self._inputs()

        def join() -> torch.Tensor:
            x = torch.cat(xs).to(self.device)
            return x if x.is_floating_point() else x.to(torch.get_default_dtype())

        return self.shared("x", join)

    @property
    def y(self) -> torch.Tensor | None:
        """All labels as one batch on the device, or ``None`` when any batch is unlabelled."""
        if not self.labelled:
            return None
        return self.shared("y", lambda: torch.cat(self._checked_labels()).to(self.device))

    def labels(self, proxy_name: str) -> torch.Tensor:
        """The labels, or a :class:`ProxyNotApplicableError` saying the proxy needs them."""
        if self.y is None:
            raise ProxyNotApplicableError(
                f"{proxy_name} needs labels: pass targets= or (x, y) batches (it computes a loss on them)"
            )
        return self.y

    def copy(self, train: bool = True) -> nn.Module:
        """A private deep copy of the caller's model on the device, in train (default) or eval mode."""
        if any(t.is_meta for t in itertools.chain(self.model.parameters(), self.model.buffers())):
            raise ModelError("the model's parameters are on the meta device (no values); materialise it first")
        try:
            model = copy.deepcopy(self.model)
        except Exception as error:
            raise ModelError(f"could not copy the model to run it safely ({type(error).__name__}: {error})") from error
        return model.to(self.device).train(train)

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
