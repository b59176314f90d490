"""Image datasets in the formats users have: CIFAR-10/100 pickle folders, NB201's ImageNet16 and folders of image
files, read through near.data.load_data (--data) and near.bench.load_images (near bench --images)."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from PIL import Image

from formats_data import write_cifar10, write_cifar100, write_imagenet16, write_pickle
from near.bench import load_images
from near.data import load_data
from near.errors import DataError
from near.formats import read_samples


def test_cifar10_folder_is_its_five_training_batches_in_order(tmp_path):
    images, labels = write_cifar10(tmp_path / "cifar-10-batches-py")
    x, y = read_samples(tmp_path / "cifar-10-batches-py")
    assert x.dtype == np.uint8 and x.shape == (15, 3, 32, 32)  # the test batch is not read
    np.testing.assert_array_equal(x, images)
    assert y.tolist() == labels.tolist()


def test_cifar_rows_are_red_green_blue_planes_row_major(tmp_path):
    write_cifar10(tmp_path)
    row = np.zeros((3, 3072), np.uint8)
    row[0, 1024 + 32 * 2 + 5] = 200  # green plane, y = 2, x = 5
    write_pickle(tmp_path / "data_batch_1", {b"data": row, b"labels": [0, 1, 2]})
    x, _ = read_samples(tmp_path)
    assert x[0, 1, 2, 5] == 200 and x[0].sum() == 200


def test_cifar100_uses_the_100_fine_labels(tmp_path):
    images, fine = write_cifar100(tmp_path / "cifar-100-python")
    data = load_data(str(tmp_path / "cifar-100-python"))
    np.testing.assert_allclose(data.x.numpy(), images / 255, rtol=1e-6)
    assert data.y.tolist() == fine.tolist() and data.num_classes == 100


def test_imagenet16_keeps_classes_1_to_120_numbered_from_0(tmp_path):
    images, labels = write_imagenet16(tmp_path / "ImageNet16")
    x, y = read_samples(tmp_path / "ImageNet16")
    assert x.shape == (12, 3, 16, 16) and y.tolist() == labels.tolist()
    assert set(y.tolist()) == {0, 119, 4, 59, 1, 118}
    np.testing.assert_array_equal(x, images)


def test_bench_images_read_the_same_folders_with_their_statistics(tmp_path):
    write_imagenet16(tmp_path / "ImageNet16")
    sample = load_images(tmp_path / "ImageNet16", normalize="imagenet16-120")
    assert sample.shape == (3, 16, 16) and sample.available == 12 and len(sample) == 12
    write_cifar10(tmp_path / "c10")
    sample = load_images(tmp_path / "c10", num_images=4)
    assert len(sample) == 4 and sample.normalize == "cifar10" and sample.num_classes == 10


def test_incomplete_or_foreign_batches_are_refused(tmp_path):
    write_cifar10(tmp_path / "a")
    (tmp_path / "a" / "data_batch_3").unlink()
    with pytest.raises(DataError, match="lacks data_batch_3"):
        load_data(str(tmp_path / "a"))
    write_cifar10(tmp_path / "b")
    write_pickle(tmp_path / "b" / "data_batch_2", {b"data": np.zeros((3, 3072), np.uint8)})
    with pytest.raises(DataError, match="has no 'labels'; it has 'data'"):
        load_data(str(tmp_path / "b"))
    write_cifar10(tmp_path / "c")
    write_pickle(tmp_path / "c" / "data_batch_2", {b"data": np.zeros((3, 1024), np.uint8), b"labels": [0, 0, 0]})
    with pytest.raises(DataError, match=r"must be uint8 of shape \(N, 3072\)"):
        load_data(str(tmp_path / "c"))
    write_imagenet16(tmp_path / "d")
    write_pickle(tmp_path / "d" / "train_data_batch_4", {"data": np.zeros((1, 768), np.uint8), "labels": [0]})
    with pytest.raises(DataError, match="1-based"):
        load_data(str(tmp_path / "d"))


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_batch_naming_code_is_refused_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_cifar10(tmp_path / "e")
    (tmp_path / "e" / "data_batch_1").write_bytes(pickle.dumps({b"data": _Payload(), b"labels": []}))
    with pytest.raises(DataError, match="refusing to load"):
        load_data(str(tmp_path / "e"))
    assert not (tmp_path / "PWNED").exists()


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_class_subfolders_are_labelled_in_sorted_order(tmp_path):
    rng = np.random.default_rng(0)
    pictures = {
        name: rng.integers(0, 256, (5, 4, 3), dtype=np.uint8) for name in ("dog/b.png", "cat/a.png", "dog/a.png")
    }
    for name, array in pictures.items():
        _save(tmp_path / "pets" / name, array)
    x, y = read_samples(tmp_path / "pets")
    assert x.shape == (3, 3, 5, 4) and y.tolist() == [0, 1, 1]  # cat/a, dog/a, dog/b
    for i, name in enumerate(["cat/a.png", "dog/a.png", "dog/b.png"]):
        np.testing.assert_array_equal(x[i], pictures[name].transpose(2, 0, 1))  # lossless PNG, HWC -> CHW


def test_a_flat_folder_of_grey_images_is_unlabelled_one_channel(tmp_path):
    for i in range(3):
        _save(tmp_path / "g" / f"{i}.png", np.full((6, 7), 40 * i, np.uint8))
    data = load_data(str(tmp_path / "g"))
    assert data.y is None and data.x.shape == (3, 1, 6, 7)
    assert data.x[:, 0, 0, 0].tolist() == pytest.approx([0, 40 / 255, 80 / 255])


def test_jpeg_and_mixed_modes_read_as_rgb(tmp_path):
    _save(tmp_path / "m" / "a.jpg", np.full((8, 8, 3), 128, np.uint8))
    _save(tmp_path / "m" / "b.png", np.full((8, 8), 255, np.uint8))  # grey among colour: read as RGB
    x, y = read_samples(tmp_path / "m")
    assert x.shape == (2, 3, 8, 8) and y is None
    assert abs(int(x[0].mean()) - 128) <= 2 and (x[1] == 255).all()  # JPEG is lossy


def test_image_folder_errors(tmp_path):
    _save(tmp_path / "s" / "a.png", np.zeros((4, 4), np.uint8))
    _save(tmp_path / "s" / "b.png", np.zeros((5, 4), np.uint8))
    with pytest.raises(DataError, match=r"differ in size \(width×height: a.png is 4×4, b.png is 4×5\); resize"):
        read_samples(tmp_path / "s")
    _save(tmp_path / "both" / "a.png", np.zeros((4, 4), np.uint8))
    _save(tmp_path / "both" / "cls" / "b.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(DataError, match="both in it .* and in class subfolders"):
        read_samples(tmp_path / "both")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot read the image"):
        read_samples(tmp_path / "bad")
    Image.fromarray(np.zeros((4, 4), np.uint16)).save(tmp_path / "wide.png")
    (tmp_path / "w").mkdir()
    (tmp_path / "wide.png").rename(tmp_path / "w" / "wide.png")
    with pytest.raises(DataError, match="16-bit or float"):
        read_samples(tmp_path / "w")


def test_an_unknown_folder_lists_what_folders_may_be(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="holding no dataset near can read.*cifar-10-batches-py.*train_data_batch"):
        load_data(str(tmp_path))
