"""Unpickling data files without running code: an allow-list of the classes data pickles hold.

CIFAR's and ImageNet16's batches and NATS-Bench's archives are pickles; a pickle can name any callable, so a
file from elsewhere could run code when loaded. These files need only builtins, ``OrderedDict``, NumPy
arrays and scalars (and ``_codecs.encode``, which rebuilds bytes); anything else is refused with
:class:`pickle.UnpicklingError`.
"""

from __future__ import annotations

import codecs
import importlib
import io
import pickle
from collections import OrderedDict
from typing import Any

import numpy as np

__all__ = ["load_plain"]

_MULTIARRAY = importlib.import_module("numpy._core.multiarray" if hasattr(np, "_core") else "numpy.core.multiarray")
_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
    ("_codecs", "encode"): codecs.encode,  # how protocol 2 spells bytes written by Python 3
}
_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[module, name]
        if module in _NUMPY_MODULES and name in ("scalar", "_reconstruct"):
            return getattr(_MULTIARRAY, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def load_plain(data: bytes, encoding: str = "ASCII") -> Any:
    """Unpickle ``data`` allowing only builtins, ``OrderedDict`` and NumPy arrays/scalars (``encoding``: how
    Python 2 strings are read; ``"latin1"`` for the CIFAR and ImageNet16 batches, as NumPy needs)."""
    return _PlainUnpickler(io.BytesIO(data), encoding=encoding).load()
