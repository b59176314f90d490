"""``near predict``: train the learned predictor on K architectures of a finished run, test on the rest.

Reads a run folder of ``near bench`` (``scores.csv``; ``run.json``'s ``space`` for the encoding) and returns
one JSON-ready dict: the held-out Spearman ρ, Kendall τ and top-5 % precision, mean and std over seeds
(:func:`near.predict.learning_curve` at one ``k``), and what was used.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import spaces
from ..errors import DataError, InputError, OptionError, ProxyError
from ..predict import ProxyPredictor, features, learning_curve
from ..report.ensembles import archs
from ..report.runs import load_run

__all__ = ["predict_run"]


def predict_run(
    run_dir: str | os.PathLike,
    train: int,
    *,
    seeds: int = 5,
    proxies: Sequence[str] | None = None,
    encoding: bool = False,
    use_proxies: bool = True,
    estimator: ProxyPredictor | None = None,
) -> dict[str, Any]:
    """Held-out quality of a predictor trained on ``train`` architectures of the run in ``run_dir``.

    Parameters
    ----------
    run_dir
        A folder written by ``near bench`` (its ``scores.csv`` with an ``accuracy`` column).
    train
        Training architectures per split; at most the run's size − 20 (:data:`near.predict.MIN_TEST`).
    seeds
        Random splits (seed 0 … seeds − 1, :func:`near.predict.split`).
    proxies
        Proxy columns used as features (default: every proxy of the run).
    encoding, use_proxies
        Add the search space's encoding of each architecture (``run.json`` names the space); drop the proxy
        features (encoding only).
    estimator
        Default: ``ProxyPredictor(random_state=0)``.

    Returns
    -------
    dict
        ``spearman``, ``kendall``, ``top5`` (means over seeds), their ``*_std``, ``train``, ``test``,
        ``seeds``, ``features`` (names), ``proxies``, ``space``, ``encoding``, ``estimator`` (its parameters),
        ``fit_seconds`` (mean per fit), ``n``.
    """
    run = load_run(run_dir)
    if not use_proxies and not encoding:
        raise OptionError("no features: keep the proxies or add the encoding (--encoding)")
    chosen = list(run.scores) if proxies is None else list(proxies)
    if use_proxies:
        if unknown := [name for name in chosen if name not in run.scores]:
            raise ProxyError(
                f"proxy column(s) {', '.join(unknown)} not in {run.path}/scores.csv; it has {', '.join(run.scores)}"
            )
        if empty := [name for name in chosen if np.isnan(run.scores[name]).all()]:
            raise InputError(f"{', '.join(empty)}: no architecture of {run.path} has a score; leave it out (--proxies)")
    space = run.settings.get("space")
    if encoding:
        if space is None:
            raise DataError(f"{run.path}: no run.json naming the search space, so no encoding; drop --encoding")
        rows = archs(run)
        if rows is None:
            raise DataError(f"{run.path}/scores.csv has no arch_str column to encode; drop --encoding")
        spaces.get(space).encode(rows[0])  # a space without an encoding says so here
    X, names = features(
        run.scores if use_proxies else None,
        chosen if use_proxies else None,
        archs=rows if encoding else None,
        space=space if encoding else None,
    )
    estimator = estimator if estimator is not None else ProxyPredictor(random_state=0)
    (point,) = learning_curve(X, run.accuracy, [train], seeds, estimator)
    return {
        "spearman": point.spearman,
        "kendall": point.kendall,
        "top5": point.top5,
        "spearman_std": point.spearman_std,
        "kendall_std": point.kendall_std,
        "top5_std": point.top5_std,
        "train": point.k,
        "test": len(run) - point.k,
        "seeds": point.seeds,
        "n": len(run),
        "space": space,
        "encoding": encoding,
        "proxies": chosen if use_proxies else [],
        "features": names,
        "estimator": estimator.get_params(),
        "fit_seconds": point.fit_seconds,
        "run": str(run.path),
    }
