"""The input side of a benchmark: a sample of images (and labels), normalised as the networks were trained.

Images come as a ``.npz`` with ``images`` uint8 N×C×H×W (or floats already in [0, 1]) and ``labels``, or in any
format of :mod:`near.formats` (a CIFAR-10/100 or ImageNet16 pickle folder, IDX files, a folder of PNG/JPEG
files); all are read by :func:`near.data.load_data`, which scales uint8 to [0, 1]. Every architecture of a run
gets the **same** images: the first ``num_images`` of the file (default :data:`DEFAULT_NUM_IMAGES`, or all when
the file has fewer) with their labels. Each proxy takes what it needs from that batch: NEAR draws its samples
from all of them (its widest layer decides how many; ≥ 10 for a 10-class NB201 classifier), the proxies with a reference
batch size take their first ``batch_size`` (64 for Samsung's gradient proxies, 128 for NASWOT) and ZiCo
splits them into 2 batches (its reference is 2 × 128).

Normalisation, per channel, after scaling to [0, 1] — named statistics (:data:`STATISTICS`) or
``"sample"`` (the mean and std of every image in the file) or ``"none"`` (the [0, 1] pixels as they are).
Default: ``cifar10`` (the data README's constants) for 3-channel images, ``sample`` for any other channel
count. ``cifar100`` and ``imagenet16-120`` are xautodl's constants for those datasets; pick them for
CIFAR-100 and ImageNet16-120 files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import spaces
from ..data import load_data
from ..errors import DataError, OptionError
from ..rng import isolated_rng

__all__ = [
    "DEFAULT_NUM_IMAGES",
    "NORMALIZATIONS",
    "STATISTICS",
    "ImageSample",
    "channel_statistics",
    "check_fit",
    "load_images",
    "normalize_channels",
]

#: Images given to every architecture by default: ZiCo's reference 2 × 128, which also covers NASWOT's 128.
DEFAULT_NUM_IMAGES = 256

#: Per-channel (mean, std) of whole training sets, after scaling to [0, 1].
STATISTICS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((129.3 / 255, 124.1 / 255, 112.4 / 255), (68.2 / 255, 65.4 / 255, 70.4 / 255)),
    "imagenet16-120": ((122.68 / 255, 116.66 / 255, 104.01 / 255), (63.22 / 255, 61.26 / 255, 65.09 / 255)),
}
NORMALIZATIONS: tuple[str, ...] = (*STATISTICS, "sample", "none")

#: Input channels of every network of near.spaces (RGB stems).
SPACE_CHANNELS = 3


@dataclass(frozen=True)
class ImageSample:
    """The images every architecture sees: ``x`` normalised float32 N×C×H×W, ``y`` int64 labels or ``None``.

    ``sha256`` identifies exactly what the networks see (the images used and their labels, before
    normalisation); ``mean``/``std`` are the statistics applied.
    """

    path: str
    x: torch.Tensor
    y: torch.Tensor | None
    normalize: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    sha256: str
    available: int
    #: ``max label + 1`` over the whole file (``None`` without labels): the default classifier width.
    num_classes: int | None

    def __len__(self) -> int:
        return len(self.x)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one image, C×H×W."""
        return tuple(self.x.shape[1:])


def load_images(path: str | Path, *, num_images: int | None = None, normalize: str | None = None) -> ImageSample:
    """Load the first ``num_images`` images of a file or folder and normalise them (see the module docstring).

    Raises :class:`~near.errors.DataError` for a file that cannot be read, that does not hold N×C×H×W
    images, or that holds fewer images than asked for; :class:`~near.errors.OptionError` for an unknown
    normalisation or one whose channel count does not match.
    """
    data = load_data(str(path))
    if data.x.ndim != 4:
        raise DataError(
            f"{path}: images must be N×C×H×W (e.g. 'images' uint8 of shape (N, 3, 32, 32)), "
            f"got shape {tuple(data.x.shape)}"
        )
    if data.is_regression:
        raise DataError(f"{path}: labels must be class indices, got real-valued targets")
    low, high = float(data.x.min()), float(data.x.max())
    if low < 0 or high > 1:  # uint8 is scaled to [0, 1]; anything else must already be there
        raise DataError(
            f"{path}: images must be uint8 (0–255) or floats in [0, 1] before normalisation; these are not uint8 "
            f"and range over [{low:g}, {high:g}] (convert with images.astype(np.uint8) if they are 0–255 pixels)"
        )
    available = len(data.x)
    if num_images is None:
        num_images = min(DEFAULT_NUM_IMAGES, available)
    elif isinstance(num_images, bool) or not isinstance(num_images, int) or num_images < 1:
        raise OptionError(f"num_images must be a positive integer, got {num_images!r}")
    elif num_images > available:
        raise DataError(f"{path} holds {available} images; cannot give {num_images} to each architecture")
    normalize, mean, std = channel_statistics(data.x, normalize, str(path))
    x = data.x[:num_images]
    y = None if data.y is None else data.y[:num_images]
    digest = hashlib.sha256(x.numpy().tobytes())
    digest.update(b"" if y is None else y.numpy().tobytes())
    normalised = normalize_channels(x, mean, std)
    return ImageSample(str(path), normalised, y, normalize, mean, std, digest.hexdigest(), available, data.num_classes)


def channel_statistics(
    images: torch.Tensor, normalize: str | None, name: str
) -> tuple[str, tuple[float, ...], tuple[float, ...]]:
    """The normalisation of N×C×H×W ``images`` in [0, 1]: ``(name, mean, std)`` per channel.

    ``normalize=None`` chooses ``cifar10`` for 3 channels and ``sample`` (the images' own statistics, over
    every image given) otherwise. ``near bench`` and ``near score`` both use it, so that a network sees the same
    inputs from either command.
    """
    channels = images.shape[1]
    if normalize is None:
        normalize = "cifar10" if channels == 3 else "sample"
    if normalize == "none":  # the pixels as they are, in [0, 1]: for networks trained on unnormalised inputs
        mean, std = (0.0,) * channels, (1.0,) * channels
    elif normalize == "sample":
        mean = tuple(images.mean(dim=(0, 2, 3)).tolist())
        std = tuple(images.std(dim=(0, 2, 3)).clamp_min(1e-12).tolist())
    elif normalize in STATISTICS:
        mean, std = STATISTICS[normalize]
        if channels != len(mean):
            raise OptionError(
                f"normalize={normalize!r} is for {len(mean)}-channel images, but {name} has {channels} channels; "
                "use normalize='sample'"
            )
    else:
        raise OptionError(f"unknown normalize {normalize!r}; expected one of {', '.join(NORMALIZATIONS)}")
    return normalize, mean, std


def normalize_channels(images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """``(images − mean) / std`` per channel of N×C×H×W images."""
    view = (1, len(mean), 1, 1)
    return (images - torch.tensor(mean).view(view)) / torch.tensor(std).view(view)


def check_fit(space: spaces.Space, arch, images: ImageSample, num_classes: int) -> None:
    """Raise :class:`~near.errors.DataError` unless ``space``'s networks take these images and labels.

    The channel count is checked directly; the size by one forward pass of ``arch`` on two images
    (eval mode), which is what fails when the stride-2 stages shrink a small image to nothing.
    """
    if images.shape[0] != SPACE_CHANNELS:
        raise DataError(
            f"{images.path} has {images.shape[0]}-channel images; {space.name} networks take {SPACE_CHANNELS}-channel "
            "(RGB) images, N×3×H×W"
        )
    if images.y is not None:
        low, high = int(images.y.min()), int(images.y.max())
        if low < 0:
            raise DataError(f"{images.path} has negative labels (down to {low}); labels must be class indices 0, 1, …")
        if high >= num_classes:
            raise DataError(
                f"{images.path} has labels up to {high}, more than the {num_classes} classes of the classifier; "
                f"give --num-classes {high + 1} or more"
            )
    check_forward(
        space, arch, images, num_classes, hint="; its networks expect 32×32 images (16×16 for ImageNet16-120)"
    )


def check_forward(space, arch, images: ImageSample, num_classes: int, hint: str = "") -> None:
    """One forward pass of ``arch`` (built under a fixed seed, eval mode) on two images: a
    :class:`~near.errors.DataError` naming the images' shape when it fails (``hint`` says what would fit)."""
    with isolated_rng(0):
        model = space.build(arch, num_classes=num_classes).eval()
    try:
        with torch.no_grad():
            model(images.x[:2])
    except Exception as error:
        size = "×".join(map(str, images.shape))
        raise DataError(
            f"{images.path}: images of {size} do not fit {space.name}: a forward pass fails ({error}){hint}"
        ) from None
