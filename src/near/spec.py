"""Turning a ``module:function`` or ``path/to/file.py:function`` string into a model factory.

Used by the command line, where a model can only be named, never passed. The factory is bound to
the data (``input_shape``, ``num_classes``) and handed to :func:`near.score` uncalled, so every
repetition builds a fresh model.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

from torch import nn

from .errors import ModelError

DATA_PARAMETERS = ("input_shape", "num_classes")


def load_factory(spec: str) -> Callable:
    """The callable named by ``spec``: ``package.module:function`` or ``path/to/file.py:function``.

    A file is imported with its own folder on ``sys.path`` (so it can import its neighbours), a
    module with the current folder on it, as ``python -m`` would; ``sys.path`` is restored after.

    Examples
    --------
    >>> load_factory("near.models:mlp").__name__
    'mlp'
    """
    location, colon, attribute = spec.rpartition(":")
    if not colon or not location or not attribute:
        raise ModelError(
            f"model spec {spec!r} must be 'package.module:function' or 'path/to/file.py:function' "
            "(a colon, then the name of a function that returns an nn.Module)"
        )
    module = _import_file(location) if _is_file(location) else _import_module(location)
    target = module
    for name in attribute.split("."):
        if not hasattr(target, name):
            public = sorted(
                n
                for n, value in vars(module).items()
                if not n.startswith("_") and callable(value) and getattr(value, "__module__", None) == module.__name__
            )
            hint = f"; callables it defines: {', '.join(public[:12])}" if public else ""
            raise ModelError(f"{location} has no attribute {attribute!r}{hint}")
        target = getattr(target, name)
    if not callable(target):
        raise ModelError(f"{spec} is of type {type(target).__name__}, not a callable that returns an nn.Module")
    return target


def bind_data(factory: Callable, input_shape: tuple[int, ...], num_classes: int | None) -> Callable:
    """A zero-argument factory: passes ``input_shape`` / ``num_classes`` where ``factory`` takes them.

    ``num_classes=None`` (data without labels) is not passed: the factory's default applies, and a
    factory that requires it raises ``ModelError`` saying where the number of classes comes from.
    Raises ``ModelError`` if other parameters without defaults remain, since nothing could fill them.
    """
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # some builtins have no signature: call them as they are
        return factory
    data = {"input_shape": input_shape, "num_classes": num_classes}
    given = {
        name: data[name]
        for name, parameter in signature.parameters.items()
        if name in data and data[name] is not None
        and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    }
    name = getattr(factory, "__qualname__", repr(factory))
    wanted = signature.parameters.get("num_classes")
    if num_classes is None and wanted is not None and wanted.default is inspect.Parameter.empty:
        raise ModelError(
            f"{name}{signature} needs num_classes, but the data has no labels to count them; give data with "
            "labels (an .npz with 'labels', a .csv with a label column) or a default for num_classes"
        )
    try:
        signature.bind(**given)
    except TypeError as error:
        raise ModelError(
            f"{name}{signature} cannot be called with only {', '.join(DATA_PARAMETERS)} ({error}); "
            "give its other parameters defaults, or wrap it in a function that takes none"
        ) from error
    return functools.partial(factory, **given)


def _is_file(location: str) -> bool:
    return location.endswith(".py") or "/" in location or os.sep in location


def _import_file(location: str) -> ModuleType:
    path = Path(location).expanduser()
    if not path.is_file():
        raise ModelError(f"model file not found: {location}")
    return import_file(path, f"_near_model_{path.stem}", ModelError)


def import_file(path: Path, name: str, error: type[Exception], prefix: str = "") -> ModuleType:
    """Import a user's ``.py`` file as the module ``name``, its folder on ``sys.path`` while it runs (so it can
    import its neighbours). A failure raises ``error`` with ``prefix``, the file, the exception and its line; the
    half-made module is not left in ``sys.modules``."""
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise error(f"{prefix}cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up here
    try:
        with _on_path(path.resolve().parent):
            module_spec.loader.exec_module(module)
    except BaseException as failure:
        del sys.modules[name]
        if not isinstance(failure, Exception):
            raise
        frames = traceback.extract_tb(failure.__traceback__)
        where = f" (line {frames[-1].lineno} of {frames[-1].filename})" if frames else ""
        raise error(f"{prefix}importing {path} failed: {type(failure).__name__}: {failure}{where}") from failure
    return module


def _import_module(location: str) -> ModuleType:
    try:
        with _on_path(Path.cwd()):
            return importlib.import_module(location)
    except ModuleNotFoundError as error:
        if error.name and (location == error.name or location.startswith(error.name + ".")):
            raise ModelError(f"no module named {location!r} (for a file, give its path ending in .py)") from error
        raise ModelError(f"importing {location} failed: {type(error).__name__}: {error}") from error
    except Exception as error:
        raise ModelError(f"importing {location} failed: {type(error).__name__}: {error}") from error


@contextlib.contextmanager
def _on_path(folder: Path) -> Iterator[None]:
    entry = str(folder)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)


def call_factory(factory: Callable[[], nn.Module], what: str = "model") -> nn.Module:
    """``factory()``, with a :class:`ModelError` naming the ``what`` factory when it raises or gives no module."""
    try:
        module = factory()
    except Exception as error:
        raise ModelError(f"the {what} factory raised {type(error).__name__}: {error}") from error
    if not isinstance(module, nn.Module):
        raise ModelError(f"the {what} factory must return an nn.Module, got {type(module).__name__}")
    return module
