"""The image sample: which images, how they are normalised, and clear refusals of images a space cannot take."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench_data import NB201_ROWS, write_images
from near import spaces
from near.bench import check_fit, load_images
from near.bench.images import STATISTICS
from near.errors import DataError, OptionError

NB201 = spaces.get("nb201")
ARCH = NB201_ROWS[0][1]


def test_first_images_normalised_with_cifar10_constants_by_default(tmp_path):
    path = write_images(tmp_path / "i.npz", n=10)
    sample = load_images(path, num_images=4)
    raw = np.load(path)
    mean, std = STATISTICS["cifar10"]
    expected = (raw["images"][:4] / 255 - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    assert sample.normalize == "cifar10" and len(sample) == 4 and sample.available == 10
    np.testing.assert_allclose(sample.x.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert sample.y.tolist() == raw["labels"][:4].tolist() and sample.shape == (3, 8, 8)
    assert sample.num_classes == raw["labels"].max() + 1  # from every label of the file, not only the first 4


def test_default_count_is_256_or_all_and_sample_statistics_use_the_whole_file(tmp_path):
    assert len(load_images(write_images(tmp_path / "few.npz", n=10))) == 10
    assert len(load_images(write_images(tmp_path / "many.npz", n=300, shape=(3, 2, 2)))) == 256
    sample = load_images(tmp_path / "few.npz", num_images=3, normalize="sample")
    whole = torch.from_numpy(np.load(tmp_path / "few.npz")["images"]).float() / 255
    assert sample.mean == pytest.approx(whole.mean(dim=(0, 2, 3)).tolist())
    grey = load_images(write_images(tmp_path / "grey.npz", shape=(1, 8, 8)))
    assert grey.normalize == "sample" and len(grey.mean) == 1


def test_normalize_none_keeps_the_pixels_in_0_1(tmp_path):
    """For networks trained on unnormalised pixels (an MLP on Fashion-MNIST): what near score --normalize none does."""
    path = write_images(tmp_path / "i.npz", n=6, shape=(1, 4, 4))
    sample = load_images(path, normalize="none")
    np.testing.assert_allclose(sample.x.numpy(), np.load(path)["images"] / 255, rtol=1e-6)
    assert sample.normalize == "none" and sample.mean == (0.0,) and sample.std == (1.0,)


def test_hash_identifies_the_images_and_labels_seen(tmp_path):
    path = write_images(tmp_path / "i.npz", n=10)
    assert load_images(path, num_images=5).sha256 == load_images(path, num_images=5, normalize="cifar100").sha256
    assert load_images(path, num_images=5).sha256 != load_images(path, num_images=6).sha256
    assert load_images(path).sha256 != load_images(write_images(tmp_path / "j.npz", n=10, seed=1)).sha256


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"num_images": 11}, DataError, r"holds 10 images; cannot give 11 to each architecture"),
        ({"normalize": "imagenet"}, OptionError, "unknown normalize 'imagenet'; expected one of cifar10, cifar100"),
        ({"num_images": 0}, OptionError, "num_images must be a positive integer, got 0"),
    ],
)
def test_bad_options(tmp_path, options, error, message):
    with pytest.raises(error, match=message):
        load_images(write_images(tmp_path / "i.npz", n=10), **options)


def test_files_that_are_not_image_batches(tmp_path):
    with pytest.raises(DataError, match="data file not found"):
        load_images(tmp_path / "none.npz")
    np.savez(tmp_path / "flat.npz", x=np.zeros((4, 5), dtype=np.float32))
    with pytest.raises(DataError, match=r"images must be N×C×H×W .* got shape \(4, 5\)"):
        load_images(tmp_path / "flat.npz")
    grey = write_images(tmp_path / "grey.npz", shape=(1, 8, 8))
    with pytest.raises(OptionError, match="normalize='cifar10' is for 3-channel images, but .* has 1 channels"):
        load_images(grey, normalize="cifar10")
    pixels = np.load(write_images(tmp_path / "u8.npz", n=4))
    for dtype in (np.float32, np.uint16, np.int64):  # 0–255 values that are not uint8 would escape the scaling
        np.savez(tmp_path / "other.npz", images=pixels["images"].astype(dtype), labels=pixels["labels"])
        with pytest.raises(DataError, match=r"images must be uint8 \(0–255\) or floats in \[0, 1\].*range over \[0"):
            load_images(tmp_path / "other.npz")
    np.savez(tmp_path / "unit.npz", images=pixels["images"] / np.float32(255), labels=pixels["labels"])
    assert torch.allclose(load_images(tmp_path / "unit.npz").x, load_images(tmp_path / "u8.npz").x)


def test_channels_size_and_labels_must_fit_the_space(tmp_path):
    grey = load_images(write_images(tmp_path / "grey.npz", shape=(1, 8, 8)))
    with pytest.raises(DataError, match="has 1-channel images; nb201 networks take 3-channel"):
        check_fit(NB201, ARCH, grey, 10)
    tiny = load_images(write_images(tmp_path / "tiny.npz", shape=(3, 2, 2)))
    with pytest.raises(DataError, match=r"images of 3×2×2 do not fit nb201: a forward pass fails"):
        check_fit(NB201, ARCH, tiny, 10)
    many = load_images(write_images(tmp_path / "c100.npz", n=40, classes=100, seed=3))
    with pytest.raises(DataError, match=r"labels up to \d+, more than the 10 classes .* give --num-classes"):
        check_fit(NB201, ARCH, many, 10)
    check_fit(NB201, ARCH, many, 100)
    check_fit(NB201, ARCH, load_images(write_images(tmp_path / "im16.npz", shape=(3, 16, 16))), 10)
