"""CSV files of samples: numbers only, one sample per row, an optional header that may name a label column."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import DataError

__all__ = ["LABEL_COLUMNS", "csv_feature_names", "read_csv"]

#: Header names (compared in lower case) of the column that holds the labels.
LABEL_COLUMNS: tuple[str, ...] = ("label", "labels", "y", "target", "class")


def read_csv(path: Path, targets: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray | None]:
    """Features (float64) and labels (numbers as float64, names as strings, or ``None``) of a CSV file.

    The label column is the one named in ``targets`` (several names: an ``(N, k)`` float64 regression
    target), else the first column named like one of :data:`LABEL_COLUMNS`.
    """
    header, body = _rows(path)
    width = len(header) if header else len(body[0])
    label_columns = _label_columns(path, header, targets)
    for number, row in enumerate(body, start=2 if header else 1):
        if len(row) != width:
            raise DataError(f"{path}, line {number}: {len(row)} cells where the first row has {width}")
        for column, cell in enumerate(row):
            if not _is_number(cell) and (column not in label_columns or len(label_columns) > 1):
                where = repr(header[column]) if header else str(column + 1)
                what = " (several target columns make a regression target: numbers only)" * (column in label_columns)
                raise DataError(f"{path}, line {number}, column {where}: {cell!r} is not a number{what}")
    columns = [i for i in range(width) if i not in label_columns]
    features = np.array([[row[i] for i in columns] for row in body], dtype=np.float64)
    if not label_columns:
        return features, None
    if len(label_columns) > 1:
        return features, np.array([[row[i] for i in label_columns] for row in body], dtype=np.float64)
    labels = np.array([row[label_columns[0]].strip() for row in body])
    if all(map(_is_number, labels)):
        labels = labels.astype(np.float64)
    return features, labels


def csv_feature_names(path: Path, targets: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """The header's names of the feature columns (``None`` without a header), as :func:`read_csv` splits them."""
    header, _ = _rows(path)
    if header is None:
        return None
    label_columns = _label_columns(path, header, targets)
    return tuple(name for i, name in enumerate(header) if i not in label_columns)


def _rows(path: Path) -> tuple[list[str] | None, list[list[str]]]:
    """The header (names stripped, or ``None``) and the body rows, blank rows left out."""
    with path.open(newline="") as file:
        rows = [row for row in csv.reader(file) if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"{path}: the data is empty (no rows)")
    header = [cell.strip() for cell in rows[0]] if not all(map(_is_number, rows[0])) else None
    body = rows[1:] if header else rows
    if not body:
        raise DataError(f"{path}: the data is empty (a header but no rows)")
    return header, body


def _label_columns(path: Path, names: list[str] | None, targets: tuple[str, ...]) -> list[int]:
    """Indices of the label columns: the ``targets`` named (exactly, else ignoring case), or the first
    column named like a label; an error listing the columns when a target is not among them."""
    if not targets:
        lower = [name.lower() for name in names or ()]
        return next(([i] for i, name in enumerate(lower) if name in LABEL_COLUMNS), [])
    if names is None:
        raise DataError(
            f"{path} has no header row, so it has no column named {', '.join(map(repr, targets))}; "
            "add a header row naming the columns"
        )
    found = []
    for target in targets:
        exact = [i for i, name in enumerate(names) if name == target]
        match = exact or [i for i, name in enumerate(names) if name.lower() == target.lower()]
        if len(match) != 1:
            problem = "no column" if not match else f"{len(match)} columns"
            raise DataError(f"{path} has {problem} named {target!r}; its columns are {', '.join(names)}")
        found.append(match[0])
    if len(found) == len(names):
        raise DataError(f"{path}: every column ({', '.join(names)}) is a target, which leaves no features")
    return found


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
