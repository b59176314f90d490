"""Reading one benchmark run folder, as ``near bench`` writes it: ``scores.csv`` and, if present, ``run.json``
and ``correlations.json``.

The report recomputes every metric from ``scores.csv`` with :mod:`near.metrics`: one source of truth, so
the report can never disagree with the scores it shows. It takes from the other files only what
``scores.csv`` cannot hold: the settings and the cost per proxy (``run.json``), and why scores are missing
(``nan_reasons`` of ``correlations.json``).

``scores.csv`` columns: ``accuracy`` (required), then one column per proxy named as the proxy, and
optionally ``<proxy>_seconds`` timings; ``index`` and ``arch_str`` are read past. Every other column is a
proxy. A score cell that is empty or ``nan`` is a missing score (kept as NaN, never a sentinel); ``inf``
is a value.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..bench.outputs import CORRELATIONS, RUN, SCORES
from ..errors import DataError

_NOT_PROXIES = ("index", "arch_str", "accuracy")
_SECONDS = "_seconds"


@dataclass(frozen=True)
class Run:
    """The scores of one benchmark run, aligned by architecture.

    Attributes
    ----------
    path : Path
        The run folder.
    accuracy : numpy.ndarray, shape (n,)
        Trained accuracy of each architecture (the ground truth).
    scores : dict proxy -> numpy.ndarray, shape (n,)
        Proxy scores in the CSV's column order; NaN where a proxy has no score.
    seconds : dict proxy -> numpy.ndarray, shape (n,)
        Seconds per architecture, for the proxies whose ``<proxy>_seconds`` column exists.
    settings : dict
        The contents of ``run.json`` (how the run was made), or empty when the file is absent.
    cost : dict proxy -> dict
        ``run.json``'s ``cost``: ``evaluations`` (architectures timed, each once), ``seconds`` (their total),
        ``median_seconds``, ``per_second``; NaN where undefined.
    nan_reasons : dict proxy -> dict reason -> int
        Why scores are missing, from ``correlations.json``, for the proxies whose reasons account for no
        more NaN scores than ``scores.csv`` has (the files of one run always agree).
    """

    path: Path
    accuracy: np.ndarray
    scores: dict[str, np.ndarray]
    seconds: dict[str, np.ndarray] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    cost: dict[str, dict[str, float]] = field(default_factory=dict)
    nan_reasons: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def proxies(self) -> list[str]:
        return list(self.scores)

    def __len__(self) -> int:
        return int(self.accuracy.size)


def load_run(directory: str | Path) -> Run:
    """Read a run folder written by ``near bench`` (see the module docstring for the format).

    Raises
    ------
    DataError
        The folder or its ``scores.csv`` is missing, or the CSV has no ``accuracy`` column, no proxy
        column, a row of the wrong length, or a value that is not a number.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise DataError(f"run folder {folder}: not found (or not a folder); give a folder written by `near bench`")
    csv_path = folder / SCORES
    if not csv_path.is_file():
        raise DataError(f"{csv_path}: not found; a run folder of `near bench` holds {SCORES} (is the run finished?)")
    header, rows = _read_csv(csv_path)
    accuracy, scores, seconds = _columns(csv_path, header, rows)
    settings = read_json(folder / RUN)
    cost = _cost(folder / RUN, settings.get("cost", {}), scores)
    reasons = _nan_reasons(read_json(folder / CORRELATIONS), scores)
    return Run(folder, accuracy, scores, seconds, settings, cost, reasons)


def _read_csv(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            lines = list(csv.reader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot be read as CSV ({error})") from None
    if not lines:
        raise DataError(f"{path}: the file is empty; expected a header line and one row per architecture")
    header = [name.strip() for name in lines[0]]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataError(f"{path}: duplicate column(s) {duplicates}; every column name must appear once")
    rows = [(number, row) for number, row in enumerate(lines[1:], start=2) if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"{path}: no architectures (only a header line)")
    for number, row in rows:
        if len(row) != len(header):
            raise DataError(f"{path}, line {number}: {len(row)} values for {len(header)} columns {header}")
    return header, rows


def _columns(path: Path, header: list[str], rows) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    if "accuracy" not in header:
        raise DataError(
            f"{path}: no 'accuracy' column (columns: {header}); expected index, arch_str, accuracy, then one "
            "column per proxy, as `near bench` writes them"
        )
    proxies = [name for name in header if name not in _NOT_PROXIES and not name.endswith(_SECONDS)]
    if not proxies:
        raise DataError(f"{path}: no proxy column (columns: {header}); expected one column per proxy after accuracy")

    def column(name: str, missing_ok: bool) -> np.ndarray:
        position = header.index(name)
        return np.array([_number(path, number, name, row[position], missing_ok) for number, row in rows])

    accuracy = column("accuracy", missing_ok=False)
    scores = {name: column(name, missing_ok=True) for name in proxies}
    seconds = {p: column(p + _SECONDS, missing_ok=True) for p in proxies if p + _SECONDS in header}
    return accuracy, scores, seconds


def _number(path: Path, line: int, column: str, cell: str, missing_ok: bool) -> float:
    text = cell.strip()
    try:
        value = float(text) if text else math.nan
    except ValueError:
        raise DataError(f"{path}, line {line}, column {column!r}: {cell!r} is not a number") from None
    if math.isnan(value) and not missing_ok:
        raise DataError(f"{path}, line {line}: the {column} is missing; every architecture needs one")
    return value


def read_json(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path}: cannot be read as JSON ({error}); delete it or re-run `near bench`") from None
    if not isinstance(value, dict):
        raise DataError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


def _cost(path: Path, cost: object, scores: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """``run.json``'s cost of the proxies in ``scores``, numbers checked (JSON ``null`` is NaN)."""
    keys = ("evaluations", "seconds", "median_seconds", "per_second")
    if not isinstance(cost, dict):
        raise DataError(f"{path}: 'cost' is {type(cost).__name__}, expected an object proxy → numbers")
    found = {}
    for name in scores:
        if (entry := cost.get(name)) is None:
            continue
        if not isinstance(entry, dict) or not all(_number_or_null(entry.get(key)) for key in keys):
            raise DataError(f"{path}: the cost of {name!r} is {entry!r}; expected numbers {', '.join(keys)}")
        found[name] = {key: math.nan if entry.get(key) is None else float(entry[key]) for key in keys}
    return found


def _number_or_null(value: object) -> bool:
    return value is None or isinstance(value, (int, float)) and not isinstance(value, bool)


def _nan_reasons(saved: dict, scores: dict[str, np.ndarray]) -> dict[str, dict[str, int]]:
    """``nan_reasons`` per proxy of ``correlations.json``, where they fit the NaN count of ``scores.csv``."""
    proxies = saved.get("proxies", {})
    found = {}
    for name, values in scores.items():
        entry = proxies.get(name) if isinstance(proxies, dict) else None
        reasons = entry.get("nan_reasons") if isinstance(entry, dict) else None
        if not isinstance(reasons, dict) or not all(isinstance(n, int) and n > 0 for n in reasons.values()):
            continue
        if sum(reasons.values()) <= int(np.isnan(values).sum()):
            found[name] = {str(reason): count for reason, count in reasons.items()}
    return found
