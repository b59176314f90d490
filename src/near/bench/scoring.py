"""The unit of work of ``near bench``: score one architecture with the proxies it still needs.

A score depends only on (seed, architecture, proxy, options) — given the run's setup (space, images,
classes): the network is built under a seed derived from (seed, architecture key) alone, and the
proxies run under another seed derived the same way (:func:`arch_seed`, SHA-256 — never Python's
salted ``hash``). So any executor, in any process or on any machine, computes the same values (to float
rounding: with another torch thread count NEAR's BatchNorm sums, and so the last digits, can differ).

Everything here is picklable and importable without Ray: a :class:`Job` (what every task shares) is
sent to each worker once, a :class:`Task` per architecture, and an :class:`Outcome` comes back.
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import proxies, spaces
from ..errors import DataError, OptionError, ProxyError
from ..rng import isolated_rng
from .images import ImageSample
from .tables import Row

__all__ = ["Job", "Outcome", "Task", "Work", "arch_seed", "cpu_count", "score_architecture", "score_task"]

#: Errors that mean the run is set up wrongly (an option value, a proxy, the data): they stop the run
#: instead of being recorded as one architecture's failure.
SETUP_ERRORS = (OptionError, ProxyError, DataError)


def arch_seed(seed: int, arch_str: str, purpose: str) -> int:
    """A 63-bit seed derived from (``seed``, architecture key, ``purpose``) alone, the same in every process."""
    digest = hashlib.sha256(f"near-bench\0{purpose}\0{seed}\0{arch_str}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def score_architecture(
    space: spaces.Space,
    row: Row,
    images: ImageSample,
    names: Sequence[str],
    options: Mapping[str, Mapping[str, Any]],
    *,
    seed: int,
    num_classes: int,
    device: str | None = None,
) -> dict[str, proxies.ProxyScore]:
    """The proxies ``names`` of one architecture; each value depends only on (seed, row.arch_str, proxy, options)."""
    with isolated_rng(arch_seed(seed, row.arch_str, "model")):
        model = space.build(row.arch, num_classes=num_classes)
    return proxies.compute_many(
        names,
        model,
        images.x,
        images.y,
        seed=arch_seed(seed, row.arch_str, "proxies"),
        device=device,
        options={name: dict(options[name]) for name in names},
        on_error="nan",
    )


@dataclass(frozen=True)
class Job:
    """What every task of a run shares: the space, the images, the proxies' resolved options, the seed."""

    space: str
    images: ImageSample
    options: Mapping[str, Mapping[str, Any]]
    seed: int
    num_classes: int
    device: str


@dataclass(frozen=True)
class Task:
    """One architecture (its key and canonical form) and the proxies it still needs."""

    arch_str: str
    arch: Any
    proxies: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """Proxy → (value, reason, seconds) of one task, the warnings raised (category, message), and
    ``failure``: why the whole task failed (every value is then NaN with that reason), else ``None``."""

    task: Task
    values: Mapping[str, tuple[float, str | None, float | None]]
    warnings: tuple[tuple[str, str], ...] = ()
    failure: str | None = None

    @classmethod
    def failed(cls, task: Task, why: str) -> Outcome:
        why = f"failed: {why}"
        return cls(task, {name: (math.nan, why, None) for name in task.proxies}, (), why)


def score_task(job: Job, task: Task) -> Outcome:
    """Score one task. An error of the run's setup (:data:`SETUP_ERRORS`) is raised; any other error is
    this architecture's failure, recorded so that the run goes on."""
    space = spaces.get(job.space)
    row = Row(-1, task.arch_str, task.arch, math.nan)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            values = score_architecture(
                space, row, job.images, task.proxies, job.options,
                seed=job.seed, num_classes=job.num_classes, device=job.device,
            )  # fmt: skip
        except SETUP_ERRORS:
            raise
        except Exception as error:
            return Outcome.failed(task, f"{type(error).__name__}: {error}")
    caught = tuple((warning.category.__name__, str(warning.message)) for warning in seen)
    return Outcome(task, {name: (float(v), v.reason, v.seconds) for name, v in values.items()}, caught)


#: What an executor runs for each task (normally :func:`score_task`).
Work = Callable[[Job, Task], Outcome]


def cpu_count() -> int:
    """The cores this process may run on (its affinity, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
