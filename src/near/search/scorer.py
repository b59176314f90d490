"""Scoring one architecture with the search's proxies, through the results store.

A value depends only on (score seed, architecture key, proxy, options), exactly as in ``near bench``
(:func:`near.bench.scoring.arch_seed`: the network is built under one derived seed, the proxies run under
another), and is stored in ``results.sqlite`` with ``near bench``'s conventions the moment it is computed.
So a stopped search loses at most the architecture in progress, and any later search — another strategy
seed, another budget, a few-shot run, even ``near bench`` over the same space and images — reuses it.
The cost of an architecture (what ``--budget`` counts) is its proxies' stored seconds plus the
network's build time, stored as the pseudo-proxy :data:`BUILD`. The search's own ``seed`` only steers the
strategy; the score seed (default 0) is separate so that searches
with different seeds share their scores.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from .. import proxies
from ..bench.images import ImageSample
from ..bench.scoring import SETUP_ERRORS, arch_seed
from ..bench.store import ResultStore, StoredResult
from ..inits import non_default_layers
from ..rng import isolated_rng

__all__ = ["BUILD", "Scored", "Scorer"]

#: Pseudo-proxy whose stored row holds the seconds it took to build an architecture's network (value NULL):
#: a scored architecture costs its proxies' seconds plus these. ``near bench`` stores no such row, so an
#: architecture read from a bench store costs its proxies' seconds alone.
BUILD = "_build"


@dataclass(frozen=True)
class Scored:
    """One architecture's proxy values, its scoring cost in seconds, whether it failed and why, and whether
    the values were computed now (``False``: read from the store)."""

    key: str
    values: Mapping[str, float]
    seconds: float
    failed: bool
    reason: str | None
    computed: bool


class Scorer:
    """Scores architectures of ``space`` on ``images`` with ``names`` (resolved ``options``), caching in ``store``."""

    def __init__(
        self,
        space: Any,
        images: ImageSample,
        names: Sequence[str],
        options: Mapping[str, Mapping[str, Any]],
        store: ResultStore,
        *,
        num_classes: int,
        score_seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.space, self.images, self.names, self.options = space, images, list(names), options
        self.store, self.num_classes, self.score_seed, self.device = store, num_classes, score_seed, device
        self.keys = {name: store.register(name, options[name]) for name in self.names}
        self.build_key = store.register(BUILD, {})
        self.cache = store.fetch(score_seed, {**self.keys, BUILD: self.build_key})
        self.computed = self.reused = 0

    def score(self, key: str, arch: Any) -> Scored:
        """The stored values of ``key`` if every proxy has one, else compute the missing ones and store them."""
        stored = {name: self.cache.get((key, name)) for name in self.names}
        if all(value is not None for value in stored.values()):
            self.reused += 1
            return self._scored(key, stored, computed=False)
        missing = [name for name, value in stored.items() if value is None]
        rows = self._compute(key, arch, missing)
        if (key, BUILD) in self.cache:  # built before (an earlier search that computed other proxies)
            rows = [row for row in rows if row[0] != BUILD]
        failed = any(row[5] for row in rows)
        self.store.add(key, self.score_seed, [row[:5] for row in rows], self.device, failed=failed)
        self.cache.update({(key, row[0]): StoredResult(row[2], row[3], row[4], row[5]) for row in rows})
        self.computed += 1
        return self._scored(key, {name: self.cache[key, name] for name in self.names}, computed=True)

    def _compute(self, key: str, arch: Any, names: Sequence[str]) -> list[tuple]:
        """Rows (proxy, options hash, value, reason, seconds, failed) of ``names``, and the build's row."""
        start = time.perf_counter()
        build: tuple | None = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NB201's `none` edges warn on most cells; the values carry reasons
            try:
                with isolated_rng(arch_seed(self.score_seed, key, "model")):
                    model = self.space.build(arch, num_classes=self.num_classes)
                build = (BUILD, self.build_key, math.nan, "seconds to build the network", time.perf_counter() - start)
                values = proxies.compute_many(
                    names, model, self.images.x, self.images.y,
                    seed=arch_seed(self.score_seed, key, "proxies"), device=self.device,
                    options={name: dict(self.options[name]) for name in names}, on_error="nan",
                    factory=self._factory(arch, model, names),
                )  # fmt: skip
            except SETUP_ERRORS:
                raise
            except Exception as error:
                why = f"failed: {type(error).__name__}: {error}"
                seconds = time.perf_counter() - start - (build[4] if build else 0.0)
                rows = [(name, self.keys[name], math.nan, why, seconds / len(names), True) for name in names]
                return rows + ([(*build, True)] if build else [])
        rows = [(name, self.keys[name], float(v), v.reason, v.seconds, False) for name, v in values.items()]
        return rows + [(*build, False)]

    def _factory(self, arch: Any, model: nn.Module, names: Sequence[str]) -> Callable[[], nn.Module] | None:
        """How NEAR re-draws the weights of ``arch``'s network: by building it again where the space initialises
        its networks its own way (the MLP space's ``uniform`` or ``xavier_normal``), so that the scheme is what
        NEAR scores; ``None`` (PyTorch's default re-draw, as ``near bench`` scores) where the network has
        PyTorch's default initialisation, so that a search and a benchmark of the same space store equal values."""
        redraws = "near" in names and self.options["near"].get("reinit", True)
        if not redraws or not non_default_layers(model):  # the check reads every weight: only when NEAR re-draws
            return None
        return lambda: self.space.build(arch, num_classes=self.num_classes)

    def _scored(self, key: str, stored: Mapping[str, Any], computed: bool) -> Scored:
        failed = any(result.failed for result in stored.values())
        reasons = [result.reason for result in stored.values() if result.reason]
        build = self.cache.get((key, BUILD))
        seconds = sum(result.seconds or 0.0 for result in stored.values()) + (build.seconds or 0.0 if build else 0.0)
        values = {name: result.value for name, result in stored.items()}
        return Scored(key, values, seconds, failed, reasons[0] if reasons else None, computed)
