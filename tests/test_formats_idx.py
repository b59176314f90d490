"""near.formats.idx: IDX files (MNIST family), plain and gzip, every type code, bad files, Fashion-MNIST."""

from __future__ import annotations

import numpy as np
import pytest

from formats_data import idx_bytes, write_idx
from near.errors import DataError
from near.formats import read_idx


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_every_type_code_round_trips_plain_and_gzip(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=(3, 4, 5)) * 50).astype(dtype)
    read = read_idx(write_idx(tmp_path / f"x-idx3{suffix}", array))
    assert read.dtype == np.dtype(dtype) and read.dtype.isnative
    np.testing.assert_array_equal(read, array)


def test_bytes_are_read_big_endian(tmp_path):
    # one int32 dimension of 2: values 0x00000102 = 258 and 0x01000000 = 16777216, written by hand
    path = tmp_path / "x"
    path.write_bytes(bytes([0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 1, 2, 1, 0, 0, 0]))
    assert read_idx(path).tolist() == [258, 16777216]


def test_zero_dimensional_and_empty_arrays(tmp_path):
    assert read_idx(write_idx(tmp_path / "s", np.array(7, dtype=np.uint8))).tolist() == 7
    assert read_idx(write_idx(tmp_path / "e", np.zeros((0, 28, 28), np.uint8))).shape == (0, 28, 28)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not an IDX file"),
        (b"PK\x03\x04rest", "not an IDX file"),
        (bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 5]), "unknown IDX type code 0x0A"),
        (bytes([0, 0, 8, 3, 0, 0, 0, 1]), "announces 3 dimensions"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 3]), "cut short"),
        (bytes([0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3]), "holds 3"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_idx(path)


def test_missing_and_broken_gzip_files(tmp_path):
    with pytest.raises(DataError, match="IDX file not found"):
        read_idx(tmp_path / "nothing-idx1-ubyte")
    broken = tmp_path / "x-idx1-ubyte.gz"
    broken.write_bytes(idx_bytes(np.arange(3, dtype=np.uint8)))  # not compressed, named .gz
    with pytest.raises(DataError, match="cannot read the IDX file"):
        read_idx(broken)


def test_fashion_mnist_as_published(shared_data):
    folder = shared_data / "fashion-mnist"
    images = read_idx(folder / "train-images-idx3-ubyte.gz")
    labels = read_idx(folder / "train-labels-idx1-ubyte.gz")
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and np.bincount(labels).tolist() == [6000] * 10
    assert images.mean() / 255 == pytest.approx(0.2860, abs=5e-5)
    test_images, test_labels = (
        read_idx(folder / "t10k-images-idx3-ubyte.gz"),
        read_idx(folder / "t10k-labels-idx1-ubyte.gz"),
    )
    assert test_images.shape == (10000, 28, 28) and np.bincount(test_labels).tolist() == [1000] * 10
