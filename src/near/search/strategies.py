"""Training-free search strategies: regularised evolution and random sampling over a :class:`Search`.

:class:`Search` is the state one search run shares: the space, the scorer, the archive of every scored
architecture, the budget and the trajectory. A strategy only draws architectures and calls
:meth:`Search.visit`; every random choice comes from the search's own ``random.Random(seed)``, and the
archive's fitness is the same on a replay, so the same seed and budget in scored architectures give the same
search, and a resumed one retraces the stored part at no cost.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import OptionError
from .fitness import Archive
from .protocol import key_of
from .scorer import Scored, Scorer

__all__ = ["STRATEGIES", "Budget", "Search", "evolution_settings", "random_search", "regularized_evolution"]

#: Consecutive draws of already-scored architectures after which a strategy stops: the space (or the part
#: the strategy can reach) is exhausted.
MAX_REVISITS = 2000


@dataclass(frozen=True)
class Budget:
    """When the zero-cost phase stops: after ``max_archs`` distinct scored architectures and/or ``seconds`` of
    scoring cost (the stored cost of each architecture, so that a replayed or cached one costs what it did)."""

    max_archs: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.max_archs is None and self.seconds is None:
            raise OptionError("give a budget: a number of architectures to score (--max-archs) or seconds (--budget)")
        if self.max_archs is not None and (
            isinstance(self.max_archs, bool) or not isinstance(self.max_archs, int) or self.max_archs < 1
        ):
            raise OptionError(f"--max-archs must be a positive integer, got {self.max_archs!r}")
        if self.seconds is not None and (
            isinstance(self.seconds, bool) or not isinstance(self.seconds, (int, float))
            or not math.isfinite(self.seconds) or self.seconds <= 0
        ):  # fmt: skip
            raise OptionError(f"--budget must be a positive number of seconds, got {self.seconds!r}")


@dataclass
class Search:
    """The state of one search: archive (key → values), the architectures by key, spending and trajectory."""

    space: Any
    scorer: Scorer
    archive: Archive
    budget: Budget
    rng: random.Random
    on_scored: Callable[[Scored], None] | None = None
    archs: dict[str, Any] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    spent: float = 0.0
    failed: int = 0
    trajectory: list[dict[str, Any]] = field(default_factory=list)
    stopped: str = ""
    queries: int = 0
    best_accuracy: float = math.nan
    best_queried: str = ""
    started: float = field(default_factory=time.perf_counter)
    _best: tuple[float, str] | None = None

    def done(self) -> bool:
        """Whether the budget is spent."""
        if self.budget.max_archs is not None and len(self.archive) >= self.budget.max_archs:
            self.stopped = self.stopped or f"scored {len(self.archive)} architectures"
            return True
        if self.budget.seconds is not None and self.spent >= self.budget.seconds:
            self.stopped = self.stopped or f"spent {self.spent:.1f} s of scoring"
            return True
        return False

    def visit(self, arch: Any) -> str | None:
        """Score ``arch`` unless the archive has it; return its key, or ``None`` when it was there already."""
        key = key_of(self.space, arch)
        if key in self.archive:
            return None
        scored = self.scorer.score(key, arch)
        self.archive.add(key, scored.values)
        self.archs[key] = arch
        self.order.append(key)
        self.spent += scored.seconds
        self.failed += scored.failed
        self.record()
        if self.on_scored is not None:
            self.on_scored(scored)
        return key

    def best_key(self) -> str:
        """The best-scored key so far (one proxy: kept incrementally; an ensemble: ranks move, so recomputed)."""
        if not self.archive.fixed:
            return self.archive.best(1)[0]
        last = self.order[-1]
        if self._best is None or self.archive.fitness(last) > self._best[0]:
            self._best = (self.archive.fitness(last), last)
        return self._best[1]

    def record(self) -> None:
        """Append the best-so-far after the latest architecture or query to the trajectory."""
        best = self.best_key()
        self.trajectory.append({
            "scored": len(self.archive),
            "seconds": round(self.spent, 6),
            "wall_seconds": round(time.perf_counter() - self.started, 3),
            "queries": self.queries,
            "best_arch": best,
            "best_fitness": self.archive.fitness(best),
            "best_accuracy": self.best_accuracy,
            "best_queried": self.best_queried,
        })  # fmt: skip

    def fitness(self, key: str) -> float:
        return self.archive.fitness(key)


def evolution_settings(population: int, sample_size: int | None) -> int:
    """Check the evolution's settings; return the tournament size (default: 5, or the population when smaller)."""
    if isinstance(population, bool) or not isinstance(population, int) or population < 1:
        raise OptionError(f"population must be a positive integer, got {population!r}")
    if sample_size is None:
        return min(5, population)
    if isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1:
        raise OptionError(f"sample_size must be a positive integer, got {sample_size!r}")
    if sample_size > population:
        raise OptionError(f"sample_size ({sample_size}) cannot exceed population ({population})")
    return sample_size


def regularized_evolution(search: Search, population: int = 20, sample_size: int | None = None) -> None:
    """Regularised (aging) evolution, Real et al. 2019, with a zero-cost fitness as in FreeREA.

    ``population`` random architectures start it; then each cycle draws ``sample_size`` (default: 5, or the
    population when smaller) members at random,
    mutates the fittest, scores the child and lets it replace the oldest member. A child the archive has
    already scored joins the population at no cost.
    """
    sample_size = evolution_settings(population, sample_size)
    members: deque[str] = deque()
    revisits = 0
    while len(members) < population and not search.done():
        arch = search.space.sample(search.rng)
        key = search.visit(arch)
        if key is None:
            revisits += 1
            if revisits > MAX_REVISITS:
                search.stopped = "every architecture the sampler draws has been scored"
                return
            continue
        members.append(key)
    revisits = 0
    while not search.done():
        contenders = search.rng.sample(list(members), min(sample_size, len(members)))
        parent = max(contenders, key=search.fitness)
        child = search.space.mutate(search.archs[parent], search.rng)
        key = search.visit(child)
        if key is None:
            key = key_of(search.space, child)
            search.archs.setdefault(key, child)
            revisits += 1
            if revisits > MAX_REVISITS:
                search.stopped = "every mutation reached has been scored"
                return
        else:
            revisits = 0
        members.append(key)
        members.popleft()


def random_search(search: Search) -> None:
    """Random sampling, the reference: draw architectures with the space's ``sample`` until the budget is spent."""
    revisits = 0
    while not search.done():
        if search.visit(search.space.sample(search.rng)) is None:
            revisits += 1
            if revisits > MAX_REVISITS:
                search.stopped = "every architecture the sampler draws has been scored"
                return
        else:
            revisits = 0


#: Strategies by name (``--strategy``).
STRATEGIES: dict[str, Callable[..., None]] = {"evolution": regularized_evolution, "random": random_search}
