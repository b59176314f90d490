"""Learned performance predictors over proxy scores and architecture encodings (scikit-learn estimators).

A zero-cost proxy is a weak learner; a few hundred trained architectures are enough to learn how to weigh
many of them. :class:`ProxyPredictor` is a gradient-boosted-tree regressor that follows scikit-learn's
conventions (``fit``/``predict``/``score``, ``get_params``, :func:`sklearn.base.clone`, ``random_state``)
so it drops into ``cross_val_score``, pipelines and grid searches. Its features are proxy scores and,
optionally, the architecture encoding of the search space (``near.spaces.get(name).encode(arch)``);
:func:`features` builds them, :func:`learning_curve` measures held-out ranking quality against the number
of training architectures.

Features go through x ↦ asinh(x) (±inf ↦ ±1000) before the trees see them: a strictly increasing map, so
the splits are the same, but SynFlow's 1e40s and infinities survive LightGBM's and XGBoost's float32 bins.

**Missing scores (NaN)** stay NaN in the feature matrix: every backend's trees learn, at each split, on
which side a missing value goes (scikit-learn's and LightGBM's missing-value support, XGBoost's default
direction). Nothing is imputed. A feature column with no value at all is refused.

Examples
--------
>>> import numpy as np
>>> from near.predict import ProxyPredictor
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(300, 3)); y = X[:, 0] + 0.1 * rng.normal(size=300)
>>> model = ProxyPredictor(random_state=0).fit(X[:200], y[:200])
>>> model.score(X[200:], y[200:]) > 0.9                    # Spearman ρ on held-out rows
True
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from . import metrics, spaces
from .ensemble import score_table
from .errors import InputError, OptionError

__all__ = [
    "BACKENDS",
    "DEFAULT_KS",
    "CurvePoint",
    "ProxyPredictor",
    "evaluate_split",
    "features",
    "learning_curve",
    "split",
]

#: Gradient-boosting implementations :class:`ProxyPredictor` can use (xgboost: the optional ``xgboost-cpu``).
BACKENDS: tuple[str, ...] = ("lightgbm", "hist", "xgboost")
OBJECTIVES: tuple[str, ...] = ("regression", "ranking")
TARGETS: tuple[str, ...] = ("rank", "raw")
#: Training-set sizes of the learning curve (the issue's 16 … 1024).
DEFAULT_KS: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024)
#: Held-out architectures a split keeps at least (top-5 % needs 20 to hold one architecture).
MIN_TEST = 20
_GRADES = 31  # LightGBM's lambdarank takes integer relevance 0..30 (its default label_gain)


def _validate(estimator: BaseEstimator, X: Any, y: Any = "no_validation", *, reset: bool) -> Any:
    """scikit-learn's input check, NaN allowed (it means "missing" to the trees)."""
    try:
        from sklearn.utils.validation import validate_data  # scikit-learn ≥ 1.6
    except ImportError:  # pragma: no cover - older scikit-learn
        kwargs = {"force_all_finite": "allow-nan", "reset": reset}
        return estimator._validate_data(X, y, **kwargs)
    if isinstance(y, str) and y == "no_validation":
        return validate_data(estimator, X, ensure_all_finite="allow-nan", reset=reset)
    return validate_data(estimator, X, y, ensure_all_finite="allow-nan", reset=reset, y_numeric=True)


class ProxyPredictor(RegressorMixin, BaseEstimator):
    """Gradient-boosted trees that predict accuracy from proxy scores (and encodings); scored by ranking.

    Parameters
    ----------
    backend : {"lightgbm", "hist", "xgboost"}
        LightGBM (default: as accurate as the others on NB201, about 3× faster to fit than scikit-learn's
        and up to 2× faster than XGBoost; see ``docs/ensembles.md``), scikit-learn's
        ``HistGradientBoostingRegressor``, or XGBoost (install ``xgboost-cpu``; the plain ``xgboost`` wheel
        pulls NVIDIA's NCCL). LightGBM and XGBoost run on one thread, so a fit is reproducible and a
        learning curve does not fight other work for the cores.
    objective : {"regression", "ranking"}
        Squared error on the target, or a ranking loss over all training pairs (LightGBM's lambdarank on
        accuracy grades, XGBoost's ``rank:pairwise``); ``"hist"`` has no ranking loss.
    target : {"rank", "raw"}
        What the regression fits: the accuracy's normalised rank in the training set (default; the few
        diverged networks at chance accuracy then weigh no more than any other architecture) or the raw
        accuracy. Predictions are then on that scale; only their order is meant to be used.
    n_estimators, learning_rate, max_leaf_nodes, min_samples_leaf
        Boosting rounds, shrinkage, leaves per tree, smallest leaf (capped at a tenth of the training set,
        so a 16-architecture fit can still split).
    random_state : int or None
        Seeds the backend (row/feature subsampling where used; ties in split finding).

    Attributes
    ----------
    model_ : the fitted backend estimator
    n_features_in_ : int
    """

    def __init__(
        self,
        backend: str = "lightgbm",
        objective: str = "regression",
        target: str = "rank",
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 5,
        random_state: int | None = None,
    ) -> None:
        self.backend = backend
        self.objective = objective
        self.target = target
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state

    def _check_params(self) -> None:
        for name, allowed in (("backend", BACKENDS), ("objective", OBJECTIVES), ("target", TARGETS)):
            if getattr(self, name) not in allowed:
                raise OptionError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.backend == "hist" and self.objective == "ranking":
            raise OptionError("backend 'hist' has no ranking objective; use backend='lightgbm' or 'xgboost'")
        for name in ("n_estimators", "max_leaf_nodes", "min_samples_leaf"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise OptionError(f"{name} must be a positive integer, got {value!r}")
        if self.max_leaf_nodes < 2:
            raise OptionError(f"max_leaf_nodes must be at least 2, got {self.max_leaf_nodes!r}")
        if not isinstance(self.learning_rate, (int, float)) or not 0 < self.learning_rate <= 1:
            raise OptionError(f"learning_rate must be in (0, 1], got {self.learning_rate!r}")

    def _backend(self, n: int) -> Any:
        leaf = int(max(1, min(self.min_samples_leaf, n // 10)))
        seed = self.random_state
        if self.backend == "hist":
            from sklearn.ensemble import HistGradientBoostingRegressor

            return HistGradientBoostingRegressor(
                max_iter=self.n_estimators,
                learning_rate=self.learning_rate,
                max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=leaf,
                early_stopping=False,
                random_state=seed,
            )
        if self.backend == "lightgbm":
            lightgbm = _optional("lightgbm", "lightgbm")
            cls = lightgbm.LGBMRanker if self.objective == "ranking" else lightgbm.LGBMRegressor
            extra = {"objective": "lambdarank", "lambdarank_truncation_level": n} if self.objective == "ranking" else {}
            return cls(
                n_estimators=self.n_estimators,
                learning_rate=self.learning_rate,
                num_leaves=self.max_leaf_nodes,
                min_child_samples=leaf,
                min_child_weight=0.0,
                random_state=seed,
                n_jobs=1,
                verbose=-1,
                **extra,
            )
        xgboost = _optional("xgboost", "xgboost-cpu")
        cls = xgboost.XGBRanker if self.objective == "ranking" else xgboost.XGBRegressor
        # pairwise gradients carry tiny hessians: a hessian floor per leaf would forbid every split
        extra = {"objective": "rank:pairwise"} if self.objective == "ranking" else {"min_child_weight": float(leaf)}
        return cls(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            max_leaves=self.max_leaf_nodes,
            grow_policy="lossguide",
            tree_method="hist",
            random_state=seed if seed is not None else 0,
            n_jobs=1,
            **extra,
        )

    def fit(self, X: Any, y: Any) -> ProxyPredictor:
        """Fit on features ``X`` (n, d; NaN = missing) and accuracies ``y`` (n,). Returns self."""
        self._check_params()
        X, y = _validate(self, X, y, reset=True)
        y = np.asarray(y, dtype=float)
        if X.shape[0] < 2:
            raise InputError(f"fit needs at least 2 training architectures, got n_samples={X.shape[0]}")
        if (empty := np.isnan(X).all(axis=0)).any():
            raise InputError(
                f"feature column(s) {np.flatnonzero(empty).tolist()} have no value in the training set (all NaN); "
                "drop them or train on architectures where they are scored"
            )
        X = _squash(np.asarray(X, dtype=float))
        model = self._backend(X.shape[0])
        if self.objective == "ranking":
            ranks = _normalised_rank(y)
            labels = np.floor(ranks * (_GRADES - 1e-9)).astype(int) if self.backend == "lightgbm" else ranks
            if self.backend == "lightgbm":
                model.fit(X, labels, group=[X.shape[0]])
            else:
                model.fit(X, labels, qid=np.zeros(X.shape[0], dtype=int))
        else:
            model.fit(X, _normalised_rank(y) if self.target == "rank" else y)
        self.model_ = model
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted score per row of ``X``: higher = predicted better (its order is what counts)."""
        check_is_fitted(self, "model_")
        X = _squash(np.asarray(_validate(self, X, reset=False), dtype=float))
        return np.asarray(self.model_.predict(X), dtype=float)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Spearman ρ between the predictions and ``y`` (not R²: the ranking is what a search uses)."""
        if sample_weight is not None:
            raise OptionError("score: sample weights are not supported by a rank correlation")
        return float(metrics.spearman(self.predict(X), np.asarray(y, dtype=float)))

    def __sklearn_tags__(self):  # scikit-learn ≥ 1.6
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"allow_nan": True}


_INF = 1000.0  # beyond asinh of the largest float64 (≈ 710.5)


def _squash(X: np.ndarray) -> np.ndarray:
    """x ↦ asinh(x), ±inf ↦ ±1000: strictly increasing, so every tree sees the same splits, but SynFlow's 1e40s
    and infinities fit the float32 that LightGBM and XGBoost bin in. NaN stays NaN (missing)."""
    with np.errstate(invalid="ignore"):
        out = np.arcsinh(X)
    out[np.isposinf(X)] = _INF
    out[np.isneginf(X)] = -_INF
    return out


def _optional(module: str, package: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise OptionError(f"backend {module!r} needs the package {package!r}: pip install {package}") from None


def _normalised_rank(y: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(y) / y.size


def features(
    scores: Mapping[str, Sequence[float]] | None = None,
    proxies: Sequence[str] | None = None,
    *,
    archs: Sequence[Any] | None = None,
    space: str | spaces.Space | None = None,
) -> tuple[np.ndarray, list[str]]:
    """The feature matrix of a predictor: proxy columns (NaN kept), then the space's encoding of each arch.

    Parameters
    ----------
    scores : mapping proxy → scores, optional
        A table of proxy scores (``near.report.load_run(dir).scores``); ``proxies`` picks columns (default all).
    archs, space : optional
        Give both to append ``space.encode(arch)`` for every architecture (in the table's order).

    Returns
    -------
    (X, names)
        ``X`` of shape (n, d) and the name of every column.
    """
    blocks, names = [], []
    if scores is not None:
        chosen, matrix = score_table(scores, proxies)
        blocks.append(matrix)
        names += chosen
    elif proxies is not None:
        raise InputError("proxies given without scores; pass the table of scores too")
    if (archs is None) != (space is None):
        raise InputError("an encoding needs both archs and space (e.g. space='nb201')")
    if space is not None:
        space = spaces.get(space)
        if not space.encoding:
            space.encode(archs[0] if len(archs) else None)  # raises: this space has no encoding
        encoded = np.array([space.encode(arch) for arch in archs], dtype=float).reshape(len(archs), -1)
        if blocks and encoded.shape[0] != blocks[0].shape[0]:
            raise InputError(f"{len(archs)} architectures for {blocks[0].shape[0]} rows of scores")
        blocks.append(encoded)
        names += list(space.encoding)
    if not blocks:
        raise InputError("no features: give proxy scores, an encoding (archs and space), or both")
    return np.concatenate(blocks, axis=1), names


def split(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``k`` training rows drawn by ``seed`` and of every other row (the held-out set).

    The draw depends only on (n, k, seed), so every feature set and every method of one learning curve
    is trained and tested on the same architectures.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise OptionError(f"the number of training architectures must be an integer ≥ 2, got {k!r}")
    if k > n - MIN_TEST:
        raise OptionError(
            f"cannot train on {k} of {n} architectures and keep the {MIN_TEST} held out that top-5 % needs; "
            f"give at most {max(n - MIN_TEST, 0)} training architectures (or score more architectures)"
        )
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[:k]), np.sort(order[k:])


def evaluate_split(
    estimator: BaseEstimator, X: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray
) -> dict[str, float]:
    """Fit a clone on ``train``, return held-out ``spearman``, ``kendall``, ``top5`` (top-5 % precision) and
    ``fit_seconds``."""
    from sklearn.base import clone

    model = clone(estimator)
    started = time.perf_counter()
    model.fit(X[train], y[train])
    seconds = time.perf_counter() - started
    predicted = model.predict(X[test])
    truth = y[test]
    return {
        "spearman": metrics.spearman(predicted, truth),
        "kendall": metrics.kendall(predicted, truth),
        "top5": metrics.top_k_precision(predicted, truth, fraction=0.05),
        "fit_seconds": seconds,
    }


@dataclass(frozen=True)
class CurvePoint:
    """Held-out quality at one training-set size: mean and standard deviation over seeds (``ddof=0``)."""

    k: int
    seeds: int
    spearman: float
    spearman_std: float
    kendall: float
    kendall_std: float
    top5: float
    top5_std: float
    fit_seconds: float

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def learning_curve(
    X: np.ndarray,
    y: Sequence[float],
    ks: Sequence[int] = DEFAULT_KS,
    seeds: int = 5,
    estimator: BaseEstimator | None = None,
) -> list[CurvePoint]:
    """Held-out Spearman ρ, Kendall τ and top-5 % precision for each training-set size ``k`` (mean ± std over
    ``seeds`` random splits, seed ``s`` = :func:`split` (n, k, s)). ``k`` larger than the data allows raises
    :class:`~near.errors.OptionError`; drop it from ``ks`` instead."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise InputError(f"X must be (n, d) and y (n,), got {X.shape} and {y.shape}")
    if np.isnan(y).any():
        raise InputError(f"y: {int(np.isnan(y).sum())} accuracies are missing; every architecture needs one")
    if isinstance(seeds, bool) or not isinstance(seeds, (int, np.integer)) or seeds < 1:
        raise OptionError(f"seeds must be a positive integer, got {seeds!r}")
    estimator = estimator if estimator is not None else ProxyPredictor(random_state=0)
    for k in ks:
        split(len(y), k, 0)  # refuse every impossible k before the first fit
    points = []
    for k in ks:
        runs = [evaluate_split(estimator, X, y, *split(len(y), k, seed)) for seed in range(seeds)]
        stats = {key: np.array([run[key] for run in runs], dtype=float) for key in runs[0]}
        points.append(
            CurvePoint(
                int(k),
                int(seeds),
                *(float(f(stats[key])) for key in ("spearman", "kendall", "top5") for f in (np.mean, np.std)),
                float(np.mean(stats["fit_seconds"])),
            )
        )
    return points
