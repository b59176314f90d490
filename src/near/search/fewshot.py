"""Few-shot search: a limited number of queries to a real accuracy, chosen from the zero-cost scores.

An **oracle** answers ``accuracy(arch)``: a benchmark table's column (:class:`TableOracle`) or a user's
training function (:class:`FunctionOracle`, ``path.py:train_and_eval``). Each answer is stored in the
results store like a proxy value (proxy ``query:<source>``), so a resumed search does not pay for a query
twice; an evaluation that raises or returns NaN/inf is stored as failed and the search goes on.

:func:`choose_queries` spends the query budget on the archive of a zero-cost search: first the
architectures the zero-cost fitness ranks highest (warm start), then, once three queries have answered, the
one :class:`near.predict.ProxyPredictor` fitted on the queried architectures predicts best (features: the
proxies' scores and the space's ``encode`` where it has one), refitted after every query, over the archive and
the freshly scored neighbours of the best-queried architecture. ``predictor="ridge"`` uses a ridge regression
on the same information instead (the measured alternative; docs/search.md).
"""

from __future__ import annotations

import csv
import hashlib
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, OptionError
from ..spec import import_file
from .protocol import encode_of

__all__ = ["PREDICTORS", "FunctionOracle", "TableOracle", "choose_queries"]

#: Few-shot predictors: ``near.predict.ProxyPredictor`` (gradient-boosted trees on rank targets) or a ridge
#: regression; see docs/search.md for the measurement that chose the default.
PREDICTORS: tuple[str, ...] = ("gbt", "ridge")

#: Successful queries needed before the predictor takes over from the zero-cost order.
MIN_FIT = 3


class TableOracle:
    """Accuracies from a CSV: the ``column`` of the row whose ``arch_str`` (or, for NB101, pruned cell) is the key."""

    def __init__(self, path: str | Path, column: str, space: Any) -> None:
        self.path, self.column = Path(path), column
        if not self.path.is_file():
            raise DataError(f"table {self.path} not found")
        self.sha256 = hashlib.sha256(self.path.read_bytes()).hexdigest()
        self.values = _read_column(self.path, column, space)
        self.name = f"query:{column}"
        self.options = {"table_sha256": self.sha256, "column": column}

    def __call__(self, key: str, arch: Any) -> tuple[float, str | None]:
        if key not in self.values:
            return math.nan, f"{key} is not in {self.path}"
        return self.values[key], None

    def __contains__(self, key: str) -> bool:
        return key in self.values


def _read_column(path: Path, column: str, space: Any) -> dict[str, float]:
    """Key → value of ``column``; the benchmark spaces read the table as ``near bench`` does (same keys)."""
    if getattr(space, "name", None) in ("nb201", "nats-sss", "nb101") and hasattr(space, "space"):
        from ..bench.tables import read_table

        table = read_table(path, space.name, column)
        values: dict[str, float] = {}
        for row in table.rows:
            values.setdefault(row.arch_str, row.accuracy)  # NB101 rows sharing a cell: the first one's value
        return values
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for needed in ("arch_str", column):
            if needed not in header:
                raise DataError(f"{path} has no column {needed!r}; its columns are {', '.join(header)}")
        values = {}
        for line, row in enumerate(reader, start=2):
            try:
                values.setdefault(row["arch_str"], float(row[column]))
            except ValueError:
                raise DataError(f"{path}, line {line}: {column} {row[column]!r} is not a number") from None
        return values


class FunctionOracle:
    """Accuracies from a user's function ``evaluate(arch) -> float`` in a ``.py`` file (``path.py:name``)."""

    def __init__(self, spec: str) -> None:
        path_text, _, name = spec.rpartition(":")
        path = Path(path_text)
        if not path_text.endswith(".py") or not name:
            raise OptionError(f"--evaluate takes path/to/file.py:function, got {spec!r}")
        if not path.is_file():
            raise OptionError(f"--evaluate: file {path} not found")
        module_name = f"near_user_evaluate_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
        module = import_file(path, module_name, OptionError, prefix="--evaluate: ")
        function = getattr(module, name, None)
        if not callable(function):
            raise OptionError(f"--evaluate: {path} has no function {name!r}")
        self.function: Callable[[Any], float] = function
        self.name = "query:evaluate"
        self.options = {"evaluate": spec, "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}

    def __call__(self, key: str, arch: Any) -> tuple[float, str | None]:
        try:
            value = float(self.function(arch))
        except Exception as error:
            return math.nan, f"failed: {type(error).__name__}: {error}"
        if not math.isfinite(value):
            return math.nan, f"failed: the evaluation returned {value}"
        return value, None


def choose_queries(
    search,
    oracle,
    queries: int,
    store,
    neighbours: int = 10,
    on_query: Callable[[str, float], None] | None = None,
    predictor: str = "gbt",
    seed: int = 0,
) -> dict:
    """Spend ``queries`` queries on ``search``'s archive (see the module docstring); return key → accuracy
    (NaN for a failed query), in query order.

    Before each predictor-chosen query, ``neighbours`` mutations of the best-queried architecture are scored
    with the proxies and join the candidates (a local search around what trained best; scores cost no query)."""
    from ..bench.store import StoredResult

    if predictor not in PREDICTORS:
        raise OptionError(f"unknown few-shot predictor {predictor!r}; expected one of {', '.join(PREDICTORS)}")
    features = _Features(search, predictor)
    option_key = store.register(oracle.name, oracle.options)
    stored: Mapping[tuple[str, str], StoredResult] = store.fetch(0, {oracle.name: option_key})
    answered: dict[str, float] = {}
    best_key, best_value = "", -math.inf
    while len(answered) < queries:
        good = [key for key, value in answered.items() if math.isfinite(value)]
        if len(good) >= MIN_FIT:
            for _ in range(neighbours):
                search.visit(search.space.mutate(search.archs[best_key], search.rng))
        ranked = search.archive.best()
        left = [key for key in ranked if key not in answered and _queryable(oracle, key)]
        if not left:
            break
        key = _predicted_best(features, good, answered, left, seed) if len(good) >= MIN_FIT else left[0]
        if (key, oracle.name) in stored:
            value = stored[key, oracle.name].value
        else:
            start = time.perf_counter()
            value, reason = oracle(key, search.archs[key])
            seconds = time.perf_counter() - start
            store.add(key, 0, [(oracle.name, option_key, value, reason, seconds)], "oracle", failed=math.isnan(value))
        answered[key] = value
        if math.isfinite(value) and value > best_value:
            best_key, best_value = key, value
        search.queries, search.best_queried = len(answered), best_key
        search.best_accuracy = best_value if best_key else math.nan
        search.record()
        if on_query is not None:
            on_query(key, value)
    return answered


def _queryable(oracle, key: str) -> bool:
    """Only a table's architectures can be queried from it; a function takes any."""
    return not isinstance(oracle, TableOracle) or key in oracle


class _Features:
    """Predictor features of archive architectures: proxy columns, then the space's ``encode`` (cached by key).

    ``"gbt"`` takes the proxies' values as they are (NaN = missing; trees split on order, so values and ranks
    are the same to them); ``"ridge"`` their normalised ranks in the archive (:func:`near.ensemble.normalised_ranks`,
    a missing score 0: below every rank)."""

    def __init__(self, search, predictor: str) -> None:
        self.search, self.predictor, self.codes = search, predictor, {}

    def __call__(self, keys: list[str]) -> np.ndarray:
        from ..ensemble import normalised_ranks

        archive = self.search.archive
        columns = np.column_stack(list(archive.table().values()))
        if self.predictor == "ridge":
            columns = np.nan_to_num(normalised_ranks(columns), nan=0.0)
        rows = columns[[archive.index(key) for key in keys]]
        for key in keys:
            if key not in self.codes:
                self.codes[key] = encode_of(self.search.space, self.search.archs[key]) or []
        return np.hstack([rows, np.array([self.codes[key] for key in keys], dtype=float).reshape(len(keys), -1)])


def _predicted_best(
    features: _Features, good: list[str], answered: Mapping[str, float], left: list[str], seed: int
) -> str:
    """The unqueried key the predictor, fitted on the successful queries, predicts best (ties: zero-cost order)."""
    x, y = features(good), np.array([answered[key] for key in good])
    candidates = features(left)
    if features.predictor == "gbt":
        from ..predict import ProxyPredictor

        model = ProxyPredictor(random_state=seed).fit(x, y)
        predicted = model.predict(candidates)
    else:
        from sklearn.linear_model import Ridge

        mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
        predicted = Ridge(alpha=1.0).fit((x - mean) / scale, y).predict((candidates - mean) / scale)
    return left[int(np.argmax(predicted))]  # argmax: the first of equal predictions, i.e. the best-ranked one
