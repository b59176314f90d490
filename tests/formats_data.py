"""Writers of tiny files in the formats of near.formats, for the tests (written byte by byte, not by the readers)."""

from __future__ import annotations

import gzip
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
