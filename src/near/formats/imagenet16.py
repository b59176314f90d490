"""ImageNet16-120 as NAS-Bench-201 distributes it: the 16×16 downsampled ImageNet of Chrabaszcz et al. (2017).

The ``ImageNet16/`` folder holds ``train_data_batch_1`` … ``train_data_batch_10`` and ``val_data``: pickles of
``data``, uint8 N×768 (3 planes of 16×16), and ``labels``, **1-based** ImageNet classes 1 … 1000. NB201's
ImageNet16-120 keeps the images of classes 1 … 120 and numbers them 0 … 119 (xautodl's
``ImageNet16(..., use_num_of_class_only=120)``), 151,700 training images; read here the same way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .cifar import read_cifar_batches

__all__ = ["IMAGENET16_TRAIN", "NUM_CLASSES", "is_imagenet16_folder", "read_imagenet16_folder"]

#: The training batches, in the order they are concatenated.
IMAGENET16_TRAIN: tuple[str, ...] = tuple(f"train_data_batch_{i}" for i in range(1, 11))
#: Classes kept (1 … NUM_CLASSES of the 1,000), as NB201's ImageNet16-120.
NUM_CLASSES = 120


def is_imagenet16_folder(folder: Path) -> bool:
    """Whether ``folder`` holds ImageNet16's ``train_data_batch_*`` files."""
    return any(folder.glob("train_data_batch_*"))


def read_imagenet16_folder(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """ImageNet16-120's training split: uint8 images N×3×16×16 of classes 1 … 120, labelled 0 … 119."""
    missing = [name for name in IMAGENET16_TRAIN if not (folder / name).is_file()]
    if missing:
        raise DataError(
            f"{folder} looks like NB201's ImageNet16 but lacks {', '.join(missing)}; its training split is "
            "train_data_batch_1 … train_data_batch_10"
        )
    images, labels = [], []
    for name in IMAGENET16_TRAIN:  # one batch at a time, keeping only the 120 classes (the whole set is 1 GB)
        batch_images, batch_labels = read_cifar_batches([folder / name], "labels", side=16)
        if len(batch_labels) and (batch_labels.min() < 1 or batch_labels.max() > 1000):
            raise DataError(
                f"{folder / name}: labels must be ImageNet classes 1 … 1000 (1-based), got "
                f"{batch_labels.min()} … {batch_labels.max()}"
            )
        keep = batch_labels <= NUM_CLASSES
        images.append(batch_images[keep])
        labels.append(batch_labels[keep] - 1)
    return np.concatenate(images), np.concatenate(labels)
