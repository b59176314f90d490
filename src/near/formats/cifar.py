"""CIFAR-10 and CIFAR-100 as their authors (and torchvision) distribute them: folders of Python pickles.

``cifar-10-batches-py/`` holds ``data_batch_1`` … ``data_batch_5`` (the 50,000 training images), ``test_batch``
and ``batches.meta``; ``cifar-100-python/`` holds ``train`` (50,000), ``test`` and ``meta``. Each batch is a
dict with ``data``, uint8 N×3072 (the red, green and blue 32×32 planes of each image in turn), and
``labels`` (CIFAR-10) or ``fine_labels`` (CIFAR-100's 100 classes; ``coarse_labels`` are its 20
superclasses). https://www.cs.toronto.edu/~kriz/cifar.html
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ._pickle import load_plain

__all__ = ["CIFAR10_TRAIN", "is_cifar10_folder", "is_cifar100_folder", "read_cifar_batches", "read_cifar_folder"]

#: The training batches of CIFAR-10, in the order they are concatenated.
CIFAR10_TRAIN: tuple[str, ...] = tuple(f"data_batch_{i}" for i in range(1, 6))


def is_cifar10_folder(folder: Path) -> bool:
    """Whether ``folder`` looks like ``cifar-10-batches-py`` (it has ``batches.meta`` or ``data_batch_1``)."""
    return (folder / "batches.meta").is_file() or (folder / "data_batch_1").is_file()


def is_cifar100_folder(folder: Path) -> bool:
    """Whether ``folder`` looks like ``cifar-100-python`` (``train`` beside ``meta``)."""
    return (folder / "train").is_file() and (folder / "meta").is_file()


def read_cifar_folder(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The training split of a CIFAR-10 or CIFAR-100 folder: uint8 images N×3×32×32 and int64 labels."""
    if is_cifar100_folder(folder):
        return read_cifar_batches([folder / "train"], "fine_labels")
    missing = [name for name in CIFAR10_TRAIN if not (folder / name).is_file()]
    if missing:
        raise DataError(
            f"{folder} looks like CIFAR-10 (cifar-10-batches-py) but lacks {', '.join(missing)}; its training split "
            f"is {', '.join(CIFAR10_TRAIN)}"
        )
    return read_cifar_batches([folder / name for name in CIFAR10_TRAIN], "labels")


def read_cifar_batches(paths: list[Path], label_key: str, side: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate CIFAR-style batches (``data`` N×(3·side²) uint8, ``label_key`` a list of ints) in order."""
    images, labels = [], []
    for path in paths:
        batch = _load_batch(path)
        data, batch_labels = _field(batch, "data", path), _field(batch, label_key, path)
        data = np.asarray(data)
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * side * side:
            raise DataError(
                f"{path}: 'data' must be uint8 of shape (N, {3 * side * side}) (3 planes of {side}×{side}), "
                f"got {data.dtype} {data.shape}"
            )
        if len(batch_labels) != len(data):
            raise DataError(f"{path}: {len(batch_labels)} labels for {len(data)} images")
        images.append(data.reshape(-1, 3, side, side))
        labels.append(np.asarray(batch_labels, dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def _load_batch(path: Path) -> dict:
    try:
        batch = load_plain(path.read_bytes(), encoding="latin1")
    except FileNotFoundError:
        raise DataError(f"file not found: {path}") from None
    except (OSError, EOFError, ValueError, pickle.PickleError) as error:
        raise DataError(f"cannot read the batch {path}: {error}") from None
    if not isinstance(batch, dict):
        raise DataError(f"{path} holds a {type(batch).__name__}, not a batch dict with 'data' and labels")
    return batch


def _field(batch: dict, key: str, path: Path) -> Any:
    """``batch[key]``, whether the pickle's keys came back as text or (Python 2 pickles) as bytes."""
    for candidate in (key, key.encode()):
        if candidate in batch:
            return batch[candidate]
    keys = ", ".join(repr(k.decode() if isinstance(k, bytes) else k) for k in batch)
    raise DataError(f"{path} has no {key!r}; it has {keys}")
