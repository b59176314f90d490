"""IDX files, the format of MNIST, Fashion-MNIST, KMNIST and EMNIST (``*-idx3-ubyte``, optionally ``.gz``).

An IDX file is a 4-byte magic number — two zero bytes, a type code and the number of dimensions — then
each dimension as a big-endian unsigned 32-bit integer, then the data, big-endian, in C order
(http://yann.lecun.com/exdb/mnist/). Files ending in ``.gz`` are decompressed as they are read.
"""

from __future__ import annotations

import gzip
import re
import struct
from pathlib import Path

import numpy as np

from ..errors import DataError

__all__ = ["IDX_TYPES", "find_idx_split", "is_idx_file", "read_idx", "read_idx_folder"]

#: Type code of the magic number → big-endian NumPy dtype of the data.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

#: File names of IDX data: ``train-images-idx3-ubyte``, ``t10k-labels.idx1-ubyte.gz``, ``emnist-…-idx3-ubyte``.
_IDX_NAME = re.compile(r"idx\d+-ubyte(\.gz)?$", re.IGNORECASE)


def is_idx_file(path: Path) -> bool:
    """Whether ``path``'s name is an IDX file's (``…idx<N>-ubyte``, optionally ``.gz``)."""
    return bool(_IDX_NAME.search(path.name))


def find_idx_split(folder: Path, split: str, kind: str) -> Path | None:
    """The one file of ``folder`` named ``[prefix-]<split>-<kind>-idx<N>-ubyte[.gz]`` (``kind`` images or labels).

    A plain file is preferred to its ``.gz`` twin (``gunzip -k`` leaves both); several different files
    (EMNIST's splits side by side) raise :class:`~near.errors.DataError` listing them.
    """
    pattern = re.compile(rf"(^|[-_.]){split}[-.]{kind}[-.]idx\d+-ubyte(\.gz)?$", re.IGNORECASE)
    found = sorted(path for path in folder.iterdir() if path.is_file() and pattern.search(path.name))
    names = {path.name.removesuffix(".gz").removesuffix(".GZ") for path in found}
    if len(names) > 1:
        raise DataError(
            f"{folder} holds several IDX {split} {kind} files ({', '.join(p.name for p in found)}); "
            "give one file, or a folder with one set"
        )
    return min(found, key=lambda path: path.suffix.lower() == ".gz") if found else None


def read_idx_folder(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The training split of an MNIST-style folder: ``train-images-idx3-ubyte[.gz]`` and its labels.

    The ``t10k-*`` test files may be there too; they are not read (a network is scored on samples of the
    distribution it will be trained on).
    """
    images, labels = find_idx_split(folder, "train", "images"), find_idx_split(folder, "train", "labels")
    if images is None or labels is None:
        missing = " and ".join(
            name
            for name, path in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels))
            if not path
        )
        raise DataError(f"{folder} looks like an IDX folder but has no {missing} (plain or .gz)")
    return read_idx(images), read_idx(labels)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (plain or ``.gz``) into an array of its shape and native-endian dtype.

    Raises :class:`~near.errors.DataError` for a file that is missing, is not IDX (wrong magic number,
    unknown type code) or is shorter or longer than its header says.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte"
    >>> _ = path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
    >>> read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as stream:
                data = stream.read()
        else:
            data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"IDX file not found: {path}") from None
    except (OSError, EOFError) as error:  # gzip raises BadGzipFile (an OSError) or EOFError when cut short
        raise DataError(f"cannot read the IDX file {path}: {error}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{path} is not an IDX file: it must start with two zero bytes, a type code and the number of "
            f"dimensions, but starts with {data[:4].hex(' ') or 'nothing'}"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{key:02X} ({value.name})" for key, value in IDX_TYPES.items())
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X}; IDX defines {known}")
    start = 4 + 4 * ndim
    if len(data) < start:
        raise DataError(f"{path}: the IDX header announces {ndim} dimensions but the file ends after {len(data)} bytes")
    shape = struct.unpack(f">{ndim}I", data[4:start])
    dtype = IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - start != expected:
        raise DataError(
            f"{path}: the IDX header says shape {shape} of {dtype.name} ({expected} bytes of data), but the file "
            f"holds {len(data) - start}; it is cut short or not one IDX file"
        )
    return np.frombuffer(data, dtype=dtype, offset=start).reshape(shape).astype(dtype.newbyteorder("="))
