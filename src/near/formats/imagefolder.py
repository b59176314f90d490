"""A folder of image files (PNG, JPEG, BMP, WebP), read with Pillow.

Two layouts, as torchvision's ``ImageFolder`` has them: one subfolder per class (``cat/001.png``,
``dog/002.jpg``; labels 0, 1, … in the sorted order of the class names), or the images directly in the folder
(unlabelled). Every image must have the same size — they are not resized, so the networks see what the files
hold — and is read as 8-bit RGB (alpha dropped, palettes expanded), or as one grey channel when every image is
8-bit greyscale.
Pillow comes with matplotlib, one of ``near``'s dependencies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError

__all__ = ["IMAGE_SUFFIXES", "image_files", "read_image_folder"]

#: File suffixes read as images (compared in lower case).
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def image_files(folder: Path) -> tuple[list[Path], list[str] | None]:
    """The image files of ``folder`` (sorted) and their class names, or ``None`` when they sit in the folder itself.

    Raises :class:`~near.errors.DataError` when images sit both in the folder and in subfolders.
    """
    direct = sorted(path for path in folder.iterdir() if _is_image(path))
    classes = sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith("."))
    nested = {sub.name: sorted(path for path in sub.iterdir() if _is_image(path)) for sub in classes}
    nested = {name: files for name, files in nested.items() if files}
    if direct and nested:
        raise DataError(
            f"{folder} has images both in it ({direct[0].name}, …) and in class subfolders ({', '.join(nested)}); "
            "put them all in one subfolder per class, or all in the folder itself (unlabelled)"
        )
    if direct:
        return direct, None
    return [path for files in nested.values() for path in files], [
        name for name, files in nested.items() for _ in files
    ]


def read_image_folder(folder: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 images N×H×W×C → N×C×H×W (C = 3, or 1 for an all-grey folder) and int64 labels (or ``None``)."""
    from PIL import Image, UnidentifiedImageError  # imported here: only this format needs it

    files, names = image_files(folder)
    if not files:
        raise DataError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    pictures = []
    for path in files:
        try:
            with Image.open(path) as image:
                image.load()
                pictures.append(image.copy())
        except (OSError, UnidentifiedImageError) as error:
            raise DataError(f"cannot read the image {path}: {error}") from None
    wide = next((i for i, picture in enumerate(pictures) if picture.mode in ("I", "I;16", "F")), None)
    if wide is not None:
        raise DataError(
            f"{files[wide]} has {pictures[wide].mode!r} pixels (16-bit or float); near reads 8-bit images, convert "
            "it to 8-bit first"
        )
    sizes = {picture.size for picture in pictures}
    if len(sizes) > 1:
        first = pictures[0].size
        other = next(i for i, picture in enumerate(pictures) if picture.size != first)
        raise DataError(
            f"{folder}: the images differ in size (width×height: {files[0].name} is {first[0]}×{first[1]}, "
            f"{files[other].name} is {pictures[other].size[0]}×{pictures[other].size[1]}); resize them to one size "
            "first"
        )
    grey = all(picture.mode in ("1", "L") for picture in pictures)
    arrays = [np.asarray(picture.convert("L" if grey else "RGB"), dtype=np.uint8) for picture in pictures]
    images = np.stack(arrays)[:, None] if grey else np.stack(arrays).transpose(0, 3, 1, 2)
    labels = None if names is None else np.unique(names, return_inverse=True)[1].astype(np.int64)
    return np.ascontiguousarray(images), labels
