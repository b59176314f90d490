"""The search-space protocol: what a space must offer for :mod:`near.search` to search it.

A space is any object with these members (a class with a no-argument constructor, when given as
``path/to/space.py:MySpace`` on the command line):

``name`` (str)
    Identifies the space in the results store: scores of one space never mix with another's.
``sample(rng) -> arch``
    One architecture drawn at random with ``rng`` (a :class:`random.Random`); the search seeds it, so
    the same seed replays the same search.
``mutate(arch, rng) -> arch``
    A neighbour of ``arch`` (one small change, as regularised evolution expects), drawn with ``rng``;
    it should differ from ``arch``.
``build(arch, num_classes) -> torch.nn.Module``
    A freshly initialised network (the search builds it under a seed of its own; the model is only read).
``key(arch) -> str`` (optional)
    The canonical key: equal networks get equal keys, and the key is what the store, the few-shot
    table and ``best`` in the output show. Default ``str(arch)``.
``encode(arch) -> sequence of floats`` (optional)
    A fixed-length numeric description, the features of the few-shot predictor (with the zero-cost
    scores). Without it the predictor sees the zero-cost scores only.

:func:`check_space` verifies an object against the protocol once, at the boundary, and
:class:`SearchSpace` is a convenient base class (it is not required).

Examples
--------
>>> import random, torch
>>> class Widths(SearchSpace):
...     name = "widths"
...     def sample(self, rng): return (rng.choice([4, 8]), rng.choice([4, 8]))
...     def mutate(self, arch, rng):
...         i = rng.randrange(2)
...         return tuple(12 - w if j == i else w for j, w in enumerate(arch))
...     def build(self, arch, num_classes=10):
...         return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3, arch[0]), torch.nn.ReLU(),
...                                    torch.nn.Linear(arch[0], num_classes))
>>> space = check_space(Widths())
>>> space.key(space.sample(random.Random(0)))
'(8, 8)'
"""

from __future__ import annotations

import random
from typing import Any

from torch import nn

from ..errors import ArchitectureError

__all__ = ["REQUIRED", "SearchSpace", "check_space", "encode_of", "key_of", "probe"]

#: Methods every space must have.
REQUIRED: tuple[str, ...] = ("sample", "mutate", "build")


class SearchSpace:
    """A base class for search spaces (see the module docstring); subclasses set ``name`` and implement
    ``sample``, ``mutate`` and ``build``, and may override ``key`` and ``encode``."""

    name: str = ""

    def sample(self, rng: random.Random) -> Any:
        """One architecture drawn with ``rng``."""
        raise NotImplementedError

    def mutate(self, arch: Any, rng: random.Random) -> Any:
        """A neighbour of ``arch`` drawn with ``rng`` (one small change)."""
        raise NotImplementedError

    def build(self, arch: Any, num_classes: int = 10) -> nn.Module:
        """The network of ``arch``, freshly initialised."""
        raise NotImplementedError

    def key(self, arch: Any) -> str:
        """The canonical key of ``arch`` (equal networks, equal keys)."""
        return str(arch)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def check_space(space: Any, where: str = "the space") -> Any:
    """Return ``space`` if it follows the protocol, else raise :class:`~near.errors.ArchitectureError` saying
    what is missing. ``where`` names the space in the message (e.g. ``"my_space.py:MySpace"``).

    Checks the members only; :func:`probe` checks that they work."""
    missing = [name for name in REQUIRED if not callable(getattr(space, name, None))]
    if missing:
        raise ArchitectureError(
            f"{where} does not follow the search-space protocol: it has no method {', '.join(missing)}; a space "
            "needs sample(rng), mutate(arch, rng) and build(arch, num_classes) (see near.search.protocol)"
        )
    name = getattr(space, "name", None)
    if not isinstance(name, str) or not name:
        raise ArchitectureError(
            f"{where} has no name: set a class attribute name = '...' (a non-empty string that identifies the "
            "space in the results store)"
        )
    for optional in ("key", "encode"):
        if hasattr(space, optional) and not callable(getattr(space, optional)):
            raise ArchitectureError(
                f"{where}: {optional} must be a method, got {type(getattr(space, optional)).__name__}"
            )
    return space


def key_of(space: Any, arch: Any) -> str:
    """``space.key(arch)`` when the space has one, else ``str(arch)``; checked to be a non-empty string."""
    key = space.key(arch) if callable(getattr(space, "key", None)) else str(arch)
    if not isinstance(key, str) or not key:
        raise ArchitectureError(f"{space.name}: key({arch!r}) must return a non-empty string, got {key!r}")
    return key


def encode_of(space: Any, arch: Any) -> list[float] | None:
    """``space.encode(arch)`` as a list of floats, or ``None`` when the space has no ``encode``."""
    encode = getattr(space, "encode", None)
    if not callable(encode):
        return None
    values = encode(arch)
    try:
        return [float(v) for v in (values.tolist() if hasattr(values, "tolist") else values)]
    except (TypeError, ValueError):
        raise ArchitectureError(
            f"{space.name}: encode({arch!r}) must return a sequence of numbers, got {type(values).__name__}"
        ) from None


def probe(space: Any, rng: random.Random, num_classes: int, where: str) -> Any:
    """Draw, key, mutate and build one architecture (returned), turning any failure into an
    :class:`~near.errors.ArchitectureError` that names the method that failed."""
    step = "sample"
    try:
        arch = space.sample(rng)
        step = "key"
        key_of(space, arch)
        step = "mutate"
        child = space.mutate(arch, rng)
        step = "key"
        key_of(space, child)
        step = "build"
        model = space.build(arch, num_classes=num_classes)
        step = "encode"
        encode_of(space, arch)
    except ArchitectureError:
        raise
    except Exception as error:
        raise ArchitectureError(f"{where}: {step} failed: {type(error).__name__}: {error}") from error
    if not isinstance(model, nn.Module):
        raise ArchitectureError(f"{where}: build must return a torch.nn.Module, got {type(model).__name__}")
    return arch
