"""near.formats.idx: IDX files (MNIST family), plain and gzip, every type code, bad files, Fashion-MNIST."""

from __future__ import annotations

import numpy as np
import pytest

from formats_data import idx_bytes, write_idx
from near.data import load_data
from near.errors import DataError
from near.formats import read_idx
from near.formats.idx import find_idx_split, read_idx_folder


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


def _mnist_folder(folder, suffix=".gz", prefix=""):
    rng = np.random.default_rng(1)
    images = {split: rng.integers(0, 256, (n, 4, 3), dtype=np.uint8) for split, n in (("train", 6), ("t10k", 2))}
    labels = {"train": np.array([0, 1, 2, 0, 1, 2], np.uint8), "t10k": np.array([1, 1], np.uint8)}
    folder.mkdir(exist_ok=True)
    for split in images:
        write_idx(folder / f"{prefix}{split}-images-idx3-ubyte{suffix}", images[split])
        write_idx(folder / f"{prefix}{split}-labels-idx1-ubyte{suffix}", labels[split])
    return images["train"], labels["train"]


@pytest.mark.parametrize(("suffix", "prefix"), [(".gz", ""), ("", ""), (".gz", "emnist-letters-")])
def test_a_folder_reads_as_its_training_split(tmp_path, suffix, prefix):
    images, labels = _mnist_folder(tmp_path / "mnist", suffix, prefix)
    data = load_data(str(tmp_path / "mnist"))
    assert data.x.shape == (6, 1, 4, 3) and data.name == "mnist"  # grey images gain a channel axis
    np.testing.assert_allclose(data.x[:, 0].numpy(), images / 255, rtol=1e-6)
    assert data.y.tolist() == labels.tolist() and data.num_classes == 3


def test_a_single_images_file_is_unlabelled_samples(tmp_path):
    images, _ = _mnist_folder(tmp_path)
    data = load_data(str(tmp_path / "train-images-idx3-ubyte.gz"))
    assert data.y is None and data.x.shape == (6, 1, 4, 3)
    np.testing.assert_allclose(data.x[:, 0].numpy(), images / 255, rtol=1e-6)


def test_plain_file_is_preferred_to_its_gz_twin(tmp_path):
    images, labels = _mnist_folder(tmp_path, ".gz")
    write_idx(tmp_path / "train-images-idx3-ubyte", images[::-1].copy())
    assert find_idx_split(tmp_path, "train", "images").name == "train-images-idx3-ubyte"
    np.testing.assert_array_equal(read_idx_folder(tmp_path)[0], images[::-1])


def test_folder_errors_name_what_is_missing_or_ambiguous(tmp_path):
    _mnist_folder(tmp_path / "a")
    (tmp_path / "a" / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="no train-labels-idx1-ubyte"):
        load_data(str(tmp_path / "a"))
    _mnist_folder(tmp_path / "b", prefix="emnist-letters-")
    _mnist_folder(tmp_path / "b", prefix="emnist-digits-")
    with pytest.raises(DataError, match="several IDX train images files"):
        load_data(str(tmp_path / "b"))
    _mnist_folder(tmp_path / "c")
    write_idx(tmp_path / "c" / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="5 labels for 6 samples"):
        load_data(str(tmp_path / "c"))
    (tmp_path / "d").mkdir()
    with pytest.raises(DataError, match="directory holding no dataset"):
        load_data(str(tmp_path / "d"))


def test_fashion_mnist_folder_as_data(shared_data):
    data = load_data(str(shared_data / "fashion-mnist"))
    assert data.x.shape == (60000, 1, 28, 28) and data.num_classes == 10
    assert float(data.x.mean()) == pytest.approx(0.2860, abs=5e-5)
