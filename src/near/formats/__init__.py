"""Readers of the file formats users already have, one module per format.

Each reader turns one format into NumPy arrays as stored and raises :class:`~near.errors.DataError` naming
the file and what is wrong. :func:`read_samples` picks the reader of a sample file or folder;
:func:`near.data.load_data` (``--data``) and :func:`near.bench.load_images` (``near bench --images``) both
read through it, so a format is read the same way everywhere.
"""

from __future__ import annotations

from .idx import read_idx
from .samples import read_samples

__all__ = ["read_idx", "read_samples"]
