"""Readers of the file formats users already have, one module per format.

Each reader turns one format into NumPy arrays and raises :class:`~near.errors.DataError` naming the file
and what is wrong; :mod:`near.data` (``--data``) and :mod:`near.bench.images` (``near bench --images``)
both read through here, so a format is read the same way everywhere.
"""

from __future__ import annotations

from .idx import read_idx

__all__ = ["read_idx"]
