"""NumPy files: ``.npz`` archives of features and labels, ``.npy`` arrays of features."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError

__all__ = ["NPZ_KEYS", "read_npy", "read_npz"]

#: (features, labels) array names looked for in a ``.npz``, in this order; the labels are optional.
NPZ_KEYS: tuple[tuple[str, str], ...] = (("images", "labels"), ("x", "y"))


def read_npz(path: Path, targets: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray | None]:
    """Features and labels (or ``None``) of a ``.npz`` holding ``images``/``labels`` or ``x``/``y``;
    ``targets`` names the labels array instead (one name: an ``(N, k)`` array holds k targets)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as error:
        raise DataError(f"could not read {path}: {error}") from error
    if len(targets) > 1:
        raise DataError(
            f"{path}: a .npz file takes one target array (an (N, k) array for k targets), got {', '.join(targets)}"
        )
    if targets and targets[0] not in arrays:
        raise DataError(
            f"{path} has no array {targets[0]!r} to use as the target; its arrays are {', '.join(sorted(arrays))}"
        )
    for features, labels in NPZ_KEYS:
        if features in arrays:
            return arrays[features], arrays[targets[0]] if targets else arrays.get(labels)
    expected = " or ".join(f"{features!r} (with optional {labels!r})" for features, labels in NPZ_KEYS)
    raise DataError(f"{path} has arrays {sorted(arrays)}; expected {expected}")


def read_npy(path: Path) -> tuple[np.ndarray, None]:
    """The features of a ``.npy`` (it has no room for labels)."""
    try:
        return np.load(path, allow_pickle=False), None
    except Exception as error:
        raise DataError(f"could not read {path}: {error}") from error
