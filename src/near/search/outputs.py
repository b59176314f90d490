"""The files a search leaves in its run directory, and how they are read back.

* ``best.json`` — the list ``best`` of :class:`~near.search.SearchResult`, best first.
* ``trajectory.csv`` — one row per scored architecture and per query, columns :data:`COLUMNS`; an empty
  cell is NaN (no query answered yet).
* ``trajectory.png`` — :func:`near.search.plots.trajectory_png` of those rows.
* ``run.json`` — the settings, the counts, the ``command`` that repeats the search, and ``best`` again.

Kept apart from :mod:`near.search.run` so that ``near report`` reads a search's files without importing the
search driver (which imports ``near bench``'s runner, which writes reports).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from ..errors import DataError

__all__ = ["BEST", "COLUMNS", "PLOT", "RUN", "SEARCH_KEYS", "TRAJECTORY", "is_search_record", "read_trajectory"]

BEST, TRAJECTORY, PLOT, RUN = "best.json", "trajectory.csv", "trajectory.png", "run.json"
COLUMNS = (
    "scored", "seconds", "wall_seconds", "queries", "best_arch", "best_fitness", "final_fitness", "best_accuracy",
    "best_queried",
)  # fmt: skip
#: Keys every search's ``run.json`` has and a ``near bench`` run's has not: how a run directory is recognised.
SEARCH_KEYS = ("strategy", "best", "stopped")

_INTEGERS = ("scored", "queries")
_TEXT = ("best_arch", "best_queried")


def is_search_record(record: object) -> bool:
    """Whether ``record`` (a parsed ``run.json``) was written by ``near search``."""
    return isinstance(record, dict) and all(key in record for key in SEARCH_KEYS)


def read_trajectory(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``trajectory.csv``, typed as the search made them (integers, floats with NaN, strings).

    Raises
    ------
    DataError
        The file is missing, lacks a column of :data:`COLUMNS`, has no row, or holds a value that is not a number.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            reader = csv.DictReader(stream)
            header = list(reader.fieldnames or [])
            lines = list(reader)
    except FileNotFoundError:
        raise DataError(f"{path}: not found; a finished `near search` writes it (is the search finished?)") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot be read as CSV ({error})") from None
    if missing := [column for column in COLUMNS if column not in header]:
        raise DataError(f"{path}: no column(s) {missing}; expected {', '.join(COLUMNS)} as `near search` writes them")
    if not lines:
        raise DataError(f"{path}: no rows; a search records one per scored architecture")
    rows = []
    for number, line in enumerate(lines, start=2):
        row: dict[str, Any] = {}
        for column in COLUMNS:
            cell = (line[column] or "").strip()
            if column in _TEXT:
                row[column] = cell
                continue
            try:
                row[column] = int(cell) if column in _INTEGERS else (float(cell) if cell else math.nan)
            except ValueError:
                raise DataError(f"{path}, line {number}, column {column!r}: {cell!r} is not a number") from None
        rows.append(row)
    return rows
