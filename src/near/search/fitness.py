"""The fitness of a scored architecture: one proxy's value, or a rank combination of several.

Ranks are taken over the **archive** (every architecture scored so far in the search), so a combined fitness
compares architectures scored at different times on one scale; it is recomputed from the archive whenever it
is read, and since the archive grows in the same order on a replay, a resumed search sees the same fitness.
NaN (a proxy that did not apply, a failed architecture) ranks below every number.

* ``mean-rank``: the mean over proxies of rank / n (ranks 1 … n, ties averaged) — the usual ensemble.
* ``log-rank``: the mean of log(rank / n), AZ-NAS's combination: a low rank in one proxy costs more than a
  high rank in another gains.

This is a local helper: ``near.ensemble`` (issue 15) will offer the same combinations and learned ones.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence

from ..errors import OptionError

__all__ = ["COMBINATIONS", "Archive"]

COMBINATIONS: tuple[str, ...] = ("mean-rank", "log-rank")


class Archive:
    """Every scored architecture's proxy values, with ranks kept sorted for the combined fitness.

    Parameters
    ----------
    proxies
        The proxies whose values make the fitness.
    combine
        ``"mean-rank"`` or ``"log-rank"`` (used when there is more than one proxy).
    """

    def __init__(self, proxies: Sequence[str], combine: str = "mean-rank") -> None:
        if combine not in COMBINATIONS:
            raise OptionError(f"unknown combination {combine!r}; expected one of {', '.join(COMBINATIONS)}")
        self.proxies, self.combine = list(proxies), combine
        self.values: dict[str, dict[str, float]] = {}
        self._sorted: dict[str, list[float]] = {name: [] for name in self.proxies}

    def __len__(self) -> int:
        return len(self.values)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def add(self, key: str, values: Mapping[str, float]) -> None:
        """Record ``key``'s values (once; a second add of the same key is ignored)."""
        if key in self.values:
            return
        self.values[key] = {name: float(values[name]) for name in self.proxies}
        for name in self.proxies:
            if not math.isnan(value := self.values[key][name]):
                bisect.insort(self._sorted[name], value)

    def rank(self, key: str, proxy: str) -> float:
        """Rank of ``key``'s value among the archive's (1 = lowest, ties averaged; NaN: 0, below all)."""
        value, ordered = self.values[key][proxy], self._sorted[proxy]
        if math.isnan(value):
            return 0.0
        low, high = bisect.bisect_left(ordered, value), bisect.bisect_right(ordered, value)
        return (low + high + 1) / 2

    def fitness(self, key: str) -> float:
        """Higher is better: the proxy's value (one proxy) or the rank combination (several); ``-inf`` for NaN."""
        if len(self.proxies) == 1:
            value = self.values[key][self.proxies[0]]
            return -math.inf if math.isnan(value) else value
        n = len(self.values)
        ranks = [self.rank(key, name) / n for name in self.proxies]
        if self.combine == "mean-rank":
            return sum(ranks) / len(ranks)
        return sum(math.log(r) if r > 0 else -math.inf for r in ranks) / len(ranks)

    def best(self, count: int | None = None) -> list[str]:
        """Keys by fitness, best first (ties: the earlier-scored first); ``count`` of them (default all)."""
        order = sorted(self.values, key=lambda key: -self.fitness(key))  # stable: insertion order breaks ties
        return order if count is None else order[:count]
