"""Turning whatever the user passes as sample inputs into batches of exactly ``n`` samples.

Accepted: a tensor or NumPy array (first axis = samples), a map-style ``Dataset``, an
``IterableDataset`` (yields single samples), a ``DataLoader`` or any iterable of batches. Labels
(the second element of a ``(x, y)`` pair) are ignored: a tuple is one ``(inputs, labels, …)``
batch, a list is a list of batches (or, holding numbers, the nested rows of an array; a list of
1-D tensors is refused as ambiguous: samples or batches of scalars?). Tensors,
datasets and lists of batches (joined once) are sampled without replacement; other iterables are
read afresh for every draw, under the repetition's seed, so a shuffling ``DataLoader`` gives new,
reproducible samples each repetition. A one-shot iterator is read once and kept: its samples are
the same in every draw.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterable, Iterator

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, IterableDataset, SequentialSampler

from .errors import InputError, InsufficientSamplesError


def _features(item):
    """The input part of a sample or batch: ``x`` of ``(x, y)``, or the item itself."""
    if isinstance(item, (tuple, list)):
        if not item:
            raise InputError("got an empty tuple where a sample or batch was expected")
        return item[0]
    if isinstance(item, dict):
        raise InputError("dict samples are not supported: pass the input tensor (or an (inputs, labels) pair)")
    return item


def _refuse_one_dimensional_items(items: list) -> None:
    """A list of 1-D tensors is ambiguous — single samples (``list(X)``) or 1-D batches
    (``list(loader)`` over scalars or token ids) — and guessing wrong silently changes the score."""
    if items and all(isinstance(f := _features(item), (torch.Tensor, np.ndarray)) and f.ndim == 1 for item in items):
        raise InputError(
            "a list of 1-D tensors could be single samples or batches of scalars; pass torch.stack(items) "
            "if each item is one sample, or torch.cat(items) if each item is a batch"
        )


def _holds_numbers(rows: list) -> bool:
    """Whether a list is an array written as (nested) Python lists of numbers."""
    first = rows
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    return isinstance(first, numbers.Number)


def _nested_rows(rows: list) -> np.ndarray:
    try:
        return np.asarray(rows)
    except ValueError as error:
        raise InputError(f"the nested lists of inputs are ragged ({error}); give every sample the same shape") from None


def _all_finite(tensor: torch.Tensor) -> bool:
    """Whether no entry is NaN or ±inf, read from the smallest and largest entry (NaN makes both NaN):
    10x cheaper than a full ``isfinite`` mask on a batch of images, and on the proxies' hot path."""
    if tensor.numel() == 0:
        return True
    try:
        low, high = torch.aminmax(tensor)
    except RuntimeError:  # a dtype or device without aminmax
        return bool(torch.isfinite(tensor).all())
    return bool(torch.isfinite(low) & torch.isfinite(high))


def _as_tensor(value, what: str) -> torch.Tensor:
    """``value`` as a dense, real, finite tensor (NumPy arrays and nested lists of numbers are read as arrays)."""
    if isinstance(value, torch.Tensor):
        tensor = value
        if tensor.layout != torch.strided or tensor.is_nested:
            layout = "nested" if tensor.is_nested else str(tensor.layout).removeprefix("torch.")
            raise InputError(f"{what} must be a dense tensor; got a {layout} one: pass x.to_dense()")
    else:
        array = np.asarray(value)
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise InputError(f"{what} must be numeric; got an array of dtype {array.dtype}")
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.is_complex():
        raise InputError(f"{what} must be real-valued; got dtype {tensor.dtype}")
    if tensor.is_floating_point() and not _all_finite(tensor):
        raise InputError(f"{what} must contain no NaN or infinite values; clean or impute them before scoring")
    return tensor


class SampleSource:
    """Draws batches of ``n`` samples from the user's inputs."""

    def __init__(self, inputs):
        self._tensor: torch.Tensor | None = None
        self._dataset: Dataset | None = None
        self._iterable: Iterable | None = None
        self._cache: torch.Tensor | None = None
        self._singles = isinstance(inputs, IterableDataset)
        if isinstance(inputs, tuple):  # one (inputs, labels, ...) batch
            inputs = _features(inputs)
        if isinstance(inputs, list) and _holds_numbers(inputs):
            inputs = _nested_rows(inputs)
        elif isinstance(inputs, list):  # batches in memory: join once, then sample like a tensor
            _refuse_one_dimensional_items(inputs)
            self._iterable = inputs
            inputs = self._collect(None)
        if isinstance(inputs, (torch.Tensor, np.ndarray)):
            self._tensor = _as_tensor(inputs, "the inputs")
            if self._tensor.dim() < 1 or len(self._tensor) == 0:
                raise InputError(f"inputs are empty (shape {tuple(self._tensor.shape)}); pass at least one sample")
        elif isinstance(inputs, Dataset) and hasattr(inputs, "__len__") and not self._singles:
            if len(inputs) == 0:
                raise InputError("the dataset is empty; pass at least one sample")
            self._dataset = inputs
        elif isinstance(inputs, (DataLoader, IterableDataset)) or (
            isinstance(inputs, Iterable) and not isinstance(inputs, (str, bytes, dict))
        ):
            self._iterable = inputs
        else:
            raise InputError(
                f"inputs of type {type(inputs).__name__} are not supported; pass a tensor, a NumPy array, "
                "a Dataset, a DataLoader or an iterable of batches"
            )

    @property
    def available(self) -> int | None:
        """Number of samples, where known without reading the data."""
        if self._tensor is not None:
            return len(self._tensor)
        if self._dataset is not None:
            return len(self._dataset)
        return None

    @property
    def same_every_draw(self) -> bool:
        """Whether every draw reads the same samples (a one-shot iterator, a non-shuffling DataLoader)."""
        source = self._iterable
        if isinstance(source, DataLoader):
            if source.batch_sampler is not None and not isinstance(source.batch_sampler, BatchSampler):
                return False  # a custom batch sampler: it may well shuffle
            sampler = source.batch_sampler.sampler if source.batch_sampler is not None else source.sampler
            return isinstance(sampler, (SequentialSampler, range, list, tuple))
        return isinstance(source, Iterator)

    def take(self, n: int, generator: torch.Generator, shuffle: bool) -> torch.Tensor:
        """``n`` samples: the first ``n`` (``shuffle=False``) or ``n`` drawn without replacement."""
        available = self.available
        if available is not None:
            if available < n:
                raise InsufficientSamplesError(f"only {available} samples were given")
            index = torch.randperm(available, generator=generator)[:n] if shuffle else torch.arange(n)
            if self._tensor is not None:
                return self._tensor[index]
            samples = [_as_tensor(_features(self._dataset[int(i)]), "every sample") for i in index]
            return self._stack(samples, singles=True)
        with _seeded_generators_of(self._iterable, generator):
            batch = self._read(n)
        if shuffle:
            batch = batch[torch.randperm(len(batch), generator=generator)]
        return batch

    def _read(self, n: int) -> torch.Tensor:
        if self._cache is not None and len(self._cache) >= n:
            return self._cache[:n].clone()
        one_shot = isinstance(self._iterable, Iterator)
        if one_shot and self._cache is not None:
            more = self._collect(n - len(self._cache), allow_empty=True)
            batch = self._cache if more is None else self._stack([self._cache, more], singles=False)
        else:
            batch = self._collect(n)
        if one_shot:
            self._cache = batch
        if len(batch) < n:
            raise InsufficientSamplesError(f"the inputs yielded only {len(batch)} samples")
        return batch[:n].clone() if one_shot else batch[:n]  # the model may change its input in place

    def _collect(self, limit: int | None, allow_empty: bool = False) -> torch.Tensor | None:
        """Batches read from the iterable and joined, until ``limit`` samples (or all of them)."""
        parts, count = [], 0
        for item in self._iterable:
            part = _as_tensor(_features(item), "every batch")
            if self._singles:
                part = part.unsqueeze(0)
            elif part.dim() == 0:
                raise InputError("batches must have a sample axis; got a scalar")
            parts.append(part)
            count += len(part)
            if limit is not None and count >= limit:
                break
        if not parts:
            if allow_empty:
                return None
            raise InputError("the inputs yielded no samples; pass at least one batch")
        return self._stack(parts, singles=False)

    @staticmethod
    def _stack(tensors: list[torch.Tensor], singles: bool) -> torch.Tensor:
        """Checked tensors joined: stacked as single samples, or concatenated as batches."""
        try:
            return torch.stack(tensors) if singles else torch.cat(tensors)
        except RuntimeError as error:
            shapes = sorted({tuple(t.shape) for t in tensors})
            raise InputError(f"samples have inconsistent shapes {shapes[:4]}: {error}") from error


@contextlib.contextmanager
def _seeded_generators_of(source, generator: torch.Generator) -> Iterator[None]:
    """A ``DataLoader`` given its own ``generator=`` shuffles with it, not with the (seeded) global
    stream: seed it from ``generator`` while reading, then give it back its state."""
    samplers = (
        source,
        getattr(source, "sampler", None),
        getattr(getattr(source, "batch_sampler", None), "sampler", None),
    )
    owned = {id(g): g for s in samplers if isinstance(g := getattr(s, "generator", None), torch.Generator)}
    states = {key: g.get_state() for key, g in owned.items()}
    try:
        for g in owned.values():
            g.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
        yield
    finally:
        for key, g in owned.items():
            g.set_state(states[key])
