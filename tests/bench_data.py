"""Tiny synthetic benchmarks for the tests of near.bench and near.report: a handful of NB201 and NB101 cells, a
few small images, and a reader of the report's Markdown tables."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

#: Six NB201 cells with made-up accuracies (index, arch string, accuracy).
NB201_ROWS = [
    (3, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", 93.5),
    (8, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 10.0),
    (11, "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|", 85.9),
    (20, "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|", 80.25),
    (42, "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|", 60.0),
    (57, "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|", 91.0),
]

NB101_HEADER = "matrix,ops,val_accuracy"
NB101_MATRIX = "[[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]"
NB101_OPS = '["input", "conv3x3-bn-relu", "maxpool3x3", "output"]'
#: Three NB101 rows as NAS-Bench-Suite-Zero stores them, unpruned: the cell above; the same cell with a
#: dead-end vertex 3 (pruned away: the same architecture); a cell whose only path is input→output.
NB101_SHARED_ROWS = [
    (NB101_MATRIX, NB101_OPS, 90.5),
    (
        "[[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]",
        '["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"]',
        90.25,
    ),
    ("[[0, 1, 1], [0, 0, 0], [0, 0, 0]]", '["input", "conv3x3-bn-relu", "output"]', 83.2),
]


def write_table(path: Path, rows=NB201_ROWS, header: str = "index,arch_str,test_accuracy") -> Path:
    """A CSV with ``header`` (comma-separated names) and ``rows`` (quoted where needed, as csv writes them)."""
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header.split(","))
        writer.writerows(rows)
    return path


def write_images(
    path: Path, n: int = 24, shape=(3, 8, 8), classes: int = 10, labels: bool = True, seed: int = 0
) -> Path:
    rng = np.random.default_rng(seed)
    arrays = {"images": rng.integers(0, 256, (n, *shape), dtype=np.uint8)}
    if labels:
        arrays["labels"] = rng.integers(0, classes, n)
    np.savez(path, **arrays)
    return path


def md_table(text: str, first: str) -> tuple[list[str], dict[str, list[str]]]:
    """The Markdown table whose header starts with ``first``: (header, first cell -> the other cells)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first} |"))
    header = [c.strip() for c in lines[start].strip("|").split(" | ")]
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("| ").split(" | ")]
        rows[cells[0]] = cells[1:]
    return header, rows
