"""The report's ensemble rows and the learned predictor's learning curve (issue 15).

Kept apart from :mod:`near.report.content`, which calls :func:`ensemble_rows` for the extra rows of its
score-vs-accuracy table and :func:`curve_blocks` for the section after it. Everything is computed from
``scores.csv`` (and ``run.json``'s ``space`` for the encoding), like the rest of the report.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import spaces
from ..ensemble import default_ensembles
from ..errors import ArchitectureError, DataError
from ..predict import DEFAULT_KS, MIN_TEST, CurvePoint, ProxyPredictor, features, learning_curve
from .document import Block, Heading, Image, Paragraph, Table
from .figures import _figure, _png
from .runs import SCORES, Run

__all__ = ["CURVE_SEEDS", "archs", "curve_blocks", "ensemble_rows", "learning_curves"]

#: Random splits per training-set size in the report's learning curve.
CURVE_SEEDS = 5


def ensemble_rows(run: Run, summarise) -> dict[str, dict[str, float | int]]:
    """``summarise(scores, accuracy)`` of every default ensemble (:func:`near.ensemble.default_ensembles`),
    shown as a second table right under the proxies', with the same columns."""
    return {name: summarise(values, run.accuracy) for name, values in default_ensembles(run.scores).items()}


def archs(run: Run) -> list[Any] | None:
    """The architecture of each row of ``scores.csv`` in the form ``near.spaces`` accepts (NB101's JSON cell
    is parsed), or ``None`` when the file has no ``arch_str`` column."""
    path = run.path / SCORES
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            reader = csv.DictReader(stream)
            if "arch_str" not in (reader.fieldnames or []):
                return None
            keys = [row["arch_str"] for row in reader if any((v or "").strip() for v in row.values())]
    except (OSError, csv.Error) as error:
        raise DataError(f"{path}: cannot be read ({error})") from None
    if len(keys) != len(run):
        raise DataError(f"{path}: {len(keys)} architectures for {len(run)} rows; the file changed while read")
    return [json.loads(key) if key.lstrip().startswith("{") else key for key in keys]


def _variants(run: Run) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Feature sets of the learning curve: proxies; proxies + encoding; encoding (where the space has one)."""
    found = {"proxies": features(run.scores)}
    space_name = run.settings.get("space")
    rows = archs(run)
    if space_name in spaces.available() and spaces.get(space_name).encoding and rows is not None:
        try:
            encoded = features(archs=rows, space=space_name)
            found["proxies + encoding"] = features(run.scores, archs=rows, space=space_name)
            found["encoding"] = encoded
        except ArchitectureError:  # an arch_str the space does not read: no encoding for this run
            pass
    return found


def learning_curves(run: Run, ks: Sequence[int] = DEFAULT_KS, seeds: int | None = None) -> dict[str, list[CurvePoint]]:
    """Feature set → the default :class:`~near.predict.ProxyPredictor`'s learning curve over the ``ks`` this
    run allows (``k ≤ n − 20``); empty when it allows none."""
    seeds = CURVE_SEEDS if seeds is None else seeds
    usable = [k for k in ks if k <= len(run) - MIN_TEST]
    if not usable:
        return {}
    estimator = ProxyPredictor(random_state=0)
    return {name: learning_curve(X, run.accuracy, usable, seeds, estimator) for name, (X, _) in _variants(run).items()}


def _cell(mean: float, std: float) -> str:
    return "—" if math.isnan(mean) else f"{mean:.3f} ± {std:.3f}"


def curve_rows(curves: dict) -> list[list[str]]:
    """One table row per (feature set, k): held-out ρ, τ and top-5 % as mean ± std, and the fit time."""
    return [
        [name, str(p.k), _cell(p.spearman, p.spearman_std), _cell(p.kendall, p.kendall_std), _cell(p.top5, p.top5_std),
         f"{p.fit_seconds:.2f}"]
        for name, points in curves.items()
        for p in points
    ]  # fmt: skip


def curve_blocks(run: Run, level: int, image_prefix: str = "") -> list[Block]:
    """The learning-curve section: a table (mean ± std over seeds) and a plot of held-out Spearman ρ."""
    seeds = CURVE_SEEDS
    curves = learning_curves(run, seeds=seeds)
    blocks: list[Block] = [Heading(level, "Learned predictor: learning curve")]
    if not curves:
        return blocks + [
            Paragraph(
                f"Not computed: {len(run)} architectures leave no training size k ≥ {DEFAULT_KS[0]} with "
                f"{MIN_TEST} held out."
            )
        ]
    blocks.append(
        Paragraph(
            "near.predict.ProxyPredictor (gradient-boosted trees, default settings) trained on k random "
            f"architectures of this run and tested on all the others; mean ± std over {seeds} random splits "
            "(split s draws the same architectures for every feature set). Features: the run's proxy scores, "
            "the search space's architecture encoding, or both. top-5% = precision of the predicted top 5 % of "
            "the held-out architectures. Repeat any row with: near predict RUN_DIR --train K --seeds 5 --json "
            "(add --encoding; --encoding --no-proxies for the encoding alone)."
        )
    )
    rows = curve_rows(curves)
    blocks.append(Table(["features", "k", "Spearman ρ", "Kendall τ", "top-5%", "fit s"], rows))
    blocks.append(
        Image(
            f"{image_prefix}learning_curve.png",
            curve_plot(curves),
            "Held-out Spearman ρ against the number of training architectures (mean ± std over splits).",
        )
    )
    return blocks


def curve_plot(curves: dict[str, list[CurvePoint]]) -> bytes:
    """Spearman ρ (mean, ± std band) against k on a log₂ axis, one line per feature set."""
    figure = _figure(5.5, 3.6)
    ax = figure.add_subplot()
    for name, points in curves.items():
        k = np.array([p.k for p in points])
        mean = np.array([p.spearman for p in points])
        std = np.array([p.spearman_std for p in points])
        ax.plot(k, mean, marker="o", label=name)
        ax.fill_between(k, mean - std, mean + std, alpha=0.2)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("training architectures k")
    ax.set_ylabel("held-out Spearman ρ")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(figure)


ENSEMBLES_NOTE = (
    "Ensembles: the training-free ensembles of every proxy above (near.ensemble: mean normalised rank; AZ-NAS's "
    "log-rank sum; Abdelfattah et al.'s majority vote, scored by pairs won) and NEAR + #params (sum of normalised "
    "ranks). "
    "A missing score is left out of an architecture's mean rank, log-rank and vote, and makes its NEAR + #params "
    "missing (see docs/ensembles.md)."
)
