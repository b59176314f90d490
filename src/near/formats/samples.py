"""Which reader a sample file or folder needs, decided by its name and, for a folder, by the files it holds.

Every reader returns the arrays as stored (uint8 images stay uint8); :func:`near.data.load_data` scales
and checks them, so each format is read here and only here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import DataError
from .arrays import read_npy, read_npz
from .cifar import is_cifar10_folder, is_cifar100_folder, read_cifar_folder
from .csvfile import read_csv
from .idx import is_idx_file, read_idx, read_idx_folder
from .imagefolder import image_files, read_image_folder
from .imagenet16 import is_imagenet16_folder, read_imagenet16_folder

__all__ = ["FILE_FORMATS", "FOLDER_FORMATS", "read_samples"]

Reader = Callable[[Path], tuple[np.ndarray, np.ndarray | None]]

#: File suffix → reader; IDX files are recognised by name (``…-idx3-ubyte[.gz]``) instead.
_FILE_READERS: dict[str, Reader] = {".npz": read_npz, ".npy": read_npy, ".csv": read_csv}

#: What a sample file may be, for error messages.
FILE_FORMATS = "a .npz, .npy or .csv file, or an IDX file (…-idx3-ubyte[.gz])"
#: What a sample folder may be, for error messages.
FOLDER_FORMATS = (
    "a folder: MNIST-style IDX (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]), CIFAR-10 "
    "(cifar-10-batches-py), CIFAR-100 (cifar-100-python), NB201's ImageNet16 (train_data_batch_*) or image files "
    "(PNG/JPEG, in one subfolder per class or unlabelled)"
)


def read_samples(path: Path, targets: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray | None]:
    """Features and labels (``None`` when the format has none) of a sample file or folder.

    A folder is read as its **training split** (the images a network is trained on, whose distribution it should
    be scored on); a single IDX file as unlabelled samples. ``targets`` names the label column(s) of a CSV or the
    labels array of a ``.npz`` (other formats have no names).
    """
    suffix = path.suffix.lower()
    if targets and (path.is_dir() or suffix not in (".csv", ".npz")):
        raise DataError(
            f"{path}: a target ({', '.join(targets)}) names a column of a .csv file or an array of a .npz file; "
            "this format has no names (its labels, if any, are read as they are): drop the target"
        )
    if suffix == ".csv":
        return read_csv(path, targets)
    if suffix == ".npz" and targets:
        return read_npz(path, targets)
    if path.is_dir():
        return _read_folder(path)
    if is_idx_file(path):
        return read_idx(path), None
    reader = _FILE_READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"unsupported data file {path}: expected {FILE_FORMATS}, or {FOLDER_FORMATS}")
    return reader(path)


def _read_folder(folder: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """The first format whose files the folder holds, in this order: IDX, CIFAR-10, CIFAR-100, ImageNet16, images."""
    if any(is_idx_file(path) for path in folder.iterdir() if path.is_file()):
        return read_idx_folder(folder)
    if is_cifar10_folder(folder) or is_cifar100_folder(folder):
        return read_cifar_folder(folder)
    if is_imagenet16_folder(folder):
        return read_imagenet16_folder(folder)
    if image_files(folder)[0]:
        return read_image_folder(folder)
    raise DataError(f"{folder} is a directory holding no dataset near can read; expected {FOLDER_FORMATS}")
