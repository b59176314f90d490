"""Building the MLPs that NEAR sizes and compares: named activations and initialisations, the network itself,
and the checks on samples and labels shared by sizing, selection and training."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..errors import OptionError
from ..inits import INIT_NAMES, InitFn, get_init
from ..spec import call_factory
from .activations import ACTIVATIONS

ActivationSpec = str | type[nn.Module] | nn.Module | Callable[[], nn.Module]
InitSpec = str | InitFn


def resolve_activation(spec: ActivationSpec) -> tuple[str, Callable[[], nn.Module]]:
    """``(display name, zero-argument module factory)`` for a name, a module class, an instance or a factory."""
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key not in ACTIVATIONS:
            raise OptionError(
                f"unknown activation {spec!r}; choose one of {', '.join(ACTIVATIONS)}, "
                "or pass an nn.Module class or a function that returns a module"
            )
        return key, ACTIVATIONS[key]
    if isinstance(spec, nn.Module):
        return type(spec).__name__, functools.partial(copy.deepcopy, spec)
    if isinstance(spec, type) and issubclass(spec, nn.Module):
        return spec.__name__, spec
    if callable(spec):
        return getattr(spec, "__name__", type(spec).__name__), spec
    raise OptionError(f"activation must be a name, an nn.Module class, a module or a factory, got {spec!r}")


def resolve_init(spec: InitSpec | None) -> tuple[str, InitFn]:
    """``(display name, init function)``; ``None`` is PyTorch's default (``"default"``)."""
    if spec is None:
        return "default", get_init(None)
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key not in INIT_NAMES:
            raise OptionError(f"unknown init {spec!r}; choose one of {', '.join(INIT_NAMES)}, or pass a function")
        return key, get_init(key)
    if callable(spec):
        return getattr(spec, "__name__", type(spec).__name__), spec
    raise OptionError(f"init must be a name or a function of the module, got {spec!r}")


def build_mlp(
    input_size: int, hidden: Sequence[int], outputs: int, activation: Callable[[], nn.Module], bias: bool = True
) -> nn.Sequential:
    """``Flatten``, then ``Linear`` + activation per hidden width, then the output ``Linear``.

    Layer names follow ``nn.Sequential``: hidden layer ``k`` (1-based) is ``str(2k-1)``, its activation ``str(2k)``.

    >>> build_mlp(4, [3], 2, nn.ReLU)
    Sequential(
      (0): Flatten(start_dim=1, end_dim=-1)
      (1): Linear(in_features=4, out_features=3, bias=True)
      (2): ReLU()
      (3): Linear(in_features=3, out_features=2, bias=True)
    )
    """
    layers: list[nn.Module] = [nn.Flatten()]
    width = input_size
    for next_width in hidden:
        layers += [nn.Linear(width, next_width, bias=bias), make_activation(activation)]
        width = next_width
    layers.append(nn.Linear(width, outputs, bias=bias))
    return nn.Sequential(*layers)


def make_activation(factory: Callable[[], nn.Module]) -> nn.Module:
    """Call a user's activation factory, with a clear error when it does not give a module."""
    return call_factory(factory, "activation")


def positive_widths(values, what: str) -> tuple[int, ...]:
    """A tuple of positive integers, or an :class:`OptionError` naming ``what``."""
    values = (values,) if isinstance(values, (int, np.integer)) else tuple(values)
    if not values or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in values):
        raise OptionError(f"{what} must be one or more positive integers, got {values!r}")
    return tuple(int(v) for v in values)


def as_samples(inputs, what: str = "inputs") -> torch.Tensor:
    """Inputs as a float32 tensor of shape ``(samples, …)``, checked once at the boundary."""
    from ..inputs import _as_tensor  # the core's own check: numeric, real, finite

    tensor = _as_tensor(inputs, f"the {what}")
    if tensor.dim() < 2 or len(tensor) == 0:
        raise OptionError(
            f"the {what} must have shape (samples, features…), got {tuple(tensor.shape)}; "
            "for one feature per sample, pass x[:, None]"
        )
    return tensor.float()


def as_labels(labels, n: int) -> torch.Tensor:
    """Class indices (int64, flattened), or float32 regression targets ``(n,)`` / ``(n, k)`` when ``labels``
    are floating-point numbers that are not all whole (energies, properties …)."""
    array = np.asarray(labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels)
    if array.ndim == 0 or len(array) != n:
        count = 0 if array.ndim == 0 else len(array)
        raise OptionError(f"labels has {count} entries for {n} samples; give one label (or target) per sample")
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise OptionError("labels contain NaN or infinite values; give finite class indices or regression targets")
        if not np.all(array == np.round(array)):
            if array.ndim > 2:
                raise OptionError(f"regression targets must have shape (samples,) or (samples, k), got {array.shape}")
            return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    y = torch.as_tensor(array).long().flatten()
    if len(y) != n:
        raise OptionError(f"labels has {len(y)} entries for {n} samples; give one class label per sample")
    if len(y) and int(y.min()) < 0:
        raise OptionError("labels must be class indices 0 … K-1, got a negative label")
    return y
