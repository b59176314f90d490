"""How well a proxy's scores predict trained accuracy: rank correlations, pairwise order, top-k, and the
cross-benchmark summaries (average rank, Dolan–Moré performance profiles, proxy–proxy correlations).

Pure functions over 1-D arrays and plain mappings; no state, no I/O.

Conventions, chosen once for the whole module:

* **Signed.** Every correlation keeps its sign (no ``abs`` as in Samsung's code: a proxy that ranks
  backwards is bad, not good). Higher is better everywhere.
* **NaN is missing, never a sentinel.** A pair (score, accuracy) with a NaN on either side is dropped
  (``nan_policy="omit"``, the default, as Samsung and NASWOT do) or rejected (``nan_policy="raise"``).
  It is never turned into −1e8 as NASLib does, which would rank failed architectures last and change
  the correlation. :func:`correlations` reports how many pairs were dropped.
* **±inf is a value.** Infinite scores are ordered (−inf below everything, e.g. a dead network whose
  log-score is −inf) and kept; only NaN means "no score".
* **Undefined is NaN.** A correlation with fewer than two pairs, or with a constant side, is
  undefined and returned as NaN (without SciPy's warning), so that callers can count it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np
from scipy import stats

from .errors import InputError

__all__ = [
    "average_ranks",
    "correlations",
    "kendall",
    "pairwise_order",
    "performance_profile",
    "performance_ratios",
    "proxy_correlation_matrix",
    "spearman",
    "top_k_precision",
]

NanPolicy = Literal["omit", "raise"]
_NAN_POLICIES = ("omit", "raise")


# ---------------------------------------------------------------------------------------------------
# input handling (public boundary only; internals trust their inputs)


def _as_vector(values, name: str) -> np.ndarray:
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:  # ragged nested sequences
        raise InputError(f"{name}: expected a 1-D sequence of numbers, got {type(values).__name__} ({exc})") from exc
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputError(f"{name}: expected a 1-D sequence of numbers, got an array of dtype {array.dtype}")
    if np.iscomplexobj(array):
        raise InputError(f"{name}: expected real numbers, got dtype {array.dtype}")
    if array.ndim != 1:
        raise InputError(f"{name}: expected a 1-D sequence, got shape {array.shape}")
    return array.astype(np.float64)


def _check_policy(nan_policy: str) -> None:
    if nan_policy not in _NAN_POLICIES:
        raise InputError(f"nan_policy: expected one of {_NAN_POLICIES}, got {nan_policy!r}")


def _paired(scores, accuracies, nan_policy: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate and drop NaN pairs; returns (scores, accuracies, number of pairs dropped)."""
    _check_policy(nan_policy)
    s = _as_vector(scores, "scores")
    a = _as_vector(accuracies, "accuracies")
    if s.shape != a.shape:
        raise InputError(f"scores and accuracies must have the same length, got {s.size} and {a.size}")
    missing = np.isnan(s) | np.isnan(a)
    n_missing = int(missing.sum())
    if n_missing:
        if nan_policy == "raise":
            raise InputError(
                f"{int(np.isnan(s).sum())} NaN score(s) and {int(np.isnan(a).sum())} NaN accuracy(ies) "
                f"in {s.size} pairs; pass nan_policy='omit' to drop those pairs"
            )
        s, a = s[~missing], a[~missing]
    return s, a, n_missing


def _constant(x: np.ndarray) -> bool:
    return x.size == 0 or bool(np.all(x == x[0]))


def _clip(value: float) -> float:
    """Round-off can put a perfect correlation at 1.0000000000000002; keep it in [-1, 1]."""
    return float(min(1.0, max(-1.0, value))) if not math.isnan(value) else math.nan


# ---------------------------------------------------------------------------------------------------
# score vs accuracy


def _kendall(s: np.ndarray, a: np.ndarray) -> float:
    if s.size < 2 or _constant(s) or _constant(a):
        return math.nan
    return _clip(float(stats.kendalltau(s, a, variant="b").statistic))


def _spearman(s: np.ndarray, a: np.ndarray) -> float:
    if s.size < 2 or _constant(s) or _constant(a):
        return math.nan
    return _clip(float(stats.spearmanr(s, a).statistic))


def kendall(scores, accuracies, *, nan_policy: NanPolicy = "omit") -> float:
    """Kendall's τ-b between proxy scores and accuracies (signed; ties handled by the τ-b denominator).

    Parameters
    ----------
    scores, accuracies : array-like, shape (n,)
        One entry per architecture, in the same order.
    nan_policy : {"omit", "raise"}
        ``"omit"`` drops every pair with a NaN score or accuracy; ``"raise"`` raises
        :class:`~near.errors.InputError` instead.

    Returns
    -------
    float
        τ-b in [−1, 1]; NaN when fewer than two pairs remain or one side is constant.

    Examples
    --------
    >>> kendall([1, 2, 3, 4], [10, 20, 30, 40])
    1.0
    >>> round(kendall([1, 3, 2, 4], [10, 20, 30, 40]), 4)  # 5 concordant, 1 discordant pair
    0.6667
    >>> kendall([1, float("nan"), 3], [1, 2, 3])  # the NaN pair is dropped
    1.0
    """
    s, a, _ = _paired(scores, accuracies, nan_policy)
    return _kendall(s, a)


def spearman(scores, accuracies, *, nan_policy: NanPolicy = "omit") -> float:
    """Spearman's ρ between proxy scores and accuracies (signed; tied values get their average rank).

    Parameters
    ----------
    scores, accuracies : array-like, shape (n,)
        One entry per architecture, in the same order.
    nan_policy : {"omit", "raise"}
        As in :func:`kendall`.

    Returns
    -------
    float
        ρ in [−1, 1]; NaN when fewer than two pairs remain or one side is constant.

    Examples
    --------
    >>> spearman([4, 3, 2, 1], [10, 20, 30, 40])
    -1.0
    >>> round(spearman([1, 3, 2, 4], [10, 20, 30, 40]), 4)  # 1 - 6·(0+1+1+0) / (4·15)
    0.8
    """
    s, a, _ = _paired(scores, accuracies, nan_policy)
    return _spearman(s, a)


def _tied_pairs(x: np.ndarray) -> int:
    """Number of pairs (i < j) with x_i == x_j."""
    _, counts = np.unique(x, return_counts=True)
    counts = counts.astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def _jointly_tied_pairs(s: np.ndarray, a: np.ndarray) -> int:
    """Number of pairs tied in both s and a."""
    order = np.lexsort((s, a))
    ss, aa = s[order], a[order]
    boundaries = np.flatnonzero((ss[1:] != ss[:-1]) | (aa[1:] != aa[:-1])) + 1  # not np.diff: inf - inf
    sizes = np.diff(np.concatenate(([0], boundaries, [s.size]))).astype(np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


def _count_inversions(ranks: np.ndarray) -> int:
    """Number of pairs i < j with ranks[i] > ranks[j], exactly, in O(n log² n) vectorised NumPy.

    For an inverted pair, look at the highest bit where the two ranks differ: they share every higher
    bit, the earlier one has a 1 there and the later one a 0. So, bit by bit, count for every element
    with a 0 the earlier elements with a 1 in the same group of equal higher bits.
    """
    n = ranks.size
    if n < 2:
        return 0
    ranks = ranks.astype(np.int64)
    total = 0
    for bit in range(int(ranks.max()).bit_length()):
        key = ranks >> (bit + 1)
        order = np.argsort(key, kind="stable")  # groups of equal key, original order kept inside
        key_sorted = key[order]
        ones = ((ranks[order] >> bit) & 1).astype(np.int64)
        ones_before = np.cumsum(ones) - ones  # ones strictly before each position
        group_start = np.searchsorted(key_sorted, key_sorted, side="left")
        ones_before_in_group = ones_before - ones_before[group_start]
        total += int(ones_before_in_group[ones == 0].sum())
    return total


def _pair_counts(s: np.ndarray, a: np.ndarray) -> tuple[int, int, int, int]:
    """(concordant, discordant, tied in score only, tied in accuracy) pair counts — Knight's method.

    Sort by accuracy, then by score inside accuracy ties; a discordant pair is then exactly an
    inversion of the score sequence (pairs tied in accuracy come out sorted, so they never count).
    """
    n = s.size
    n_pairs = n * (n - 1) // 2
    tied_a, tied_s, tied_both = _tied_pairs(a), _tied_pairs(s), _jointly_tied_pairs(s, a)
    order = np.lexsort((s, a))
    dense_score_rank = np.unique(s, return_inverse=True)[1].reshape(-1)
    discordant = _count_inversions(dense_score_rank[order])
    untied_both = n_pairs - tied_a - tied_s + tied_both
    concordant = untied_both - discordant
    return concordant, discordant, tied_s - tied_both, tied_a


def pairwise_order(scores, accuracies, *, nan_policy: NanPolicy = "omit") -> float:
    """Pairwise-order probability (NEAR paper, Table 12): how often the scores order two architectures
    the way their accuracies do.

    Over all pairs (i, j) whose accuracies differ, the fraction whose score order agrees with the
    accuracy order; **a pair tied in score counts ½**. Pairs tied in accuracy are left out (there is no
    order to predict).

    Why ½ for score ties: a tie is a coin flip when the proxy is used to pick the better of two
    architectures, so ½ is the expected outcome; a constant proxy then scores 0.5 (chance), not 0 or 1.
    It is also what the Samsung "vote" pairwise accuracy gives a single proxy, since it counts every
    pair in both orders and a tie predicts the same sign for both. Without any ties the result equals
    ``(1 + τ) / 2``.

    Computed exactly from concordance counts in O(n log² n) (n = 15,625 takes milliseconds), not with
    an n² loop.

    Parameters
    ----------
    scores, accuracies : array-like, shape (n,)
    nan_policy : {"omit", "raise"}
        As in :func:`kendall`.

    Returns
    -------
    float
        In [0, 1]; NaN when no pair has different accuracies.

    Examples
    --------
    >>> pairwise_order([1, 3, 2, 4], [10, 20, 30, 40])  # 5 of 6 pairs agree
    0.8333333333333334
    >>> pairwise_order([1, 1, 2], [10, 20, 30])  # 2 agree + ½ for the score tie, over 3 pairs
    0.8333333333333334
    """
    s, a, _ = _paired(scores, accuracies, nan_policy)
    return _pairwise(s, a)


def _pairwise(s: np.ndarray, a: np.ndarray) -> float:
    if s.size < 2:
        return math.nan
    concordant, _, score_ties, tied_a = _pair_counts(s, a)
    ordered_pairs = s.size * (s.size - 1) // 2 - tied_a
    if ordered_pairs == 0:
        return math.nan
    return (concordant + 0.5 * score_ties) / ordered_pairs


def _top_membership(x: np.ndarray, k: int) -> np.ndarray:
    """Probability that each element is among the k largest when ties are broken uniformly at random."""
    threshold = np.sort(x)[::-1][k - 1]
    above = x > threshold
    at = x == threshold
    p = above.astype(np.float64)
    p[at] = (k - int(above.sum())) / int(at.sum())
    return p


def _top_k(s: np.ndarray, a: np.ndarray, k: int) -> float:
    return float((_top_membership(a, k) * _top_membership(s, k)).sum() / k)


def _resolve_k(n: int, k: int | None, fraction: float | None) -> int:
    if (k is None) == (fraction is None):
        raise InputError("top_k_precision: give exactly one of k (a count) or fraction (a share of n)")
    if fraction is not None:
        if not (isinstance(fraction, (int, float, np.floating, np.integer)) and 0 < fraction <= 1):
            raise InputError(f"fraction: expected a number in (0, 1], got {fraction!r}")
        k = max(1, math.ceil(fraction * n - 1e-9))  # tolerance: 0.1 · 30 is 3.0000000000000004
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k: expected a positive integer, got {k!r}")
    if k > n:
        raise InputError(f"k: asked for the top {k} of only {n} architectures with a score")
    return int(k)


def top_k_precision(
    scores,
    accuracies,
    k: int | None = None,
    *,
    fraction: float | None = None,
    nan_policy: NanPolicy = "omit",
) -> float:
    """Fraction of the truly best k architectures that the scores also place in their top k.

    Give either ``k`` (a count) or ``fraction`` (a share of the n scored architectures;
    ``k = ceil(fraction · n)``, at least 1).

    **Ties** at the k-th place (in score or in accuracy) are broken uniformly at random, and the
    function returns the *expected* precision: each tied element is in the top k with probability
    (free places) / (size of the tie group). The result does not depend on the input order, a constant
    proxy scores k/n (chance), and without ties it is the plain set overlap. (NASLib instead keeps only
    values strictly above the (k+1)-th largest, which silently shrinks the sets when ties straddle the
    boundary.)

    Parameters
    ----------
    scores, accuracies : array-like, shape (n,)
    k : int, optional
        Size of the top set, 1 ≤ k ≤ n (n counted after dropping NaN pairs).
    fraction : float, optional
        Share of n in (0, 1], instead of ``k``.
    nan_policy : {"omit", "raise"}
        As in :func:`kendall`.

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> top_k_precision([1, 3, 2, 4], [10, 20, 30, 40], k=2)  # indices: true top-2 {2, 3}, predicted {1, 3}
    0.5
    >>> top_k_precision([5, 5, 5, 5], [10, 20, 30, 40], fraction=0.5)  # constant proxy: chance
    0.5
    """
    s, a, _ = _paired(scores, accuracies, nan_policy)
    return _top_k(s, a, _resolve_k(s.size, k, fraction))


def _fraction_key(fraction: float) -> str:
    return f"top{100 * fraction:g}%"


def correlations(
    scores,
    accuracies,
    *,
    top_k: Sequence[int] = (10,),
    top_fractions: Sequence[float] = (0.01, 0.05, 0.1),
    nan_policy: NanPolicy = "omit",
) -> dict[str, float | int]:
    """Every score-vs-accuracy metric of this module at once, JSON-ready.

    Returns
    -------
    dict
        ``n`` (pairs used), ``n_nan`` (pairs dropped because the score or the accuracy is NaN),
        ``kendall``, ``spearman``, ``pairwise`` (see :func:`pairwise_order`), one ``top{k}`` entry
        per ``top_k`` and one ``top{100·f}%`` entry per ``top_fractions`` (see
        :func:`top_k_precision`). Undefined values are NaN — e.g. ``top10`` with fewer than 10
        scored architectures; nothing is replaced by a sentinel.

    Examples
    --------
    >>> r = correlations([1, 3, 2, 4, float("nan")], [10, 20, 30, 40, 50], top_k=(2,), top_fractions=(0.5,))
    >>> r["n"], r["n_nan"], round(r["kendall"], 4), round(r["spearman"], 4), r["top2"], r["top50%"]
    (4, 1, 0.6667, 0.8, 0.5, 0.5)
    """
    s, a, n_nan = _paired(scores, accuracies, nan_policy)
    n = int(s.size)
    result: dict[str, float | int] = {
        "n": n,
        "n_nan": n_nan,
        "kendall": _kendall(s, a),
        "spearman": _spearman(s, a),
        "pairwise": _pairwise(s, a),
    }
    for k in top_k:
        # k > n is undefined for this run (NaN), not an error: one summary call serves runs of any size
        too_large = isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k > n
        result[f"top{k}"] = math.nan if too_large else _top_k(s, a, _resolve_k(n, k, None))
    for fraction in top_fractions:
        if not 0 < fraction <= 1:
            raise InputError(f"top_fractions: expected numbers in (0, 1], got {fraction!r}")
        result[_fraction_key(fraction)] = _top_k(s, a, _resolve_k(n, None, fraction)) if n else math.nan
    return result


# ---------------------------------------------------------------------------------------------------
# across benchmarks: table = {benchmark: {proxy: correlation}}


def _check_table(table: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Validate a benchmark → {proxy: value} table; return the proxy names in first-seen order."""
    if not isinstance(table, Mapping) or not table:
        raise InputError(f"table: expected a non-empty mapping benchmark -> {{proxy: correlation}}, got {table!r}")
    proxies: dict[str, None] = {}
    for benchmark, row in table.items():
        if not isinstance(row, Mapping):
            raise InputError(f"table[{benchmark!r}]: expected a mapping proxy -> correlation, got {row!r}")
        for proxy, value in row.items():
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise InputError(f"table[{benchmark!r}][{proxy!r}]: expected a number, got {value!r}")
            proxies.setdefault(proxy, None)
    return list(proxies)


def _present(row: Mapping[str, float]) -> dict[str, float]:
    """The entries of one benchmark that count: missing keys and NaN are both "not evaluated"."""
    return {p: float(v) for p, v in row.items() if not math.isnan(float(v))}


def average_ranks(table: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Average rank of each proxy over benchmarks (NEAR paper, Table 4; blog post, Table 4).

    On each benchmark the proxies are ranked by their (signed) correlation, 1 = highest, tied values
    sharing their average rank; each proxy's ranks are then averaged.

    **Missing entries** (a proxy absent from a benchmark, or NaN there) are not ranked on that
    benchmark: the other proxies are ranked among themselves, and the proxy's average is taken over
    the benchmarks where it exists. Averages built on different benchmark sets are therefore not
    strictly comparable; report the coverage next to them. A proxy with no value anywhere gets NaN.

    Parameters
    ----------
    table : mapping benchmark -> {proxy: correlation}

    Returns
    -------
    dict proxy -> average rank, in the order proxies first appear in ``table``.

    Examples
    --------
    >>> average_ranks({"c10": {"a": 0.9, "b": 0.8}, "c100": {"a": 0.5, "b": 0.7}, "in16": {"a": 0.4}})
    {'a': 1.3333333333333333, 'b': 1.5}
    """
    proxies = _check_table(table)
    ranks: dict[str, list[float]] = {p: [] for p in proxies}
    for row in table.values():
        present = _present(row)
        if not present:
            continue
        values = np.array(list(present.values()))
        for proxy, rank in zip(present, stats.rankdata(-values, method="average")):
            ranks[proxy].append(float(rank))
    return {p: float(np.mean(r)) if r else math.nan for p, r in ranks.items()}


def performance_ratios(table: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Dolan–Moré performance ratios of correlations, as defined in the blog post "A Deeper Look at
    Zero-Cost Proxies for Lightweight NAS" (White et al., ICLR blog track 2022).

    A correlation ρ ∈ [−1, 1] is higher-is-better, so it is first turned into an error ``1 − ρ``
    (distance from the perfect 1). On each benchmark, a proxy's ratio is its error divided by the
    smallest error there: 1 for the best proxy, e.g. 0.7325 / 0.5014 ≈ 1.46 in the blog's example.

    Edge cases: a proxy missing (or NaN) on a benchmark gets ``inf`` there (Dolan–Moré's convention for
    a failed run); if the best proxy is perfect (ρ = 1, error 0) it gets 1 and every other proxy
    ``inf``; a benchmark where no proxy has a value is left out.

    Returns
    -------
    dict proxy -> {benchmark: ratio ≥ 1}

    Examples
    --------
    >>> r = performance_ratios({"s-c100": {"fisher": 0.4986, "snip": 0.2675}})
    >>> r["fisher"]["s-c100"], round(r["snip"]["s-c100"], 2)
    (1.0, 1.46)
    """
    proxies = _check_table(table)
    ratios: dict[str, dict[str, float]] = {p: {} for p in proxies}
    for benchmark, row in table.items():
        present = _present(row)
        if not present:
            continue
        for proxy, value in present.items():
            if not -1 - 1e-9 <= value <= 1 + 1e-9:
                raise InputError(
                    f"table[{benchmark!r}][{proxy!r}] = {value}: a correlation must lie in [-1, 1] for a "
                    "performance profile"
                )
        errors = {p: 1.0 - min(1.0, max(-1.0, v)) for p, v in present.items()}
        best = min(errors.values())
        for proxy in proxies:
            if proxy not in errors:
                ratios[proxy][benchmark] = math.inf
            elif best == 0.0:
                ratios[proxy][benchmark] = 1.0 if errors[proxy] == 0.0 else math.inf
            else:
                ratios[proxy][benchmark] = errors[proxy] / best
    return ratios


def performance_profile(table: Mapping[str, Mapping[str, float]], taus: Iterable[float]) -> dict[str, np.ndarray]:
    """Relative performance profiles (Dolan & Moré, 2002) of proxies over benchmarks, as in the blog post
    "A Deeper Look at Zero-Cost Proxies for Lightweight NAS".

    ``ρ_p(τ)`` is the fraction of benchmarks on which proxy p is at most τ-suboptimal, i.e. whose
    performance ratio (see :func:`performance_ratios`: error ``1 − ρ`` over the best error on that
    benchmark) is ≤ τ. A proxy that is best everywhere is the line y = 1 from τ = 1 on. Benchmarks
    where a proxy is missing count against it (ratio ``inf``); benchmarks where no proxy has a value
    are not counted at all.

    Parameters
    ----------
    table : mapping benchmark -> {proxy: correlation}
    taus : iterable of float
        The τ grid (ratios are ≥ 1, so τ < 1 gives 0).

    Returns
    -------
    dict proxy -> array of ρ_p(τ), one value per τ, in [0, 1].

    Examples
    --------
    >>> profile = performance_profile({"b1": {"x": 0.5, "y": 0.0}, "b2": {"x": 0.0, "y": 0.5}}, [1, 2])
    >>> profile["x"].tolist(), profile["y"].tolist()
    ([0.5, 1.0], [0.5, 1.0])
    """
    grid = _as_vector(list(taus), "taus")
    if np.isnan(grid).any():
        raise InputError("taus: NaN in the τ grid")
    ratios = performance_ratios(table)
    profile: dict[str, np.ndarray] = {}
    for proxy, by_benchmark in ratios.items():
        r = np.array(list(by_benchmark.values()))
        if r.size == 0:
            profile[proxy] = np.full(grid.shape, math.nan)
        else:
            profile[proxy] = (r[None, :] <= grid[:, None]).mean(axis=1)
    return profile


# ---------------------------------------------------------------------------------------------------
# proxy vs proxy


def proxy_correlation_matrix(
    scores_by_proxy: Mapping[str, Sequence[float]],
    *,
    method: Literal["spearman", "kendall"] = "spearman",
) -> np.ndarray:
    """Rank correlation between every pair of proxies (the blog post's Figures 3–6).

    Each pair uses the architectures where *both* scores are non-NaN (pairwise omission), so a proxy
    that failed on a few architectures does not remove them from every other pair. Add the accuracies
    as one more entry (e.g. ``{"accuracy": acc, **scores}``) to get the blog's "gt" row.

    Parameters
    ----------
    scores_by_proxy : mapping proxy -> array-like, shape (n,)
        All of the same length, aligned by architecture.
    method : {"spearman", "kendall"}

    Returns
    -------
    numpy.ndarray, shape (p, p)
        Symmetric; rows and columns in the mapping's order. The diagonal is 1 (NaN for a proxy with
        fewer than two distinct values); an entry is NaN when that pair's correlation is undefined.

    Examples
    --------
    >>> proxy_correlation_matrix({"a": [1, 2, 3, 4], "b": [4, 3, 2, 1], "c": [1, 2, float("nan"), 0]}).round(3)
    array([[ 1. , -1. , -0.5],
           [-1. ,  1. ,  0.5],
           [-0.5,  0.5,  1. ]])
    """
    if method not in ("spearman", "kendall"):
        raise InputError(f"method: expected 'spearman' or 'kendall', got {method!r}")
    if not isinstance(scores_by_proxy, Mapping) or not scores_by_proxy:
        raise InputError("scores_by_proxy: expected a non-empty mapping proxy -> scores")
    names = list(scores_by_proxy)
    columns = [_as_vector(scores_by_proxy[name], f"scores_by_proxy[{name!r}]") for name in names]
    lengths = {c.size for c in columns}
    if len(lengths) > 1:
        sizes = {name: c.size for name, c in zip(names, columns)}
        raise InputError(f"scores_by_proxy: all score vectors must have the same length, got {sizes}")
    correlate = _spearman if method == "spearman" else _kendall
    p = len(names)
    matrix = np.full((p, p), math.nan)
    for i in range(p):
        for j in range(i, p):
            x, y = columns[i], columns[j]
            keep = ~(np.isnan(x) | np.isnan(y))
            value = correlate(x[keep], y[keep])
            if i == j and not math.isnan(value):
                value = 1.0
            matrix[i, j] = matrix[j, i] = value
    return matrix
