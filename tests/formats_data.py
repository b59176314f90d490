"""Writers of tiny files in the formats of near.formats, for the tests (written byte by byte, not by the readers)."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

IDX_CODES = {
    np.dtype("uint8"): 0x08,
    np.dtype("int8"): 0x09,
    np.dtype("int16"): 0x0B,
    np.dtype("int32"): 0x0C,
    np.dtype("float32"): 0x0D,
    np.dtype("float64"): 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``: magic (0, 0, type code, ndim), big-endian dims, big-endian data."""
    header = bytes([0, 0, IDX_CODES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as IDX, gzip-compressed when ``path`` ends in ``.gz``."""
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def write_pickle(path: Path, obj) -> Path:
    """``obj`` pickled with protocol 2, as the CIFAR and ImageNet16 batches were."""
    path.write_bytes(pickle.dumps(obj, protocol=2))
    return path


def cifar_images(n: int, side: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 3, side, side), dtype=np.uint8)


def write_cifar10(folder: Path, per_batch: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A cifar-10-batches-py of 5 training batches (bytes keys, as Python 2 wrote them) plus a test batch."""
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = cifar_images(5 * per_batch + 2), np.arange(5 * per_batch + 2) % 10
    for i in range(5):
        part = slice(i * per_batch, (i + 1) * per_batch)
        batch = {
            b"batch_label": b"training batch",
            b"data": images[part].reshape(per_batch, -1),
            b"labels": labels[part].tolist(),
            b"filenames": [b"x.png"] * per_batch,
        }
        write_pickle(folder / f"data_batch_{i + 1}", batch)
    write_pickle(folder / "test_batch", {b"data": images[-2:].reshape(2, -1), b"labels": labels[-2:].tolist()})
    write_pickle(folder / "batches.meta", {b"label_names": [b"airplane"] * 10, b"num_cases_per_batch": per_batch})
    return images[:-2], labels[:-2]


def write_cifar100(folder: Path, n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A cifar-100-python: ``train`` (fine and coarse labels), ``test`` and ``meta``; str keys."""
    folder.mkdir(parents=True, exist_ok=True)
    images, fine = cifar_images(n, seed=1), np.array([99, 0, 42, 7][:n])
    write_pickle(
        folder / "train",
        {"data": images.reshape(n, -1), "fine_labels": fine.tolist(), "coarse_labels": (fine // 5).tolist()},
    )
    write_pickle(folder / "test", {"data": images[:1].reshape(1, -1), "fine_labels": [3], "coarse_labels": [0]})
    write_pickle(folder / "meta", {"fine_label_names": ["apple"] * 100})
    return images, fine


def write_imagenet16(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """NB201's ImageNet16: ten 16x16 training batches with 1-based labels 1 ... 1000 and val_data."""
    folder.mkdir(parents=True, exist_ok=True)
    images = cifar_images(20, side=16, seed=2)
    labels = np.array([1, 120, 121, 1000, 5, 60, 500, 2, 119, 999] * 2)
    for i in range(10):
        part = slice(2 * i, 2 * i + 2)
        write_pickle(
            folder / f"train_data_batch_{i + 1}",
            {"data": images[part].reshape(2, -1), "labels": labels[part].tolist(), "mean": np.zeros(768)},
        )
    write_pickle(folder / "val_data", {"data": images[:1].reshape(1, -1), "labels": [3]})
    keep = labels <= 120
    return images[keep], labels[keep] - 1
