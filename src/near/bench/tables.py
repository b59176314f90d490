"""Ground-truth tables: which architectures a benchmark has and how well each trained.

Two CSV layouts are read, one row per architecture:

* **NB201 / NATS** (``nb201``, ``nats-sss``): ``index, arch_str, test_accuracy`` — the layout of
  ``nb201_cifar10.csv``; CIFAR-100 and ImageNet16-120 files of the same layout read the same way.
* **NB101** (``nb101``): ``matrix, ops, val_accuracy`` with JSON cells (``nb101_500.csv``), or an
  ``arch_str`` column holding ``{"matrix": …, "ops": …}`` as JSON (what ``scores.csv`` writes).

``index`` is optional; without it a row's index is its position in the file (0-based). The accuracy
column is the one of :data:`ACCURACY_COLUMNS` the file has, or any column named by the caller.

An official **NATS-Bench directory** (``NATS-tss-v1_0-3ffb9-simple`` for ``nb201``,
``NATS-sss-v1_0-50262-simple`` for ``nats-sss``; :mod:`near.formats.nats`) is read as a table too: one row per
architecture file it holds, with the accuracy of the chosen dataset, metric and training setting. Its
accuracies are read when they are needed, one file per architecture: :meth:`Table.sample` reads only the drawn
rows' files (a run on a sample of the 15,625 cells reads only those), :attr:`Table.rows` all of them.

Every architecture is validated by its search space, and each row gets a **key**, ``arch_str``: the
canonical arch string of NB201/NATS, and for NB101 the compact JSON of the *pruned* cell,
``{"matrix":[[0,1],[0,0]],"ops":["input","output"]}`` (``Cell.to_dict()``, no spaces). Rows whose
architectures are equal after pruning share the key — and so, in ``near bench``, their scores.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import spaces
from ..errors import ArchitectureError, DataError, OptionError
from ..formats import nats
from ..spaces.nb101 import Cell

__all__ = ["ACCURACY_COLUMNS", "Row", "Table", "arch_key", "read_table", "shared_rows"]

#: Accuracy columns recognised without being named, in the order they are looked for.
ACCURACY_COLUMNS: tuple[str, ...] = ("test_accuracy", "val_accuracy", "valid_accuracy", "accuracy")


@dataclass(frozen=True)
class Row:
    """One architecture of a table: its ``index``, key ``arch_str``, canonical ``arch`` and ``accuracy``."""

    index: int
    arch_str: str
    arch: Any
    accuracy: float


@dataclass(frozen=True)
class Table:
    """A ground-truth table read by :func:`read_table`; :attr:`rows` are in file order.

    ``entries`` are the rows as read; for a NATS-Bench directory their accuracies are NaN and ``loader`` reads
    them (indices → accuracies) when :meth:`sample` draws rows or :attr:`rows` is first asked for.
    """

    path: Path
    space: str
    accuracy_column: str
    sha256: str
    entries: tuple[Row, ...] = field(repr=False)
    loader: Callable[[Sequence[int]], dict[int, float]] | None = field(default=None, repr=False, compare=False)
    #: A NATS-Bench directory's setting, ``{"dataset": …, "metric": …, "hp": …}``; ``None`` for a CSV.
    nats: dict[str, str] | None = None
    _cache: dict[str, tuple[Row, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def rows(self) -> tuple[Row, ...]:
        """Every row with its accuracy (for a NATS-Bench directory, every file is read the first time)."""
        if "rows" not in self._cache:
            self._cache["rows"] = tuple(self._read(self.entries))
        return self._cache["rows"]

    def load(self) -> Table:
        """This table with every accuracy read and kept (a CSV table is returned as it is)."""
        return self if self.loader is None else replace(self, entries=self.rows, loader=None)

    def _read(self, rows: Sequence[Row]) -> list[Row]:
        if self.loader is None:
            return list(rows)
        if "rows" in self._cache:
            known = {row.index: row for row in self._cache["rows"]}
            return [known[row.index] for row in rows]
        accuracy = self.loader([row.index for row in rows])
        return [replace(row, accuracy=accuracy[row.index]) for row in rows]

    def sample(self, n: int | None, seed: int) -> list[Row]:
        """``n`` rows drawn without replacement, sorted by index (``None``: every row).

        The rows are shuffled by ``random.Random(seed)`` in index order and the first ``n`` taken, so the
        draw depends only on (table, ``n``, ``seed``), and a larger ``n`` keeps every row of a smaller one
        (a bigger run extends a smaller one instead of starting over).
        """
        if n is None:
            return self._read(sorted(self.entries, key=lambda row: row.index))
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise OptionError(f"sample must be a positive number of architectures, got {n!r}")
        if n > len(self.entries):
            raise OptionError(
                f"cannot sample {n} architectures from {self.path}, which has {len(self.entries)} rows; "
                f"give --sample {len(self.entries)} or less"
            )
        order = sorted(self.entries, key=lambda row: row.index)
        random.Random(seed).shuffle(order)
        return self._read(sorted(order[:n], key=lambda row: row.index))


def arch_key(arch: Any) -> str:
    """The key string of a canonical architecture (see the module docstring)."""
    if isinstance(arch, str):
        return arch
    return json.dumps(arch.to_dict(), separators=(",", ":"))


def shared_rows(rows: Sequence[Row]) -> str | None:
    """What makes correlations over ``rows`` mislead, or ``None``: rows that share an architecture key, and
    NB101 rows that prune to the bare input→output cell.

    Rows sharing a key are one network with one score but several accuracies (an NB101 cell trained three
    times; NAS-Bench-Suite-Zero's tables store unpruned matrices, one training run per row), so each proxy
    ties them. The bare cell has no operation: its network is the stem, the projections and the classifier.
    """
    counts = Counter(row.arch_str for row in rows)
    groups = [count for count in counts.values() if count > 1]
    bare = sum(isinstance(row.arch, Cell) and row.arch.num_vertices == 2 for row in rows)
    scale = mixed_scales(rows)
    if not groups and not bare:
        return scale
    found = []
    if bare:
        found.append(f"{bare} {'prunes' if bare == 1 else 'prune'} to the bare input→output cell (no operation)")
    if groups:
        found.append(f"{sum(groups)} share an architecture with other rows ({len(counts)} distinct in all)")
    return (
        f"of the {len(rows)} rows, {' and '.join(found)}. Rows with one architecture get one score but their own "
        "accuracies, so every proxy ties them and the correlations count them as separate architectures; "
        "for a fair comparison use a table with one row per distinct architecture"
    ) + (f"; and {scale}" if scale else "")


def mixed_scales(rows: Sequence[Row]) -> str | None:
    """Rows whose accuracy is on the other scale than the rest (a fraction among percentages or the
    reverse), or ``None``.

    The table's scale is its median's (above 1: percentages). A row on the other side of 1 is flagged
    when, rescaled by 100, it falls inside the range of the other rows (or up to 10 % above their best,
    which it may be): 0.93 among 10–94 % reads as 93 %, and as 0.93 % it would dominate every rank
    correlation. A diverged network's accuracy below 1 % (ImageNet16-120's chance level is 0.83 %)
    stays unflagged unless it matches the table's range.
    """
    if len(rows) < 3:
        return None
    values = sorted(row.accuracy for row in rows)
    percent = values[len(values) // 2] > 1
    usual = [v for v in values if (v > 1) == percent]
    low, high = usual[0], usual[-1]
    factor, top = (100, 100) if percent else (0.01, 1)
    odd = [
        row for row in rows if (row.accuracy > 1) != percent and low <= row.accuracy * factor <= min(top, high * 1.1)
    ]
    if not odd:
        return None
    shown = ", ".join(f"index {row.index}: {row.accuracy:g}" for row in odd[:5])
    return (
        f"{len(odd)} of the {len(rows)} rows look like {'fractions' if percent else 'percentages'} among "
        f"{'percentages' if percent else 'fractions'} from {low:g} to {high:g} ({shown}); one scale per table, "
        "or those rows dominate the correlations"
    )


def read_table(
    path: str | Path,
    space: str | spaces.Space,
    accuracy_column: str | None = None,
    *,
    dataset: str | None = None,
    metric: str | None = None,
    hp: str | None = None,
) -> Table:
    """Read and validate a ground-truth CSV or NATS-Bench directory of ``space``; raise
    :class:`~near.errors.DataError` naming the file, the line and what is wrong.

    Parameters
    ----------
    path
        The CSV file, or an official NATS-Bench directory (see the module docstring).
    space
        A search-space name (``near.spaces.available()``) or a :class:`~near.spaces.Space`.
    accuracy_column
        The column holding the accuracy; default: the one of :data:`ACCURACY_COLUMNS` present.
    dataset, metric, hp
        NATS-Bench directories only: ``cifar10`` (default), ``cifar100`` or ``ImageNet16-120``; ``test``
        (default) or ``valid``; the training setting (TSS ``12``/``200``, SSS ``01``/``12``/``90`` epochs; default
        the space's final one). See :mod:`near.formats.nats` for the accuracy each names.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "t.csv").write_text("index,arch_str,test_accuracy\\n"
    ...     "7,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10.0\\n")
    >>> table = read_table(folder / "t.csv", "nb201")
    >>> table.rows[0].index, table.rows[0].accuracy, table.accuracy_column
    (7, 10.0, 'test_accuracy')
    """
    space = spaces.get(space)
    path = Path(path)
    if path.is_dir():
        if accuracy_column is not None:
            raise OptionError("accuracy_column is for CSV tables; a NATS-Bench directory takes dataset, metric and hp")
        return _read_nats(path, space, dataset or "cifar10", metric or "test", hp)
    if given := [name for name, value in (("dataset", dataset), ("metric", metric), ("hp", hp)) if value is not None]:
        raise OptionError(
            f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to NATS-Bench directories; {path} is a "
            "CSV table, whose accuracy column is chosen by accuracy_column"
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"table file not found: {path}") from None
    except OSError as error:
        raise DataError(f"cannot read the table {path}: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"table {path} is not UTF-8 text ({error}); expected a CSV file") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [cell.strip() for cell in next(reader, [])]
    if not any(header):
        raise DataError(f"table {path} is empty; expected a CSV file with a header row")
    if repeated := sorted({name for name in header if header.count(name) > 1}):
        raise DataError(f"table {path} has the column {', '.join(map(repr, repeated))} more than once; keep one")
    arch_columns = _arch_columns(path, space, header)
    accuracy = _accuracy_column(path, space, header, accuracy_column)
    has_index = "index" in header
    position = {name: i for i, name in enumerate(header)}
    rows: list[Row] = []
    first_line: dict[int, int] = {}
    for cells in reader:
        line, row_number = reader.line_num, len(rows)
        if not any(cell.strip() for cell in cells):
            continue
        where = f"{path}, line {line} (row {row_number})"
        if len(cells) != len(header):
            raise DataError(f"{where}: {len(cells)} cells where the header has {len(header)} columns")
        index = _index(where, cells[position["index"]]) if has_index else row_number
        if index in first_line:
            raise DataError(
                f"{where}: index {index} appears twice (first on line {first_line[index]}); indices must be unique"
            )
        first_line[index] = line
        raw = [cells[position[name]] for name in arch_columns]
        try:
            arch = space.validate(raw[0] if len(raw) == 1 and space.name != "nb101" else _nb101(raw))
        except ArchitectureError as error:
            raise DataError(f"{where}: {error}") from None
        rows.append(Row(index, arch_key(arch), arch, _accuracy(where, accuracy, cells[position[accuracy]])))
    if not rows:
        raise DataError(f"table {path} has a header but no rows")
    return Table(path, space.name, accuracy, hashlib.sha256(data).hexdigest(), tuple(rows))


def _read_nats(path: Path, space: spaces.Space, dataset: str, metric: str, hp: str | None) -> Table:
    """The rows of a NATS-Bench directory (architectures from its meta file, accuracies read when drawn)."""
    if not nats.is_nats_directory(path):
        raise DataError(
            f"{path} is a directory; a table is a CSV file or an official NATS-Bench directory "
            f"(NATS-tss-v1_0-3ffb9-simple, NATS-sss-v1_0-50262-simple) holding {nats.META}"
        )
    directory = nats.read_nats_directory(path)
    expected = {"tss": "nb201", "sss": "nats-sss"}[directory.space]
    if space.name != expected:
        raise DataError(
            f"{path} is NATS-Bench {directory.space.upper()}, whose architectures are {expected}'s; "
            f"give the space {expected}, not {space.name}"
        )
    dataset, metric, hp = directory.check(dataset, metric, hp)
    rows = []
    for index in directory.files:
        try:
            arch = space.validate(directory.archs[index])
        except ArchitectureError as error:
            raise DataError(f"{path}, architecture {index}: {error}") from None
        rows.append(Row(index, arch_key(arch), arch, math.nan))
    digest = hashlib.sha256(f"{directory.meta_sha256} {sorted(directory.files)} {dataset} {metric} {hp}".encode())

    def loader(indices: Sequence[int]) -> dict[int, float]:
        return directory.accuracies(indices, dataset, metric, hp)

    column = f"{dataset} {'test' if metric == 'test' else 'validation'} accuracy (NATS-Bench hp={hp})"
    setting = {"dataset": dataset, "metric": metric, "hp": hp}
    return Table(path, space.name, column, digest.hexdigest(), tuple(rows), loader, setting)


def _arch_columns(path: Path, space: spaces.Space, header: Sequence[str]) -> tuple[str, ...]:
    if space.name == "nb101" and {"matrix", "ops"} <= set(header):
        return ("matrix", "ops")
    if "arch_str" in header:
        return ("arch_str",)
    expected = "matrix and ops (JSON), or arch_str" if space.name == "nb101" else "arch_str"
    raise DataError(
        f"table {path} has columns {', '.join(header)}; a {space.name} table needs {expected}, an accuracy "
        f"column ({', '.join(ACCURACY_COLUMNS)}) and optionally index"
    )


def _accuracy_column(path: Path, space: spaces.Space, header: Sequence[str], chosen: str | None) -> str:
    if chosen is not None:
        if chosen not in header:
            raise DataError(f"table {path} has no column {chosen!r}; its columns are {', '.join(header)}")
        return chosen
    found = [name for name in ACCURACY_COLUMNS if name in header]
    if not found:
        raise DataError(
            f"table {path} has columns {', '.join(header)} but no accuracy column; expected one of "
            f"{', '.join(ACCURACY_COLUMNS)} (or name one with --accuracy-column)"
        )
    if len(found) > 1:
        raise DataError(
            f"table {path} has several accuracy columns ({', '.join(found)}); choose one with --accuracy-column"
        )
    return found[0]


def _nb101(raw: list[str]) -> Any:
    """(matrix, ops) from two JSON cells, or the dict of one ``arch_str`` JSON cell."""
    if len(raw) == 2:
        return tuple(raw)
    try:
        return json.loads(raw[0])
    except json.JSONDecodeError as error:
        raise ArchitectureError(f"arch_str {raw[0]!r} is not JSON {{'matrix': …, 'ops': …}}: {error}") from None


def _index(where: str, cell: str) -> int:
    try:
        return int(cell.strip())
    except ValueError:
        raise DataError(f"{where}: index {cell!r} is not an integer") from None


def _accuracy(where: str, column: str, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        hint = "; write it without the %" if cell.strip().endswith("%") else ""
        raise DataError(f"{where}: {column} {cell!r} is not a finite number{hint}")
    if not 0 <= value <= 100:
        raise DataError(f"{where}: {column} {cell!r} is not an accuracy (a percentage or fraction, from 0 to 100)")
    return value
