"""Official NATS-Bench directories (``NATS-tss-v1_0-3ffb9-simple``, ``NATS-sss-v1_0-50262-simple``), read directly.

Such a directory holds ``meta.pickle.pbz2`` (``meta_archs``: every architecture string, in index order) and one
``<index:06d>.pickle.pbz2`` per architecture: bz2-compressed pickles of plain dicts, keyed by the training
setting ``hp`` (TSS: ``"12"``, ``"200"``; SSS: ``"01"``, ``"12"``, ``"90"`` epochs), each with
``all_results[(dataset, seed)]["eval_acc1es"]["<set>@<epoch>"]``.

The accuracy of (dataset, metric) is the one the official ``nats_bench`` API reports
(``remap_dataset_set_names`` then ``ArchResults.get_metrics(..., is_random=False)``): the mean over the trained
seeds, after the last epoch, of

==============  ============================  ===============================
dataset         ``test``                      ``valid``
==============  ============================  ===============================
cifar10         ``cifar10`` / ``ori-test``    ``cifar10-valid`` / ``x-valid``
cifar100        ``cifar100`` / ``x-test``     ``cifar100`` / ``x-valid``
ImageNet16-120  ``ImageNet16-120`` / ``x-test``  ``ImageNet16-120`` / ``x-valid``
==============  ============================  ===============================

(CIFAR-10's validation accuracy is that of the ``cifar10-valid`` runs, trained on half of the training set and
validated on the other half; its test accuracy is that of the ``cifar10`` runs, trained on all of it.)

The files are unpickled with an allow-list (dicts, ``OrderedDict``, NumPy scalars): a pickle naming any other
class — code, or the ``-full`` archives' network weights — is refused instead of run.
"""

from __future__ import annotations

import bz2
import hashlib
import pickle
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, OptionError
from ._pickle import load_plain

__all__ = ["DATASETS", "DEFAULT_HP", "METRICS", "NatsDirectory", "is_nats_directory", "read_nats_directory"]

#: Dataset names (as NATS-Bench spells them) accepted by ``dataset``.
DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "ImageNet16-120")
#: Metrics accepted by ``metric``.
METRICS: tuple[str, ...] = ("test", "valid")
#: Each space's final (longest) training setting, the default ``hp``.
DEFAULT_HP: dict[str, str] = {"tss": "200", "sss": "90"}

META = "meta.pickle.pbz2"
_ARCH_FILE = re.compile(r"^(\d+)\.pickle\.pbz2$")
_SETS = {
    ("cifar10", "test"): ("cifar10", "ori-test"),
    ("cifar10", "valid"): ("cifar10-valid", "x-valid"),
    ("cifar100", "test"): ("cifar100", "x-test"),
    ("cifar100", "valid"): ("cifar100", "x-valid"),
    ("ImageNet16-120", "test"): ("ImageNet16-120", "x-test"),
    ("ImageNet16-120", "valid"): ("ImageNet16-120", "x-valid"),
}


def _load(path: Path) -> Any:
    try:
        return load_plain(bz2.decompress(path.read_bytes()))
    except FileNotFoundError:
        raise DataError(f"NATS-Bench file not found: {path}") from None
    except pickle.UnpicklingError as error:
        raise DataError(
            f"{path}: {error}; only the '-simple' NATS-Bench archives (plain dicts and numbers) are read"
        ) from None
    except (OSError, EOFError, ValueError, pickle.PickleError) as error:
        raise DataError(f"cannot read the NATS-Bench file {path}: {error}") from None


def is_nats_directory(path: Path) -> bool:
    """Whether ``path`` is a directory holding NATS-Bench's ``meta.pickle.pbz2``."""
    return path.is_dir() and (path / META).is_file()


@dataclass(frozen=True)
class NatsDirectory:
    """An official NATS-Bench directory: its space (``"tss"`` or ``"sss"``), every architecture string
    (``archs[index]``) and the indices whose per-architecture file is present (``files``)."""

    path: Path
    space: str
    archs: tuple[str, ...]
    files: dict[int, Path]
    meta_sha256: str

    def accuracies(
        self, indices: Iterable[int], dataset: str, metric: str, hp: str | None = None, threads: int = 8
    ) -> dict[int, float]:
        """``index → accuracy`` (a percentage) of (``dataset``, ``metric``) after the ``hp`` training, read from
        the architectures' files (in ``threads`` threads: bz2 decompresses without holding the GIL).

        Raises :class:`~near.errors.OptionError` for an unknown dataset, metric or ``hp``, and
        :class:`~near.errors.DataError` for a missing or malformed file.
        """
        dataset, metric, hp = self.check(dataset, metric, hp)
        indices = list(indices)
        if missing := [index for index in indices if index not in self.files]:
            raise DataError(f"{self.path} has no file for architecture {missing[0]} ({missing[0]:06d}.pickle.pbz2)")
        with ThreadPoolExecutor(max(1, min(threads, len(indices)))) as pool:
            values = pool.map(lambda index: self._accuracy(index, dataset, metric, hp), indices)
            return dict(zip(indices, values))

    def check(self, dataset: str, metric: str, hp: str | None) -> tuple[str, str, str]:
        """(dataset, metric, hp) spelled as the files spell them; ``hp`` defaults to the space's final setting."""
        names = {name.lower(): name for name in DATASETS}
        if str(dataset).lower() not in names:
            raise OptionError(f"unknown NATS-Bench dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
        if metric not in METRICS:
            raise OptionError(f"unknown NATS-Bench metric {metric!r}; expected one of {', '.join(METRICS)}")
        if hp is None:
            hp = DEFAULT_HP[self.space]
        hp = str(hp).zfill(2)
        settings = ("12", "200") if self.space == "tss" else ("01", "12", "90")
        if hp not in settings:
            raise OptionError(
                f"NATS-Bench {self.space.upper()} has no training setting hp={hp!r}; it has {', '.join(settings)} "
                f"(epochs; default {DEFAULT_HP[self.space]})"
            )
        return names[str(dataset).lower()], metric, hp

    def _accuracy(self, index: int, dataset: str, metric: str, hp: str) -> float:
        path = self.files[index]
        data = _load(path)
        try:
            record = data[hp]
        except (KeyError, TypeError):
            have = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
            raise DataError(f"{path} has no results for hp={hp} (it has {have})") from None
        if record.get("arch_str") != self.archs[index]:
            raise DataError(
                f"{path} holds architecture {record.get('arch_str')!r}, but {META} lists {self.archs[index]!r} "
                f"at index {index}; the files come from different benchmarks"
            )
        name, eval_set = _SETS[dataset, metric]
        try:
            seeds = record["dataset_seed"][name]
            runs = [record["all_results"][name, seed] for seed in seeds]
            values = [float(run["eval_acc1es"][f"{eval_set}@{run['epochs'] - 1}"]) for run in runs]
        except (KeyError, TypeError) as error:
            raise DataError(f"{path}: no {eval_set} accuracy of {name} at hp={hp} ({error!r} missing)") from None
        if not values:
            raise DataError(f"{path}: no trained seed of {name} at hp={hp}")
        return float(np.mean(values))


def read_nats_directory(path: str | Path) -> NatsDirectory:
    """Read a NATS-Bench directory's ``meta.pickle.pbz2`` and list its per-architecture files (the accuracies
    are read later, only for the architectures asked for: the full directories hold 15,625 / 32,768 files)."""
    path = Path(path)
    if not is_nats_directory(path):
        raise DataError(f"{path} is not a NATS-Bench directory: it has no {META}")
    meta_bytes = (path / META).read_bytes()
    meta = _load(path / META)
    archs = meta.get("meta_archs") if isinstance(meta, dict) else None
    if not isinstance(archs, list) or not archs or not all(isinstance(arch, str) for arch in archs):
        raise DataError(f"{path / META} has no 'meta_archs' list of architecture strings")
    space = "tss" if archs[0].startswith("|") else "sss"
    files: dict[int, Path] = {}
    for file in path.iterdir():
        if (match := _ARCH_FILE.match(file.name)) and int(match.group(1)) < len(archs):
            files.setdefault(int(match.group(1)), file)
    if not files:
        raise DataError(f"{path} has {META} but no per-architecture files (000000.pickle.pbz2, …)")
    return NatsDirectory(path, space, tuple(archs), dict(sorted(files.items())), hashlib.sha256(meta_bytes).hexdigest())
