"""The files a benchmark run leaves in its directory, each written whole or not at all.

* ``scores.csv`` — one row per architecture, sorted by index: ``index, arch_str, accuracy``, then one
  column per proxy named exactly as the proxy, then (with ``timings``) ``<proxy>_seconds`` columns.
  Numbers are written as Python's shortest round-trip ``repr``; **a NaN score is an empty cell**
  (the proxy could not be computed; the reason is in ``results.sqlite`` and ``correlations.json``).
* ``correlations.json`` — ``{"n": N, "accuracy": column, "proxies": {name: {...}}, "proxy_spearman": {...}}``:
  per proxy ``kendall``, ``spearman``, ``pairwise``, ``top_k`` (``{"top10": …, "top1%": …, "top5%": …,
  "top10%": …}``), ``n_valid`` (architectures with a score), ``n_nan`` and ``nan_reasons`` (reason →
  count); ``ensembles``: the same fields but ``nan_reasons`` for each ensemble of
  :func:`near.ensemble.default_ensembles` (mean rank, log-rank, vote, NEAR + #params); ``proxy_spearman`` is
  the proxy–proxy Spearman matrix with ``"accuracy"`` first. All from
  :mod:`near.metrics` (NaN pairs omitted, never replaced); undefined values are ``null``.
* ``run.json`` — what was run and how to run it again (see :func:`near.bench.run`).

Each is written to a temporary file beside its destination and renamed into place (``os.replace``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import metrics
from .._files import write_atomic
from ..ensemble import default_ensembles
from .tables import Row

__all__ = ["CORRELATIONS", "OUTPUTS", "RUN", "SCORES", "correlations", "scores_csv", "write_json"]

SCORES, CORRELATIONS, RUN = "scores.csv", "correlations.json", "run.json"
#: The files written from the store, in order (the report follows them: see :func:`near.bench.run`).
OUTPUTS: tuple[str, ...] = (SCORES, CORRELATIONS, RUN)


def _json_ready(value: Any) -> Any:
    """NaN and ±inf become ``null`` (JSON has no such numbers); NumPy scalars become Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_json(path: str | Path, value: Any) -> Path:
    """Write ``value`` as indented, valid JSON (no NaN literals), atomically."""
    return write_atomic(path, json.dumps(_json_ready(value), indent=2, allow_nan=False) + "\n")


def _number(value: float) -> str:
    return "" if math.isnan(value) else repr(float(value))


def scores_csv(
    rows: Sequence[Row],
    scores: Mapping[str, Sequence[float]],
    seconds: Mapping[str, Sequence[float | None]] | None = None,
) -> str:
    """The text of ``scores.csv``: ``rows`` in order, ``scores`` proxy → one value per row (see the module)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = list(scores)
    timing = list(seconds or {})
    writer.writerow(["index", "arch_str", "accuracy", *names, *(f"{name}_seconds" for name in timing)])
    for i, row in enumerate(rows):
        values = [_number(scores[name][i]) for name in names]
        times = ["" if seconds[name][i] is None else repr(float(seconds[name][i])) for name in timing]
        writer.writerow([row.index, row.arch_str, _number(row.accuracy), *values, *times])
    return out.getvalue()


def correlations(
    rows: Sequence[Row],
    scores: Mapping[str, Sequence[float]],
    reasons: Mapping[str, Sequence[str | None]],
    accuracy_column: str,
) -> dict[str, Any]:
    """The content of ``correlations.json`` (see the module docstring); values may be NaN (``null`` once written)."""
    accuracy = np.array([row.accuracy for row in rows])
    proxies = {}
    for name, values in scores.items():
        result = metrics.correlations(np.asarray(values, dtype=float), accuracy)
        top_k = {key: value for key, value in result.items() if key.startswith("top")}
        causes = Counter(reason for value, reason in zip(values, reasons[name]) if reason and math.isnan(value))
        proxies[name] = {
            "kendall": result["kendall"],
            "spearman": result["spearman"],
            "pairwise": result["pairwise"],
            "top_k": top_k,
            "n_valid": result["n"],
            "n_nan": result["n_nan"],
            "nan_reasons": dict(causes.most_common()),
        }
    ensembles = {}
    for name, values in default_ensembles(scores).items():
        result = metrics.correlations(values, accuracy)
        ensembles[name] = {
            "kendall": result["kendall"],
            "spearman": result["spearman"],
            "pairwise": result["pairwise"],
            "top_k": {key: value for key, value in result.items() if key.startswith("top")},
            "n_valid": result["n"],
            "n_nan": result["n_nan"],
        }
    columns = {"accuracy": accuracy, **{name: np.asarray(values, dtype=float) for name, values in scores.items()}}
    matrix = metrics.proxy_correlation_matrix(columns) if scores else np.empty((0, 0))
    return {
        "n": len(rows),
        "accuracy": accuracy_column,
        "proxies": proxies,
        "ensembles": ensembles,
        "proxy_spearman": {"names": list(columns), "matrix": matrix},
    }
