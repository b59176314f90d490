"""The fitness of a scored architecture: one proxy's value, or an ensemble of :mod:`near.ensemble` over several.

The ensemble is taken over the **archive** (every architecture scored so far in the search), so a combined
fitness compares architectures scored at different times on one scale. It is recomputed from the archive's
score table by :mod:`near.ensemble` when the archive has grown since it was last read (once per scored
architecture, O(n log n) in numpy); the vote, O(n²) over a table, is kept as a running Copeland score instead
(:func:`near.ensemble.vote_points` for the new architecture's pairs, O(n · p)). Since the archive grows in the
same order on a replay, a resumed search sees the same fitness.

``combine`` (several proxies; with one, the fitness is its value):

* ``mean-rank``, ``log-rank``, ``vote``: :func:`near.ensemble.mean_rank`, :func:`~near.ensemble.log_rank`
  (AZ-NAS), :func:`~near.ensemble.vote` (Abdelfattah et al.) over every proxy;
* a weighted sum such as ``2*near+params`` (:func:`near.ensemble.parse_weights`, normalised ranks); it must
  name exactly the proxies searched with.

**NaN policy.** A search must never return a dead network (NaN from a proxy that failed on it) because the
proxies that did score it liked it, so the ensembles run with ``nan_policy="propagate"``: an architecture
missing any proxy's score has no ensemble value, and its fitness is ``-inf`` (one proxy: its NaN value is
``-inf`` too) — below every scored architecture, ties among them broken by scoring order. The other
architectures' ranks are taken over the architectures each proxy did score (``near.ensemble``'s rule).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import OptionError

__all__ = ["COMBINATIONS", "Archive", "check_combine"]

#: The named combinations (``--combine``); a weighted sum like ``2*near+params`` is accepted too.
COMBINATIONS: tuple[str, ...] = ("mean-rank", "log-rank", "vote")


def check_combine(combine: str, proxies: Sequence[str]) -> dict[str, float] | None:
    """Check ``combine`` for ``proxies``; return the weights of a weighted sum, ``None`` for a named ensemble
    (``near.ensemble``'s spellings ``mean_rank``, ``log_rank`` are accepted as well)."""
    if isinstance(combine, str) and combine.replace("_", "-") in COMBINATIONS:
        return None
    if not isinstance(combine, str) or not any(sign in combine for sign in "+*-") and combine not in proxies:
        raise OptionError(
            f"unknown combination {combine!r}; expected one of {', '.join(COMBINATIONS)} or a weighted sum of the "
            "proxies like '2*near+params'"
        )
    weights = _ensemble().parse_weights(combine)
    if set(weights) != set(proxies):
        raise OptionError(
            f"the weighted sum {combine!r} names {', '.join(weights)} but the search scores {', '.join(proxies)}; "
            "give --proxies exactly the proxies the sum weighs"
        )
    return weights


def _ensemble():
    """:mod:`near.ensemble`, imported on first use (it pulls in scipy; ``near --help`` stays quick)."""
    return importlib.import_module("near.ensemble")


class Archive:
    """Every scored architecture's proxy values, in scoring order, and their fitness (see the module docstring).

    Parameters
    ----------
    proxies
        The proxies whose values make the fitness.
    combine
        One of :data:`COMBINATIONS` or a weighted sum of ``proxies`` (used when it is a weighted sum or there
        is more than one proxy).
    """

    def __init__(self, proxies: Sequence[str], combine: str = "mean-rank") -> None:
        self.proxies = list(proxies)
        self.weights = check_combine(combine, self.proxies)
        self.combine = combine.replace("_", "-") if self.weights is None else combine
        self.values: dict[str, dict[str, float]] = {}
        self._index: dict[str, int] = {}
        self._matrix = np.empty((64, len(self.proxies)))
        self._fitness = np.empty(0)
        self._wins = np.empty(64)  # the running vote: points won by each architecture (NaN: incomplete row)

    def __len__(self) -> int:
        return len(self.values)

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def add(self, key: str, values: Mapping[str, float]) -> None:
        """Record ``key``'s values (once; a second add of the same key is ignored)."""
        if key in self.values:
            return
        n = len(self.values)
        if n == self._matrix.shape[0]:
            self._matrix = np.concatenate([self._matrix, np.empty_like(self._matrix)])
            self._wins = np.concatenate([self._wins, np.empty_like(self._wins)])
        self.values[key] = {name: float(values[name]) for name in self.proxies}
        self._index[key] = n
        row = np.array([self.values[key][name] for name in self.proxies])
        self._matrix[n] = row
        if self.combine == "vote" and self.weights is None and len(self.proxies) > 1:
            self._add_vote(n, row)

    def _add_vote(self, n: int, row: np.ndarray) -> None:
        """The new architecture's pairs with every complete earlier one (nan_policy="propagate")."""
        if np.isnan(row).any():
            self._wins[n] = np.nan
            return
        complete = ~np.isnan(self._wins[:n])
        points = _ensemble().vote_points(row[None, :], self._matrix[:n][complete])[0]
        self._wins[n] = points.sum()
        self._wins[:n][complete] += 1.0 - points

    def index(self, key: str) -> int:
        """Position of ``key`` in scoring order (its row of :meth:`table`)."""
        return self._index[key]

    @property
    def fixed(self) -> bool:
        """Whether an architecture's fitness never changes as the archive grows (one proxy, its raw value)."""
        return len(self.proxies) == 1 and self.weights is None

    def table(self) -> dict[str, np.ndarray]:
        """Proxy → the archive's values in scoring order (views: read only)."""
        n = len(self.values)
        return {name: self._matrix[:n, column] for column, name in enumerate(self.proxies)}

    def fitnesses(self) -> np.ndarray:
        """Every architecture's fitness in scoring order (higher is better; ``-inf`` without a value)."""
        n = len(self.values)
        if self._fitness.size != n:
            if self.weights is not None:
                scores = _ensemble().weighted(self.table(), self.weights, nan_policy="propagate")
            elif self.fixed:
                scores = self._matrix[:n, 0].copy()
            elif self.combine == "vote":
                scores = self._wins[:n].copy()
            else:
                method = _ensemble().ENSEMBLES[self.combine.replace("-", "_")]
                scores = method(self.table(), nan_policy="propagate")
            scores[np.isnan(scores)] = -np.inf
            self._fitness = scores
        return self._fitness

    def fitness(self, key: str) -> float:
        """Higher is better (see the module docstring); ``-inf`` for an architecture missing a score."""
        return float(self.fitnesses()[self._index[key]])

    def best(self, count: int | None = None) -> list[str]:
        """Keys by fitness, best first (ties: the earlier-scored first); ``count`` of them (default all)."""
        keys = list(self.values)
        if count == 1 and keys:
            return [keys[int(np.argmax(self.fitnesses()))]]  # argmax: the first of equal maxima
        order = np.argsort(-self.fitnesses(), kind="stable")
        return [keys[i] for i in (order if count is None else order[:count])]
