"""Readers of the file formats users already have, one module per format.

=================  ===================================================================================
module             format
=================  ===================================================================================
``arrays``         ``.npz`` (``images``/``labels`` or ``x``/``y``), ``.npy``
``csvfile``        ``.csv`` of numbers with an optional label column
``idx``            IDX files and MNIST-style folders (MNIST, Fashion-MNIST, KMNIST, EMNIST)
``cifar``          ``cifar-10-batches-py``, ``cifar-100-python``
``imagenet16``     NB201's ImageNet16 (``train_data_batch_*``), read as ImageNet16-120
``imagefolder``    PNG/JPEG files, one subfolder per class or unlabelled
``nats``           official NATS-Bench ``-simple`` directories (ground-truth tables, not samples)
=================  ===================================================================================

Each reader turns one format into NumPy arrays as stored and raises :class:`~near.errors.DataError` naming
the file and what is wrong. :func:`read_samples` picks the reader of a sample file or folder;
:func:`near.data.load_data` (``--data``) and :func:`near.bench.load_images` (``near bench --images``) both
read through it, so a format is read the same way everywhere.
"""

from __future__ import annotations

from .cifar import read_cifar_folder
from .idx import read_idx, read_idx_folder
from .imagefolder import read_image_folder
from .imagenet16 import read_imagenet16_folder
from .nats import NatsDirectory, read_nats_directory
from .samples import read_samples

__all__ = [
    "NatsDirectory",
    "read_cifar_folder",
    "read_idx",
    "read_idx_folder",
    "read_image_folder",
    "read_imagenet16_folder",
    "read_nats_directory",
    "read_samples",
]
