"""Which proxies are worth their seconds: greedy forward selection of a proxy set against its cost.

Each step adds the proxy that raises Spearman ρ the most — of a training-free ensemble over the whole table
(:mod:`near.ensemble`), or of the learned predictor on held-out architectures (:mod:`near.predict`) — and
records the set's cost per architecture (the sum of its proxies' seconds). :func:`cheapest_within` then
picks the cheapest set whose ρ is within a tolerance of the best seen, which is what a user wants to know
before scoring 15,625 cells.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import metrics
from .ensemble import ENSEMBLES, score_table
from .errors import InputError, OptionError
from .predict import ProxyPredictor, evaluate_split, features, split

__all__ = ["Step", "cheapest_within", "forward_selection"]


@dataclass(frozen=True)
class Step:
    """One step of the selection: the set so far, the proxy just added, its cost (s / architecture) and ρ."""

    proxies: tuple[str, ...]
    added: str
    seconds: float
    spearman: float
    spearman_std: float = 0.0


def forward_selection(
    scores: Mapping[str, Sequence[float]],
    accuracy: Sequence[float],
    cost: Mapping[str, float],
    *,
    method: str = "log_rank",
    proxies: Sequence[str] | None = None,
    train: int = 128,
    seeds: int = 3,
    archs: Sequence[Any] | None = None,
    space: str | None = None,
    estimator: ProxyPredictor | None = None,
) -> list[Step]:
    """Greedy forward selection over ``proxies`` (default: every column), one :class:`Step` per proxy added.

    Parameters
    ----------
    scores, accuracy
        The table (proxy → scores) and the accuracy of each architecture.
    cost
        Seconds per architecture of each proxy (e.g. ``run.json``'s cost: seconds / evaluations).
    method
        An ensemble of :data:`near.ensemble.ENSEMBLES` (ρ over the whole table), or ``"predictor"`` (mean
        held-out ρ of ``estimator`` trained on ``train`` architectures, over ``seeds`` splits; with ``archs``
        and ``space`` the encoding is always among the features, at no cost).
    """
    names, _ = score_table(scores, proxies)
    y = np.asarray(accuracy, dtype=float)
    if y.shape != (len(next(iter(scores.values()))),):
        raise InputError(f"accuracy: expected one value per architecture, got shape {y.shape}")
    if missing := [name for name in names if name not in cost]:
        raise OptionError(f"no cost for {', '.join(missing)}; give seconds per architecture for every proxy")
    if method not in ENSEMBLES and method != "predictor":
        raise OptionError(f"method must be one of {', '.join(ENSEMBLES)} or 'predictor', got {method!r}")
    estimator = estimator if estimator is not None else ProxyPredictor(random_state=0)
    splits = [split(y.size, train, seed) for seed in range(seeds)] if method == "predictor" else []

    def quality(chosen: list[str]) -> tuple[float, float]:
        if method != "predictor":
            return metrics.spearman(ENSEMBLES[method](scores, chosen), y), 0.0
        X, _ = features(scores, chosen, archs=archs, space=space)
        rhos = np.array([evaluate_split(estimator, X, y, *s)["spearman"] for s in splits])
        return float(rhos.mean()), float(rhos.std())

    chosen: list[str] = []
    steps: list[Step] = []
    while len(chosen) < len(names):
        trials = {name: quality([*chosen, name]) for name in names if name not in chosen}
        best = max(trials, key=lambda n: (_value(trials[n][0]), -float(cost[n])))
        chosen.append(best)
        seconds = float(sum(cost[name] for name in chosen))
        steps.append(Step(tuple(chosen), best, seconds, *trials[best]))
    return steps


def _value(rho: float) -> float:
    return -math.inf if math.isnan(rho) else rho


def cheapest_within(steps: Sequence[Step], tolerance: float = 0.01) -> Step:
    """The cheapest step whose ρ is at least the best ρ − ``tolerance``.

    >>> steps = [Step(("a",), "a", 0.1, 0.90), Step(("a", "b"), "b", 0.5, 0.925), Step(("a", "b", "c"), "c", 2.0, 0.93)]
    >>> cheapest_within(steps).proxies
    ('a', 'b')
    """
    if not steps:
        raise InputError("no selection steps to choose from")
    best = max(_value(step.spearman) for step in steps)
    return min((step for step in steps if _value(step.spearman) >= best - tolerance), key=lambda s: s.seconds)
