"""Training-free ensembles: one score per architecture from a table of proxy scores.

A table is a mapping proxy name → scores (one per architecture, aligned; ``near.report.load_run(...).scores``
is one). Every proxy of ``near`` returns "higher = predicted better", and so does every ensemble here.

Ensembles work on **ranks**, not raw values: proxies live on unrelated scales (#params in millions, NEAR in
tens, SynFlow in 1e30s), and a rank is the only thing they share. Each proxy's scores are turned into
normalised ranks ``r = rank / n_valid`` in (0, 1] (ties share their average rank, the best architecture
gets 1), computed over the architectures the proxy scored.

**Missing scores (NaN).** A proxy may not score an architecture (a dead network, a proxy that does not apply).
No NaN is ever replaced by a value. ``nan_policy`` decides, for every ensemble:

* ``"omit"`` (default): an architecture is judged by the proxies that scored it — mean rank and log-rank
  average over its available terms (log-rank is then rescaled to the full number of proxies, so a complete
  row keeps AZ-NAS's plain sum), and the vote lets a proxy without both scores abstain on that pair. An
  architecture that no proxy scored gets NaN.
* ``"propagate"``: an architecture missing any proxy gets NaN (it then drops out of the metrics, as a NaN
  proxy score does).

Examples
--------
>>> table = {"a": [1.0, 2.0, 3.0, 4.0], "b": [4.0, 1.0, 2.0, 3.0]}
>>> mean_rank(table).tolist()
[0.625, 0.375, 0.625, 0.875]
>>> vote(table).tolist()
[1.5, 0.5, 1.5, 2.5]
>>> weighted(table, {"a": 2, "b": 1}).tolist()
[1.5, 1.25, 2.0, 2.75]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import numpy as np
from scipy.stats import rankdata

from .errors import InputError, OptionError, ProxyError

__all__ = [
    "ENSEMBLES",
    "combine",
    "default_ensembles",
    "log_rank",
    "mean_rank",
    "normalised_ranks",
    "parse_weights",
    "score_table",
    "vote",
    "vote_points",
    "weighted",
]

NanPolicy = Literal["omit", "propagate"]
_POLICIES = ("omit", "propagate")
_VOTE_ELEMENTS = 4_000_000  # pairwise comparisons held at once by vote() (32 MB of float64)


def score_table(
    scores: Mapping[str, Sequence[float]], proxies: Sequence[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """Check a proxy → scores mapping and return ``(names, matrix)``, the matrix of shape (n, proxies).

    Raises :class:`~near.errors.ProxyError` for a proxy not in the table, :class:`~near.errors.InputError`
    for an empty table, columns of different lengths, or values that are not numbers.
    """
    if not isinstance(scores, Mapping):
        raise InputError(f"scores: expected a mapping proxy name → scores, got {type(scores).__name__}")
    names = list(scores) if proxies is None else list(proxies)
    if not names:
        raise InputError("scores: no proxy to combine; give at least one proxy column")
    if unknown := [name for name in names if name not in scores]:
        raise ProxyError(
            f"proxy column(s) {', '.join(map(repr, unknown))} not in the table; it has {', '.join(map(str, scores))}"
        )
    if len(set(names)) != len(names):
        raise ProxyError(f"proxies given twice: {sorted({n for n in names if names.count(n) > 1})}")
    columns = []
    for name in names:
        try:
            column = np.asarray(scores[name], dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"scores[{name!r}]: expected numbers (NaN for a missing score)") from None
        if column.ndim != 1:
            raise InputError(f"scores[{name!r}]: expected one score per architecture, got shape {column.shape}")
        columns.append(column)
    lengths = {column.size for column in columns}
    if len(lengths) != 1:
        sizes = ", ".join(f"{n}: {c.size}" for n, c in zip(names, columns))
        raise InputError(f"scores: the proxies score different numbers of architectures ({sizes})")
    if lengths == {0}:
        raise InputError("scores: no architectures (every column is empty)")
    return names, np.stack(columns, axis=1)


def normalised_ranks(matrix: np.ndarray) -> np.ndarray:
    """Per column, rank / (number of non-NaN values): in (0, 1], 1 = highest score, ties averaged, NaN kept."""
    ranks = rankdata(matrix, axis=0, method="average", nan_policy="omit")
    valid = (~np.isnan(matrix)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ranks / valid


def _check_policy(nan_policy: str) -> None:
    if nan_policy not in _POLICIES:
        raise OptionError(f"nan_policy must be one of {', '.join(_POLICIES)}, got {nan_policy!r}")


_DECIMALS = 12  # ensembles are rounded here: sums of rank / n that are equal in exact arithmetic stay tied


def _mean_over_present(terms: np.ndarray, nan_policy: str) -> np.ndarray:
    """Row means of ``terms`` (n, p): over the non-NaN entries ("omit") or NaN when any is missing."""
    present = ~np.isnan(terms)
    count = present.sum(axis=1)
    total = np.where(present, terms, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    if nan_policy == "propagate":
        mean[count < terms.shape[1]] = np.nan
    return mean


def mean_rank(
    scores: Mapping[str, Sequence[float]], proxies: Sequence[str] | None = None, *, nan_policy: NanPolicy = "omit"
) -> np.ndarray:
    """Mean normalised rank over the proxies (higher = better): the plain rank-averaging ensemble.

    >>> mean_rank({"a": [3, 1, 2], "b": [1, 3, 2]}).tolist()
    [0.666666666667, 0.666666666667, 0.666666666667]
    """
    _check_policy(nan_policy)
    _, matrix = score_table(scores, proxies)
    return np.round(_mean_over_present(normalised_ranks(matrix), nan_policy), _DECIMALS)


def log_rank(
    scores: Mapping[str, Sequence[float]], proxies: Sequence[str] | None = None, *, nan_policy: NanPolicy = "omit"
) -> np.ndarray:
    """AZ-NAS's non-linear rank aggregation (Lee & Ham, CVPR 2024): Σ_proxies log(rank / N), higher = better.

    A proxy that ranks an architecture near the bottom pulls it down far more than a high rank lifts it, so
    an architecture must be good by *every* proxy to come first. With ``nan_policy="omit"`` a row with missing
    proxies gets the mean of its present terms × the number of proxies (its plain sum when complete).

    >>> import math, numpy as np
    >>> s = log_rank({"a": [1, 2], "b": [1, 2]})
    >>> bool(np.isclose(s[0], 2 * math.log(0.5))), float(s[1])
    (True, 0.0)
    """
    _check_policy(nan_policy)
    names, matrix = score_table(scores, proxies)
    return np.round(_mean_over_present(np.log(normalised_ranks(matrix)), nan_policy) * len(names), _DECIMALS)


def vote(
    scores: Mapping[str, Sequence[float]], proxies: Sequence[str] | None = None, *, nan_policy: NanPolicy = "omit"
) -> np.ndarray:
    """Abdelfattah et al.'s majority vote (ICLR 2021, "Zero-Cost Proxies for Lightweight NAS"), as a score.

    For every pair of architectures each proxy votes for the one it scores higher (a tie is no vote); the pair
    goes to the majority, a tied vote counts ½ to each. An architecture's score is the number of pairs it wins
    (its Copeland score), so sorting by it gives the ranking the pairwise votes imply. The paper votes with
    SynFlow, jacob_cov and SNIP; any proxies may vote here. O(n² · proxies) time in chunks of rows, O(n) memory
    per row chunk; 15,625 architectures take seconds.

    >>> vote({"a": [1, 2, 3], "b": [1, 3, 2], "c": [3, 2, 1]}).tolist()
    [0.0, 2.0, 1.0]
    """
    _check_policy(nan_policy)
    _, matrix = score_table(scores, proxies)
    if nan_policy == "propagate":
        incomplete = np.isnan(matrix).any(axis=1)
        matrix = matrix[~incomplete]
    n = matrix.shape[0]
    wins = np.zeros(n)
    chunk = max(1, _VOTE_ELEMENTS // max(1, n * matrix.shape[1]))
    for start in range(0, n, chunk):
        block = matrix[start : start + chunk]
        points = vote_points(block, matrix)
        rows = np.arange(block.shape[0])
        points[rows, start + rows] = 0.0  # no architecture plays itself
        wins[start : start + block.shape[0]] = points.sum(axis=1)
    unscored = np.isnan(matrix).all(axis=1)
    wins[unscored] = np.nan
    if nan_policy == "propagate":
        full = np.full(incomplete.size, np.nan)
        full[~incomplete] = wins
        return full
    return wins


def vote_points(block: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Points (1 win, ½ tied vote, 0 loss) that each row of ``block`` (b, p) earns against each row of ``matrix``
    (n, p) in :func:`vote`'s majority vote; a NaN on either side of a pair abstains. Row i of the result plus
    the transposed points of the reverse pairs make 1, so a search can add an architecture to a running vote
    in O(n · p) (``near.search.fitness``)."""
    with np.errstate(invalid="ignore"):
        margin = np.nansum(np.sign(block[:, None, :] - matrix[None, :, :]), axis=2)  # NaN pair = abstain
    return (margin > 0) + 0.5 * (margin == 0)


Transform = Literal["rank", "zscore", "raw"]


def weighted(
    scores: Mapping[str, Sequence[float]],
    weights: Mapping[str, float],
    *,
    transform: Transform = "rank",
    nan_policy: NanPolicy = "propagate",
) -> np.ndarray:
    """Σ weight × transformed score over the named proxies, e.g. ``{"near": 1, "params": 1}`` for NEAR + #params.

    ``transform``: ``"rank"`` (normalised ranks, default), ``"zscore"`` (standardised over the scored
    architectures) or ``"raw"`` (the values as they are). A negative weight turns a proxy around. The
    default ``nan_policy`` here is ``"propagate"``: a weighted sum with a term missing is not the same
    combination; ``"omit"`` rescales the present terms' weighted mean to the total weight.
    """
    _check_policy(nan_policy)
    if not isinstance(weights, Mapping) or not weights:
        raise OptionError("weights: give a mapping proxy → weight with at least one entry, e.g. {'near': 1}")
    values = []
    for name, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
            raise OptionError(f"weights[{name!r}] must be a finite number, got {weight!r}")
        values.append(float(weight))
    w = np.array(values)
    if not np.any(w):
        raise OptionError("weights: every weight is 0; give at least one non-zero weight")
    names, matrix = score_table(scores, list(weights))
    if transform == "rank":
        terms = normalised_ranks(matrix)
    elif transform == "zscore":
        with np.errstate(invalid="ignore", divide="ignore"):
            terms = (matrix - np.nanmean(matrix, axis=0)) / np.nanstd(matrix, axis=0)
    elif transform == "raw":
        terms = matrix
    else:
        raise OptionError(f"transform must be one of rank, zscore, raw, got {transform!r}")
    present = ~np.isnan(terms)
    total = np.where(present, terms * w, 0.0).sum(axis=1)
    mass = (present * np.abs(w)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = total * (np.abs(w).sum() / mass)
    if nan_policy == "propagate":
        result[~present.all(axis=1)] = np.nan
    result[mass == 0] = np.nan
    return np.round(result, _DECIMALS) if transform == "rank" else result


#: The training-free ensembles by name, each ``f(scores, proxies=None, *, nan_policy)``.
ENSEMBLES: dict[str, Callable[..., np.ndarray]] = {"mean_rank": mean_rank, "log_rank": log_rank, "vote": vote}

_TERM = re.compile(r"^(?:(\d+(?:\.\d*)?|\.\d+)\*)?([A-Za-z_]\w*)$")


def parse_weights(spec: str) -> dict[str, float]:
    """A weighted combination written as text: ``"near+params"``, ``"2*near + 0.5*meco - flops"``.

    >>> parse_weights("2*near + params - 0.5*flops")
    {'near': 2.0, 'params': 1.0, 'flops': -0.5}
    """
    if not isinstance(spec, str) or not spec.strip():
        raise OptionError(f"a weighted ensemble is written like 'near+params' or '2*near+meco', got {spec!r}")
    weights: dict[str, float] = {}
    parts = re.split(r"([+-])", spec.replace(" ", ""))  # term, sign, term, sign, term …
    if parts[0] == "":
        parts = parts[1:]  # a leading sign
    else:
        parts = ["+", *parts]
    for sign, term in zip(parts[::2], parts[1::2]):
        match = _TERM.match(term)
        if not match:
            raise OptionError(f"cannot read {term!r} in {spec!r}; write terms like 'near', '2*near' or '0.5*params'")
        factor, name = float(match.group(1) or 1.0), match.group(2)
        if name in weights:
            raise OptionError(f"{name!r} appears twice in {spec!r}")
        weights[name] = -factor if sign == "-" else factor
    return weights


def combine(
    scores: Mapping[str, Sequence[float]],
    method: str,
    proxies: Sequence[str] | None = None,
    *,
    nan_policy: NanPolicy | None = None,
) -> np.ndarray:
    """One ensemble by name: ``"mean_rank"``, ``"log_rank"``, ``"vote"`` (over ``proxies``, default all), or a
    weighted combination ``"near+params"`` (:func:`parse_weights`; ``proxies`` must then be ``None``).

    >>> combine({"near": [1, 2, 3], "params": [3, 2, 1]}, "near+params").tolist()
    [1.333333333333, 1.333333333333, 1.333333333333]
    """
    if method in ENSEMBLES:
        return ENSEMBLES[method](scores, proxies, nan_policy=nan_policy or "omit")
    if proxies is not None:
        raise OptionError(f"{method!r} names its proxies itself; do not also give proxies")
    if not re.search(r"[+*-]", method) and method not in scores:
        raise OptionError(
            f"unknown ensemble {method!r}; expected one of {', '.join(ENSEMBLES)} or a weighted sum like 'near+params'"
        )
    return weighted(scores, parse_weights(method), nan_policy=nan_policy or "propagate")


def default_ensembles(scores: Mapping[str, Sequence[float]]) -> dict[str, np.ndarray]:
    """The ensembles ``near bench`` and ``near report`` show beside the proxies: mean rank, log-rank and the
    vote over every proxy of the run (when it has at least two), and NEAR + #params (rank sum) when both are
    there. Each with its default ``nan_policy``."""
    names = list(scores)
    found: dict[str, np.ndarray] = {}
    if len(names) >= 2:
        for method, function in ENSEMBLES.items():
            found[method] = function(scores)
    if "near" in scores and "params" in scores:
        found["near+params"] = weighted(scores, {"near": 1.0, "params": 1.0})
    return found
