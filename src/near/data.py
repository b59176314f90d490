"""Sample data for the command line: a few built-in datasets, and the files and folders of :mod:`near.formats`.

The built-ins ship inside scikit-learn, so nothing is downloaded at run time. Everything is returned
as float32 features plus, when there are any, int64 class labels or float32 regression targets (labels
that are not all whole numbers), ready to pass to :func:`near.score`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import DataError
from .formats.csvfile import csv_feature_names
from .formats.samples import FILE_FORMATS, FOLDER_FORMATS, read_samples

BUILTIN_DATASETS: dict[str, str] = {
    "digits": "1,797 handwritten digits, 8x8 grey images as (N, 1, 8, 8) in [0, 1], 10 classes (scikit-learn)",
    "iris": "150 iris flowers, 4 standardised features, 3 classes (scikit-learn)",
    "wine": "178 wines, 13 standardised features, 3 classes (scikit-learn)",
    "breast_cancer": "569 breast tumours, 30 standardised features, 2 classes (scikit-learn)",
}


@dataclass(frozen=True)
class LoadedData:
    """Features ``x`` (float32, first axis = samples), optional labels ``y`` and a display name.

    ``y`` is int64 class indices, or float32 regression targets (``(N,)`` or ``(N, k)``) when the labels
    are numbers that are not all whole (e.g. energies).
    """

    x: torch.Tensor
    y: torch.Tensor | None
    name: str
    columns: tuple[str, ...] | None = None  # a CSV header's names of the feature columns (None without a header)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, e.g. ``(1, 8, 8)`` for ``digits``."""
        return tuple(self.x.shape[1:])

    @property
    def num_classes(self) -> int | None:
        """``max label + 1`` (so labels index a model's outputs), or the number of distinct labels if that is larger."""
        if self.y is None or self.is_regression:
            return None
        return max(int(self.y.max()) + 1, len(torch.unique(self.y)))

    @property
    def is_regression(self) -> bool:
        """Whether ``y`` holds real-valued regression targets rather than class indices."""
        return self.y is not None and self.y.is_floating_point()

    @property
    def num_outputs(self) -> int | None:
        """The output width the labels call for: the number of classes, or of regression targets per sample."""
        if self.is_regression:
            return 1 if self.y.ndim == 1 else int(self.y.shape[1])
        return self.num_classes

    def __len__(self) -> int:
        return len(self.x)


def load_data(spec: str, target: str | Sequence[str] | None = None) -> LoadedData:
    """Load a built-in dataset by name (see ``BUILTIN_DATASETS``), or a file or folder of :mod:`near.formats`.

    Files: ``.npz`` with arrays ``images`` (and optionally ``labels``) or ``x`` (and ``y``); ``.npy``
    with features only; ``.csv`` of numbers, with an optional header row where a column named
    ``label``, ``labels``, ``y``, ``target`` or ``class`` holds the labels; an IDX file
    (``…-idx3-ubyte[.gz]``, unlabelled). Folders are read as their training split: an MNIST-style
    folder (``train-images-idx3-ubyte[.gz]`` with ``train-labels-idx1-ubyte[.gz]``). uint8 arrays are images
    and are scaled to [0, 1]; a ``(N, H, W)`` uint8 array gains a channel axis, ``(N, 1, H, W)``, as
    convolutions expect. Other numbers are only cast to float32.

    ``target`` names the label column(s) of a CSV instead of the label names above (several names, or one
    string ``"a,b"``: an ``(N, k)`` regression target), or the labels array of a ``.npz``; a name that is
    not there is an error listing the names that are.

    Examples
    --------
    >>> data = load_data("digits")
    >>> data.x.shape, data.input_shape, data.num_classes
    (torch.Size([1797, 1, 8, 8]), (1, 8, 8), 10)
    """
    targets = _target_names(target)
    if spec in BUILTIN_DATASETS:
        if targets:
            raise DataError(
                f"a target names a column of a .csv file or an array of a .npz file; {spec} is a built-in "
                "dataset with its own labels: drop the target"
            )
        x, y = _BUILTINS[spec]()
        return _finish(x, y, spec)
    path = Path(spec).expanduser()
    if not path.exists():
        if path.suffix or len(path.parts) > 1:
            raise DataError(f"data file not found: {spec}")
        raise DataError(
            f"unknown dataset {spec!r}; built-in datasets are {', '.join(BUILTIN_DATASETS)} "
            f"(a path to {FILE_FORMATS}, or to {FOLDER_FORMATS}, is also accepted)"
        )
    x, y = read_samples(path, targets)
    columns = csv_feature_names(path, targets) if path.suffix.lower() == ".csv" and path.is_file() else None
    return _finish(x, y, path.name, columns)


def _target_names(target) -> tuple[str, ...]:
    """``None`` → ``()``; ``"energy"`` / ``"fx,fy"`` / ``["fx", "fy"]`` → the names, stripped."""
    if target is None:
        return ()
    names = target.split(",") if isinstance(target, str) else list(target)
    if not all(isinstance(n, str) for n in names):
        raise DataError(f"target must be a column name or a list of names, got {target!r}")
    names = [n.strip() for n in names]
    if not names or not all(names) or len(set(names)) != len(names):
        raise DataError(f"target must name distinct, non-empty columns, got {target!r}")
    return tuple(names)


def _finish(x: np.ndarray, y: np.ndarray | None, name: str, columns: tuple[str, ...] | None = None) -> LoadedData:
    """Check once, at the boundary, then convert: uint8 images to [0, 1], everything else to float32."""
    if x.dtype == np.uint8 and x.ndim == 3:
        x = x[:, None]
    if x.ndim == 0 or x.size == 0:
        raise DataError(f"{name}: the data is empty (shape {x.shape})")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_) or np.iscomplexobj(x):
        raise DataError(f"{name}: the data must be real numbers, got dtype {x.dtype}")
    features = x.astype(np.float32) / 255 if x.dtype == np.uint8 else x.astype(np.float32)
    if not np.isfinite(features).all():
        raise DataError(f"{name}: the data contains NaN or infinite values")
    labels = None if y is None else torch.from_numpy(_labels(y, len(x), name))
    return LoadedData(torch.from_numpy(np.ascontiguousarray(features)), labels, name, columns)


def _labels(y: np.ndarray, n: int, name: str) -> np.ndarray:
    """Class indices (int64), or float32 regression targets when the numbers are not all whole."""
    if y.ndim == 0 or len(y) != n:
        count = 0 if y.ndim == 0 else len(y)
        raise DataError(f"{name}: {count} labels for {n} samples; there must be one label per sample")
    regression = (
        np.issubdtype(y.dtype, np.floating)
        and np.all(np.isfinite(y))
        and (y.ndim == 2 or not np.all(y == np.round(y)))  # (N, k) numbers are k targets, never classes
    )
    if regression and y.ndim <= 2:
        return y.astype(np.float32)
    if y.ndim != 1:
        raise DataError(
            f"{name}: labels must be one-dimensional (or (N, k) real-valued regression targets), got shape {y.shape}"
        )
    if y.dtype.kind in "OSU":  # class names (e.g. a CSV column of strings) become 0 … K-1, in sorted order
        return np.unique(y.astype(str), return_inverse=True)[1].astype(np.int64)
    if y.dtype == np.bool_:
        return y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.number) or not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
        raise DataError(
            f"{name}: labels must be class indices (whole numbers) or finite real-valued regression targets, "
            f"got dtype {y.dtype}{' with NaN or infinite values' if y.dtype.kind == 'f' else ''}"
        )
    return y.astype(np.int64)


def _sklearn(loader_name: str, images: bool = False) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    def load() -> tuple[np.ndarray, np.ndarray]:
        import sklearn.datasets  # imported here: it is slow to import and only the built-ins need it

        bunch = getattr(sklearn.datasets, loader_name)()
        x = bunch.data
        if images:  # digits: pixel values 0 … 16
            x = x.reshape(-1, 1, 8, 8) / 16.0
        else:
            std = x.std(axis=0)
            x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
        return x, bunch.target

    return load


_BUILTINS = {
    "digits": _sklearn("load_digits", images=True),
    "iris": _sklearn("load_iris"),
    "wine": _sklearn("load_wine"),
    "breast_cancer": _sklearn("load_breast_cancer"),
}
