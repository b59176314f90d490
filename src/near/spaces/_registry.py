"""The search-space registry: the :class:`Space` interface, :func:`register` and look-up by name (each space
module imports this, and the package imports the spaces, so no module imports one that imports it back)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np
from torch import nn

from ..errors import ArchitectureError, OptionError


class Space:
    """One search space: validates, builds, enumerates, samples and sizes its architectures.

    Subclasses set :attr:`name` and implement the methods; architectures are whatever
    :meth:`validate` accepts, and :meth:`validate` returns them in the canonical form used as a
    table key (an arch string for NB201/SSS, a pruned :class:`~near.spaces.nb101.Cell` for NB101).
    """

    name: str = ""
    #: Number of architectures in the space (after de-duplication where the benchmark does it).
    size: int = 0

    def validate(self, arch: Any) -> Any:
        """Return ``arch`` in canonical form, or raise :class:`~near.errors.ArchitectureError` saying what is wrong."""
        raise NotImplementedError

    def build(self, arch: Any, num_classes: int = 10) -> nn.Module:
        """Build the network of ``arch`` (freshly initialised from the global torch RNG)."""
        raise NotImplementedError

    def enumerate(self) -> Iterator[Any]:
        """Yield every architecture of the space once, in canonical form."""
        raise NotImplementedError

    def sample(self, n: int, seed: int = 0) -> list[Any]:
        """Draw ``n`` distinct architectures; the same ``seed`` always gives the same list."""
        raise NotImplementedError

    def num_parameters(self, arch: Any, num_classes: int = 10) -> int:
        """Number of parameters of the built network, computed without building it."""
        raise NotImplementedError

    #: Names of the features :meth:`encode` returns, in order; empty for a space without an encoding.
    encoding: tuple[str, ...] = ()

    def encode(self, arch: Any) -> np.ndarray:
        """A fixed-length float vector describing ``arch`` (features of a learned predictor, :mod:`near.predict`).

        Raises :class:`~near.errors.OptionError` for a space that defines no encoding.
        """
        raise OptionError(f"search space {self.name!r} has no architecture encoding; predict from proxy scores only")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, size={self.size})"


_SPACES: dict[str, Space] = {}

S = TypeVar("S", bound=type[Space])


def register(name: str) -> Callable[[S], S]:
    """Class decorator: register one instance of a :class:`Space` subclass under ``name``."""

    def decorate(cls: S) -> S:
        if name in _SPACES:
            raise ValueError(f"search space {name!r} is registered twice")
        cls.name = name
        _SPACES[name] = cls()
        return cls

    return decorate


def available() -> list[str]:
    """Names of the registered search spaces, sorted."""
    return sorted(_SPACES)


def get(space: str | Space) -> Space:
    """The :class:`Space` registered as ``space`` (a :class:`Space` is returned as is)."""
    if isinstance(space, Space):
        return space
    try:
        return _SPACES[space]
    except (KeyError, TypeError):
        raise ArchitectureError(f"unknown search space {space!r}; expected one of {', '.join(available())}") from None


def _check_classes(num_classes: Any) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise OptionError(f"num_classes must be a positive integer, got {num_classes!r}")
    return num_classes


def _check_count(n: Any, size: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= size:
        raise OptionError(f"cannot sample n={n!r} distinct architectures; expected an integer from 0 to {size}")
    return n
