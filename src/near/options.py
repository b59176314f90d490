"""Checking the options of :func:`near.score` up front, so a bad value fails before any work."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from .errors import OptionError

BATCHNORM_MODES = ("batch", "sample", "running")
MEMORY_FORMATS = ("auto", "channels_last", "preserve")


def check_options(
    repetitions, seed, batchnorm, batch_size, nonfinite, sequence_layout, svd_dtype, memory_format
) -> None:
    """Raise an :class:`OptionError` that names the option and its allowed values."""

    def positive_int(value) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1

    if not positive_int(repetitions):
        raise OptionError(f"repetitions must be a positive integer, got {repetitions!r}")
    if seed is not None:
        check_seed(seed)
    if batchnorm not in BATCHNORM_MODES:
        raise OptionError(f"batchnorm must be one of {BATCHNORM_MODES}, got {batchnorm!r}")
    if batch_size is not None and not positive_int(batch_size):
        raise OptionError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    if nonfinite not in ("raise", "warn"):
        raise OptionError(f"nonfinite must be 'raise' or 'warn', got {nonfinite!r}")
    if sequence_layout not in ("auto", "channels_first", "channels_last"):
        raise OptionError(
            f"sequence_layout must be 'auto', 'channels_first' or 'channels_last', got {sequence_layout!r}"
        )
    if svd_dtype not in (torch.float32, torch.float64):
        raise OptionError(f"svd_dtype must be torch.float32 or torch.float64, got {svd_dtype!r}")
    if memory_format not in MEMORY_FORMATS:
        raise OptionError(f"memory_format must be one of {MEMORY_FORMATS}, got {memory_format!r}")


def check_seed(seed) -> int:
    """``seed`` as a Python int: any non-negative integer (NumPy's included, however large), else an
    :class:`OptionError`."""
    if not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        raise OptionError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


def check_flags(**flags) -> None:
    """True/False options must be booleans: ``reinit="no"`` would otherwise count as true."""
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise OptionError(f"{name} must be True or False, got {value!r}")


def glob_patterns(value, option: str) -> list[str]:
    """One glob pattern or a list of them, as a list."""
    patterns = [value] if isinstance(value, str) else value
    if not isinstance(patterns, (list, tuple, set, frozenset)) or not all(isinstance(p, str) for p in patterns):
        raise OptionError(f"{option} must be a glob pattern or a list of them (strings), got {value!r}")
    return list(patterns)


def activation_classes(value) -> tuple[type[nn.Module], ...]:
    """One module class or several, as a tuple."""
    single = isinstance(value, (type, str)) or not isinstance(value, Iterable)
    classes = (value,) if single else tuple(value)
    for cls in classes:
        if isinstance(cls, nn.Module):
            raise OptionError(f"activations takes classes: pass {type(cls).__name__}, not an instance {cls!r}")
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise OptionError(f"activations must be nn.Module subclasses, got {cls!r}")
    return classes


def torch_device(device) -> torch.device | None:
    """The requested device, checked to exist here (``None``: the model's own)."""
    if device is None:
        return None
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise OptionError(f"device {device!r} is not a torch device ({error}); use e.g. 'cpu' or 'cuda:0'") from None
    if device.type == "meta":
        raise OptionError("device='meta' holds no values to score; use 'cpu' or 'cuda'")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise OptionError(f"device {str(device)!r} requested but CUDA is not available here; use device='cpu'")
    return device
