"""CSV files of samples: numbers only, one sample per row, an optional header that may name a label column."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import DataError

__all__ = ["LABEL_COLUMNS", "read_csv"]

#: Header names (compared in lower case) of the column that holds the labels.
LABEL_COLUMNS: tuple[str, ...] = ("label", "labels", "y", "target", "class")


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Features (float64) and labels (numbers as float64, names as strings, or ``None``) of a CSV file."""
    with path.open(newline="") as file:
        rows = [row for row in csv.reader(file) if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"{path}: the data is empty (no rows)")
    header = rows[0] if not all(map(_is_number, rows[0])) else None
    body = rows[1:] if header else rows
    if not body:
        raise DataError(f"{path}: the data is empty (a header but no rows)")
    width = len(rows[0])
    label_column = None
    if header:
        names = [cell.strip().lower() for cell in header]
        label_column = next((i for i, name in enumerate(names) if name in LABEL_COLUMNS), None)
    for number, row in enumerate(body, start=2 if header else 1):
        if len(row) != width:
            raise DataError(f"{path}, line {number}: {len(row)} cells where the first row has {width}")
        for column, cell in enumerate(row):
            if column != label_column and not _is_number(cell):
                where = repr(header[column]) if header else str(column + 1)
                raise DataError(f"{path}, line {number}, column {where}: {cell!r} is not a number")
    if label_column is None:
        return np.array(body, dtype=np.float64), None
    columns = [i for i in range(width) if i != label_column]
    labels = np.array([row[label_column].strip() for row in body])
    if all(map(_is_number, labels)):
        labels = labels.astype(np.float64)
    return np.array([[row[i] for i in columns] for row in body], dtype=np.float64), labels


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
