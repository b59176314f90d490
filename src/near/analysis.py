"""The paper's analyses of a proxy on a NAS benchmark (NEAR paper, appendix A.6–A.8, Table 4), for any proxy.

* **Where a proxy errs** (A.6): :func:`rank_errors`, :func:`worst_predictions`, :func:`error_pattern`,
  :func:`describe_errors` — which architectures a proxy ranks furthest from their accuracy's rank, whether
  it overrates or underrates them, whether they are large, and whether it ever calls a bad network good.
* **What a search gets** (the top-k view): :func:`top_k_accuracy`, and :func:`subsample_spread` for how far
  a correlation measured on a random subset can be from the whole population's.
* **Which layers matter** (A.7): :func:`contribution_matrix` (per-layer scores of many architectures as
  one matrix, layers grouped into positions, e.g. :func:`nb201_position`) and
  :func:`layer_subset_correlations` (the correlation of the score restricted to random subsets of layers).
* **Feature-map sampling** (A.8, Table 13): :func:`feature_map_ranks` — the effective rank of a conv
  layer's full flattened feature-map matrix beside that of NEAR's C×C block.
* **Across benchmarks** (Table 4): :func:`benchmark_correlations` and :func:`average_rank_table`.

Pure functions over arrays (the A.8 one builds a conv layer); NaN is a missing score, never a sentinel,
as in :mod:`near.metrics`. Ranks are percentile ranks in (0, 1) among the architectures with a score, ties
sharing their average rank, so that rank errors of runs of different sizes compare.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from . import metrics
from .errors import InputError

__all__ = [
    "NB201_POSITIONS",
    "ErrorPattern",
    "LayerSubsets",
    "average_rank_table",
    "benchmark_correlations",
    "contribution_matrix",
    "describe_errors",
    "error_pattern",
    "feature_map_ranks",
    "layer_subset_correlations",
    "nb201_position",
    "rank_errors",
    "subsample_spread",
    "top_k_accuracy",
    "worst_predictions",
]


def _pair(scores, accuracy) -> tuple[np.ndarray, np.ndarray]:
    """Validated float vectors of one length; NaN accuracies are an error (every architecture has one)."""
    s = metrics._as_vector(scores, "scores")
    a = metrics._as_vector(accuracy, "accuracy")
    if s.shape != a.shape:
        raise InputError(f"scores and accuracy must have the same length, got {s.size} and {a.size}")
    if np.isnan(a).any():
        raise InputError(f"accuracy: {int(np.isnan(a).sum())} NaN value(s); every architecture needs an accuracy")
    return s, a


def _percentile_ranks(values: np.ndarray) -> np.ndarray:
    """(rank − ½) / n with average ranks for ties: in (0, 1), ½ for the median."""
    return (stats.rankdata(values) - 0.5) / values.size


# ---------------------------------------------------------------------------------------------------
# A.6: where a proxy errs


def rank_errors(scores, accuracy) -> np.ndarray:
    """Signed rank error of each architecture: its score's percentile rank minus its accuracy's.

    Both ranks are taken among the architectures with a score (NaN scores get a NaN error). Positive =
    the proxy **overrates** the architecture (ranks it above its accuracy), negative = underrates it.

    Examples
    --------
    >>> rank_errors([1, 2, 3, 4], [10, 20, 30, 40]).tolist()
    [0.0, 0.0, 0.0, 0.0]
    >>> rank_errors([4, 2, 3, 1], [10, 20, 30, 40]).tolist()  # the worst scored best: +0.75
    [0.75, 0.0, 0.0, -0.75]
    """
    s, a = _pair(scores, accuracy)
    errors = np.full(s.shape, math.nan)
    keep = ~np.isnan(s)
    if keep.any():
        errors[keep] = _percentile_ranks(s[keep]) - _percentile_ranks(a[keep])
    return errors


def worst_predictions(scores, accuracy, k: int = 100) -> np.ndarray:
    """Indices of the ``k`` architectures with the largest absolute rank error, worst first.

    NaN scores are never among them; ties in the error keep the architectures' order. ``k`` larger than
    the number scored gives all of them.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive integer (architectures to mark), got {k!r}")
    errors = rank_errors(scores, accuracy)
    scored = np.flatnonzero(~np.isnan(errors))
    order = scored[np.argsort(-np.abs(errors[scored]), kind="stable")]
    return order[:k]


@dataclass(frozen=True)
class ErrorPattern:
    """What the ``k`` worst predictions of a proxy have in common (see :func:`error_pattern`).

    Attributes
    ----------
    k : int
        Architectures examined (fewer than asked when fewer were scored).
    scored : int
        Architectures with a score.
    overrated, underrated : int
        Of the ``k``, how many the proxy ranks above / below their accuracy's rank.
    mean_abs_error : float
        Their mean absolute rank error (percentile points / 100).
    accuracy_percentile : float
        Median accuracy percentile of the ``k`` (½ = the population's median).
    size_percentile : float
        Median size percentile of the ``k`` (NaN without ``size``); above ½ = larger than typical.
    bad_rated_good : int
        Architectures in the bottom ``bad`` fraction of accuracy that the proxy puts in its top ``good``
        fraction: "a bad network scored as good".
    bad, good : float
        The two fractions.
    worst_in_top : float
        The lowest accuracy among the proxy's top ``good`` fraction.
    bad_below : float
        The accuracy under which an architecture counts as bad (the ``bad`` quantile of the scored ones).
    """

    k: int
    scored: int
    overrated: int
    underrated: int
    mean_abs_error: float
    accuracy_percentile: float
    size_percentile: float
    bad_rated_good: int
    bad: float
    good: float
    worst_in_top: float
    bad_below: float = math.nan


def _fraction(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise InputError(f"{name} must be a fraction strictly between 0 and 1, got {value!r}")
    return float(value)


def error_pattern(scores, accuracy, *, size=None, k: int = 100, bad: float = 0.25, good: float = 0.25) -> ErrorPattern:
    """Summarise the ``k`` worst predictions of a proxy, to test claims such as the NEAR paper's (A.6):
    "the worst predictions are large networks" and "a bad network is never scored as good".

    Parameters
    ----------
    scores, accuracy : array-like, shape (n,)
    size : array-like, shape (n,), optional
        A size per architecture (e.g. #params); its percentile among the scored architectures is reported.
    k : int
        Worst predictions to examine.
    bad, good : float
        "Bad" = accuracy in the bottom ``bad`` fraction; "scored as good" = score in the top ``good``
        fraction (both among the architectures with a score).
    """
    bad, good = _fraction(bad, "bad"), _fraction(good, "good")
    s, a = _pair(scores, accuracy)
    worst = worst_predictions(s, a, k)
    errors = rank_errors(s, a)
    keep = ~np.isnan(s)
    n = int(keep.sum())
    acc_pct = np.full(s.shape, math.nan)
    score_pct = np.full(s.shape, math.nan)
    if n:
        acc_pct[keep] = _percentile_ranks(a[keep])
        score_pct[keep] = _percentile_ranks(s[keep])
    size_pct = math.nan
    if size is not None:
        z = metrics._as_vector(size, "size")
        if z.shape != s.shape:
            raise InputError(f"size must have one value per architecture ({s.size}), got {z.size}")
        both = keep & ~np.isnan(z)
        pct = np.full(s.shape, math.nan)
        if both.any():
            pct[both] = _percentile_ranks(z[both])
        size_pct = float(np.nanmedian(pct[worst])) if worst.size and not np.isnan(pct[worst]).all() else math.nan
    top = keep & (score_pct > 1 - good)
    return ErrorPattern(
        k=int(worst.size),
        scored=n,
        overrated=int((errors[worst] > 0).sum()),
        underrated=int((errors[worst] < 0).sum()),
        mean_abs_error=float(np.mean(np.abs(errors[worst]))) if worst.size else math.nan,
        accuracy_percentile=float(np.median(acc_pct[worst])) if worst.size else math.nan,
        size_percentile=size_pct,
        bad_rated_good=int((top & (acc_pct < bad)).sum()),
        bad=bad,
        good=good,
        worst_in_top=float(a[top].min()) if top.any() else math.nan,
        bad_below=_bad_below(a[keep], acc_pct[keep], bad),
    )


def _bad_below(accuracy: np.ndarray, percentiles: np.ndarray, bad: float) -> float:
    """The lowest accuracy that is not in the bottom ``bad`` fraction."""
    good_enough = accuracy[percentiles >= bad]
    return float(good_enough.min()) if good_enough.size else math.nan


def describe_errors(pattern: ErrorPattern, proxy: str, size_name: str = "size") -> str:
    """One or two sentences on the pattern of a proxy's worst predictions, every number from ``pattern``."""
    if pattern.k == 0:
        return f"{proxy} scored no architecture: no errors to describe."
    side = "overrates" if pattern.overrated > pattern.underrated else "underrates"
    most = max(pattern.overrated, pattern.underrated)
    text = (
        f"{proxy}'s {pattern.k} worst predictions (largest |score rank − accuracy rank| of {pattern.scored}): it "
        f"{side} {most} of them (mean rank error {100 * pattern.mean_abs_error:.0f} percentile points; median "
        f"accuracy percentile {100 * pattern.accuracy_percentile:.0f}"
    )
    if not math.isnan(pattern.size_percentile):
        text += f", median {size_name} percentile {100 * pattern.size_percentile:.0f}"
    text += "). "
    good = f"{100 * pattern.good:g} %"
    bad = f"{100 * pattern.bad:g} % in accuracy (below {pattern.bad_below:.2f})"
    if pattern.bad_rated_good:
        text += (
            f"It puts {pattern.bad_rated_good} architecture(s) of the bottom {bad} into its top {good} "
            f"(lowest accuracy there: {pattern.worst_in_top:.2f})."
        )
    else:
        text += (
            f"No architecture of the bottom {bad} is in its top {good} (lowest accuracy there: "
            f"{pattern.worst_in_top:.2f})."
        )
    return text


# ---------------------------------------------------------------------------------------------------
# top-k and sampling


def top_k_accuracy(scores, accuracy, ks: Iterable[int] = (1, 10, 100)) -> dict[int, tuple[float, float]]:
    """Best and mean accuracy of the ``k`` architectures with the highest scores, for each ``k``.

    What a search that trusts the proxy and trains its top ``k`` gets. NaN scores are never chosen; ties
    at the ``k``-th place are broken by the architectures' order. A ``k`` above the number scored is NaN.

    Examples
    --------
    >>> top_k_accuracy([3, 1, 2], [90.0, 95.0, 80.0], ks=(1, 2))
    {1: (90.0, 90.0), 2: (90.0, 85.0)}
    """
    s, a = _pair(scores, accuracy)
    scored = np.flatnonzero(~np.isnan(s))
    order = scored[np.argsort(-s[scored], kind="stable")]
    result = {}
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"ks: every k must be a positive integer, got {k!r}")
        chosen = a[order[:k]]
        result[int(k)] = (float(chosen.max()), float(chosen.mean())) if k <= order.size else (math.nan, math.nan)
    return result


def subsample_spread(scores, accuracy, size: int, *, draws: int = 500, seed: int = 0) -> np.ndarray:
    """Spearman ρ on ``draws`` random subsets of ``size`` architectures (without replacement).

    How far a correlation measured on a random sample of a space can be from the whole population's:
    compare the population's ρ with the spread of these.
    """
    s, a = _pair(scores, accuracy)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 2 <= size <= s.size:
        raise InputError(f"size must be an integer from 2 to the number of architectures ({s.size}), got {size!r}")
    rng = np.random.default_rng(seed)
    picks = np.stack([rng.choice(s.size, size, replace=False) for _ in range(draws)])
    return np.array([metrics.spearman(s[p], a[p]) for p in picks])


# ---------------------------------------------------------------------------------------------------
# A.7: which layers matter

#: The 20 positions of an NB201 network (``near.spaces`` / xautodl's TinyNetwork, N = 5), input to output:
#: the stem, cells 0–4, the first reduction block (cells.5), cells 6–10, the second (cells.11), cells
#: 12–16, the last BatchNorm+ReLU and the classifier.
NB201_POSITIONS: tuple[str, ...] = ("stem", *(f"cells.{i}" for i in range(17)), "lastact", "classifier")


def nb201_position(layer: str) -> str:
    """The position (one of :data:`NB201_POSITIONS`) of an NB201 layer named as in ``NearResult.layers``.

    Examples
    --------
    >>> nb201_position("cells.12.layers.5.op.1"), nb201_position("stem.0"), nb201_position("classifier")
    ('cells.12', 'stem', 'classifier')
    """
    parts = layer.split(".")
    position = ".".join(parts[:2]) if parts[0] == "cells" else parts[0]
    if position not in NB201_POSITIONS:
        raise InputError(
            f"{layer!r} is not a layer of an NB201 network (expected stem.*, cells.<0-16>.*, lastact.*, classifier)"
        )
    return position


def contribution_matrix(
    layers: Sequence[Mapping[str, float]],
    group: Callable[[str], str] | None = None,
    names: Sequence[str] | None = None,
) -> tuple[list[str], np.ndarray]:
    """Per-layer scores of many architectures as one ``(architectures, positions)`` matrix.

    Parameters
    ----------
    layers : sequence of mappings layer name -> score
        One mapping per architecture, e.g. ``{l.name: l.erank for l in result.layers}`` of ``near.score``.
    group : callable, optional
        Maps a layer name to its position (e.g. :func:`nb201_position`); the layers of one position are
        summed. Default: every layer is its own position.
    names : sequence of str, optional
        The positions (columns), in order; default: every position seen, in order of first appearance.

    Returns
    -------
    (names, matrix)
        ``matrix[i, j]`` = architecture ``i``'s score summed over the layers at position ``j``; 0 where
        it has no such layer — NEAR's sum has no term for a missing layer, so the rows still add up to
        the architectures' scores.
    """
    group = group or (lambda name: name)
    grouped = []
    seen: dict[str, None] = {}
    for row in layers:
        totals: dict[str, float] = {}
        for name, value in row.items():
            key = group(name)
            totals[key] = totals.get(key, 0.0) + float(value)
            seen.setdefault(key)
        grouped.append(totals)
    columns = list(names) if names is not None else list(seen)
    unknown = sorted(set(seen) - set(columns))
    if unknown:
        raise InputError(f"names: positions {unknown} occur in the layers but are not among the names given")
    index = {name: j for j, name in enumerate(columns)}
    matrix = np.zeros((len(grouped), len(columns)))
    for i, totals in enumerate(grouped):
        for key, value in totals.items():
            matrix[i, index[key]] = value
    return columns, matrix


def _batched_spearman(columns: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """Spearman ρ of every column of ``columns`` (n, m) with ``accuracy`` (n,); NaN for a constant column."""
    ranks = stats.rankdata(columns, axis=0)
    target = stats.rankdata(accuracy)
    ranks = ranks - ranks.mean(axis=0)
    target = target - target.mean()
    norms = np.linalg.norm(ranks, axis=0) * np.linalg.norm(target)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = target @ ranks / norms
    rho[norms == 0] = math.nan
    return np.clip(rho, -1.0, 1.0)


def _mean_where(mask: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Per column of ``mask`` (subsets, positions): the mean of ``rho`` over its True rows; NaN for none."""
    counts = mask.sum(axis=0)
    sums = mask.T.astype(np.float64) @ np.nan_to_num(rho)
    return np.where(counts > 0, sums / np.maximum(counts, 1), math.nan)


@dataclass(frozen=True)
class LayerSubsets:
    """Correlations of a score restricted to subsets of its layers (see :func:`layer_subset_correlations`).

    ``alone[j]``: ρ of position ``j`` alone; ``with_layer[j]`` / ``without_layer[j]``: mean ρ of the random
    subsets that contain / do not contain it; ``subset_rho[s]`` the ρ of subset ``s`` (positions
    ``subsets[s]``); ``full``: ρ of the sum of all positions; ``share[j]``: position ``j``'s mean share
    of the score.
    """

    names: tuple[str, ...]
    alone: np.ndarray
    with_layer: np.ndarray
    without_layer: np.ndarray
    subset_rho: np.ndarray
    subsets: np.ndarray
    full: float
    share: np.ndarray


def layer_subset_correlations(
    contributions,
    accuracy,
    *,
    names: Sequence[str] | None = None,
    subset_size: int = 6,
    subsets: int = 1000,
    seed: int = 0,
) -> LayerSubsets:
    """Spearman ρ of the score restricted to random subsets of ``subset_size`` positions, averaged per position.

    The NEAR paper's A.7 question — does any layer dominate? — asked of any per-layer score: a position
    whose subsets correlate much better than the others' (``with_layer`` against ``without_layer``), or
    that alone reaches the full score's ρ, dominates. Subsets are drawn uniformly without replacement
    (``seed``); all correlations are computed in one batch.

    Parameters
    ----------
    contributions : array-like, shape (n, L)
        Per-position scores of ``n`` architectures (:func:`contribution_matrix`), no NaN.
    accuracy : array-like, shape (n,)
    subset_size : int
        Positions per subset, from 1 to ``L − 1``.
    """
    x = np.asarray(contributions, dtype=np.float64)
    a = metrics._as_vector(accuracy, "accuracy")
    if x.ndim != 2 or x.shape[0] != a.size:
        raise InputError(f"contributions must be (architectures, positions) with {a.size} rows, got shape {x.shape}")
    if np.isnan(x).any() or np.isnan(a).any():
        raise InputError("contributions and accuracy must not hold NaN (a missing layer contributes 0)")
    n, size = x.shape
    labels = tuple(names) if names is not None else tuple(str(j) for j in range(size))
    if len(labels) != size:
        raise InputError(f"names: {len(labels)} names for {size} positions")
    if isinstance(subset_size, bool) or not isinstance(subset_size, (int, np.integer)) or not 1 <= subset_size < size:
        raise InputError(f"subset_size must be an integer from 1 to {size - 1} (positions − 1), got {subset_size!r}")
    if isinstance(subsets, bool) or not isinstance(subsets, (int, np.integer)) or subsets < 1:
        raise InputError(f"subsets must be a positive integer, got {subsets!r}")
    rng = np.random.default_rng(seed)
    chosen = np.argsort(rng.random((subsets, size)), axis=1)[:, :subset_size]
    member = np.zeros((subsets, size), dtype=bool)
    np.put_along_axis(member, chosen, True, axis=1)
    rho = _batched_spearman(x @ member.T, a)
    valid = ~np.isnan(rho)
    with_layer = _mean_where(member & valid[:, None], rho)
    without = _mean_where(~member & valid[:, None], rho)
    total = x.sum(axis=1)
    return LayerSubsets(
        names=labels,
        alone=_batched_spearman(x, a),
        with_layer=with_layer,
        without_layer=without,
        subset_rho=rho,
        subsets=np.sort(chosen, axis=1),
        full=float(_batched_spearman(total[:, None], a)[0]),
        share=x.mean(axis=0) / total.mean() if total.mean() else np.full(size, math.nan),
    )


# ---------------------------------------------------------------------------------------------------
# A.8: the C×C block against the full feature-map matrix


def feature_map_ranks(
    images: torch.Tensor,
    kernel_size: int,
    channels: int,
    samples: int,
    *,
    repetitions: int = 10,
    activation: str | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Effective rank of one conv layer's full feature-map matrix and of NEAR's C×C block, per repetition.

    Each repetition draws a fresh ``Conv2d(in, channels, kernel_size, padding=kernel_size // 2)`` (PyTorch's
    default initialisation) and ``samples`` images at random. The **full** matrix stacks the ``samples``
    maps, flattened as NEAR flattens them (rows = positions, columns = channels): ``(samples·H·W) ×
    channels``. The **block** is NEAR's square ``channels × channels`` submatrix of the same output
    (:func:`near.matrix.square_block`: contiguous rows starting at a random map row of the first sample).

    Parameters
    ----------
    images : tensor (N, C_in, H, W)
        Normalised images to draw from.
    activation : {None, "relu"}
        ``None``: the conv output (a pre-activation matrix); ``"relu"``: after a ReLU (post-activation).

    Returns
    -------
    (full, block) : two arrays of shape (repetitions,)
    """
    from .matrix import layout_of, square_block
    from .rank import effective_ranks

    for name, value, low in (("kernel_size", kernel_size, 1), ("channels", channels, 1), ("samples", samples, 1),
                             ("repetitions", repetitions, 1)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise InputError(f"images must be a tensor of shape (N, C, H, W), got {getattr(images, 'shape', images)!r}")
    if samples > len(images):
        raise InputError(f"samples={samples} but only {len(images)} images were given")
    if activation not in (None, "relu"):
        raise InputError(f"activation must be None or 'relu', got {activation!r}")
    generator = torch.Generator().manual_seed(seed)
    fulls, blocks = [], []
    with torch.no_grad():
        for _ in range(repetitions):
            # PyTorch's default (kaiming_uniform_ with a = √5, and the bias) bounds, drawn from our generator:
            # no module is built, so the global RNG is never touched
            fan_in = images.shape[1] * kernel_size**2
            bound = 1 / math.sqrt(fan_in)
            weight = torch.empty(channels, images.shape[1], kernel_size, kernel_size)
            weight.uniform_(-bound, bound, generator=generator)
            bias = torch.empty(channels).uniform_(-bound, bound, generator=generator)
            picks = torch.randperm(len(images), generator=generator)[:samples]
            output = torch.nn.functional.conv2d(images[picks].float(), weight, bias, padding=kernel_size // 2)
            if activation == "relu":
                output = torch.relu(output)
            fulls.append(output.transpose(1, -1).reshape(-1, channels))
            blocks.append(square_block(output, layout_of(output, True), generator))
    return effective_ranks(torch.stack(fulls)), effective_ranks(torch.stack(blocks))


# ---------------------------------------------------------------------------------------------------
# Table 4: across benchmarks


def benchmark_correlations(
    runs: Sequence[str | os.PathLike], *, labels: Sequence[str] | None = None, metric: str = "spearman"
) -> dict[str, dict[str, float]]:
    """``{benchmark: {proxy: correlation}}`` of run folders written by ``near bench`` (from their scores.csv)."""
    from .report.runs import load_run

    if metric not in ("spearman", "kendall"):
        raise InputError(f"metric must be 'spearman' or 'kendall', got {metric!r}")
    loaded = [load_run(path) for path in runs]
    names = list(labels) if labels is not None else [run.path.resolve().name for run in loaded]
    if len(names) != len(loaded) or len(set(names)) != len(names):
        raise InputError(f"labels: need {len(loaded)} distinct labels, got {names}")
    function = metrics.spearman if metric == "spearman" else metrics.kendall
    return {
        name: {proxy: function(values, run.accuracy) for proxy, values in run.scores.items()}
        for name, run in zip(names, loaded)
    }


def average_rank_table(
    table: Mapping[str, Mapping[str, float]], *, proxies: Sequence[str] | None = None, common: bool = True
) -> dict[str, float]:
    """Average rank per proxy over benchmarks (NEAR paper, Table 4), sorted best first.

    ``proxies`` restricts the comparison to these (as the paper compares a fixed list); ``common=True``
    further keeps only the proxies with a value on **every** benchmark, so every average is over the same
    benchmarks and ranks among the same rivals (the paper's table is built that way). With
    ``common=False`` it is :func:`near.metrics.average_ranks` of whatever is present.

    Examples
    --------
    >>> average_rank_table({"b1": {"a": 0.9, "b": 0.8, "c": 0.1}, "b2": {"a": 0.5, "b": 0.7}})
    {'a': 1.5, 'b': 1.5}
    """
    rows = {bench: {p: v for p, v in row.items() if proxies is None or p in proxies} for bench, row in table.items()}
    if common:
        present = [{p for p, v in row.items() if not math.isnan(v)} for row in rows.values()]
        shared = set.intersection(*present) if present else set()
        rows = {bench: {p: v for p, v in row.items() if p in shared} for bench, row in rows.items()}
    ranks = metrics.average_ranks(rows) if any(rows.values()) else {}
    return dict(sorted(ranks.items(), key=lambda item: (math.isnan(item[1]), item[1])))
