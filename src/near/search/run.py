"""``near search``: find the architectures a zero-cost proxy (or a rank combination) likes best, optionally
spending a few real queries on them.

The driver checks every input, locks the run directory (as ``near bench`` does), scores through the store
(:mod:`~near.search.scorer`), runs a strategy (:mod:`~near.search.strategies`), optionally the few-shot
queries (:mod:`~near.search.fewshot`), and writes ``best.json``, ``trajectory.csv``, ``trajectory.png`` and
``run.json``. Interrupted in any way, it keeps every scored architecture and query; the same command then
replays the stored part at no cost and goes on.
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
import random
import shlex
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .. import __version__, proxies
from .._files import write_atomic
from ..bench.images import ImageSample, check_fit, check_forward, load_images
from ..bench.lock import run_lock
from ..bench.store import FILENAME, ResultStore
from ..errors import DataError, OptionError
from ..rng import isolated_rng
from .fewshot import PREDICTORS, FunctionOracle, TableOracle, choose_queries
from .fitness import Archive, check_combine
from .outputs import BEST, COLUMNS, PLOT, RUN, TRAJECTORY
from .plots import plot_trajectory
from .protocol import probe
from .scorer import Scored, Scorer
from .spaces import load_space, within_table
from .strategies import STRATEGIES, Budget, Search, evolution_settings

__all__ = ["SearchResult", "search"]


@dataclass(frozen=True)
class SearchResult:
    """What :func:`search` found: ``best`` (dicts, best first: ``arch``, ``fitness``, ``scores``, and
    ``accuracy`` where queried, ``truth`` where a truth table was given), the trajectory, and the counts."""

    out_dir: Path
    best: list[dict[str, Any]]
    trajectory: list[dict[str, Any]]
    scored: int
    computed: int
    reused: int
    failed: int
    queries: int
    stopped: str
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "best": self.best, "scored": self.scored, "computed": self.computed, "reused": self.reused,
            "failed": self.failed, "queries": self.queries, "stopped": self.stopped, "seconds": self.seconds,
            "out_dir": str(self.out_dir),
        }  # fmt: skip


def search(
    space: Any,
    images: str | Path | ImageSample,
    proxy_names: Iterable[str] | str,
    *,
    out_dir: str | Path,
    seed: int = 0,
    budget: float | None = None,
    max_archs: int | None = None,
    strategy: str = "evolution",
    population: int = 20,
    sample_size: int | None = None,
    combine: str = "mean-rank",
    table: str | Path | None = None,
    query_column: str | None = None,
    evaluate: str | None = None,
    queries: int | None = None,
    within: bool = False,
    predictor: str = "gbt",
    truth_table: str | Path | None = None,
    truth_column: str = "test_accuracy",
    num_classes: int | None = None,
    num_images: int | None = None,
    normalize: str | None = None,
    repetitions: int = 1,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    score_seed: int = 0,
    device: str | None = None,
    top: int = 10,
    progress: bool = False,
    on_scored: Callable[[Scored], None] | None = None,
) -> SearchResult:
    """Search ``space`` for the architectures the proxies like best; with ``queries``, spend that many queries.

    Parameters
    ----------
    space
        ``"nb201"``, ``"nats-sss"``, ``"nb101"``, ``"mlp"``, ``"path/to/space.py:MySpace"`` or a space object
        (:mod:`near.search.protocol`).
    images
        An ``.npz`` of images (and labels) every network sees, as ``near bench`` reads it.
    proxy_names
        One or more proxies (``near.proxies.available()``); several are combined by ``combine``.
    out_dir
        The run directory: ``results.sqlite`` (kept and reused), ``best.json``, ``trajectory.csv``,
        ``trajectory.png``, ``run.json``.
    seed
        Steers the strategy (sampling, tournaments, mutations). The networks and proxies are seeded by
        ``score_seed`` (default 0), so searches with different seeds share their scores.
    budget, max_archs
        The zero-cost phase stops after ``budget`` seconds of scoring cost or ``max_archs`` distinct scored
        architectures, whichever comes first (at least one is needed). Only ``max_archs`` makes a fresh search
        repeat exactly: scoring times vary.
    strategy, population, sample_size
        ``"evolution"`` (regularised evolution) or ``"random"``; the evolution's population and tournament size
        (default: 5, or the population when smaller).
    combine
        ``"mean-rank"``, ``"log-rank"``, ``"vote"`` or a weighted sum of the proxies such as ``"2*near+params"``:
        the :mod:`near.ensemble` combination that makes the fitness (:mod:`near.search.fitness`; an architecture
        missing any proxy's score ranks below all).
    table, query_column, evaluate, queries
        Few-shot mode: ``queries`` queries to ``table``'s ``query_column`` or to ``evaluate``
        (``path.py:function``, called with the architecture, returning its accuracy).
    predictor
        Few-shot: what picks each query after the warm start, refitted on the queried architectures —
        ``"gbt"`` (:class:`near.predict.ProxyPredictor` on the proxy scores and the space's ``encode``) or
        ``"ridge"`` (a ridge regression on the proxies' archive ranks and ``encode``); see docs/search.md.
    within
        Search only the architectures of ``table`` (:class:`~near.search.spaces.TableSubspace`): for a table
        that covers a small part of its space, as NB101's 500 rows. Without ``queries`` and ``query_column``
        the search stays training-free and only takes its architectures from the table.
    truth_table, truth_column
        Looked up for the returned architectures only, to report (e.g. test accuracy); the search never sees it.
    num_classes, num_images, normalize, repetitions, options, device
        As in ``near bench``.
    top
        How many architectures ``best`` lists.
    progress
        Show a progress bar.
    on_scored
        Called after every newly scored architecture (tests use it to interrupt a search).
    """
    # near.bench.runner pulls in scipy (its outputs); imported here so that `near --help` stays quick
    from ..bench.runner import prepare_run_dir, resolve_num_classes, resolve_options, resolve_proxies, store_setup

    started, clock = datetime.now(timezone.utc), time.perf_counter()
    space_arg = space if isinstance(space, (str, Path)) else None
    names = resolve_proxies(proxy_names)
    resolved = resolve_options(names, options, repetitions)
    for label, value in (("seed", seed), ("score_seed", score_seed)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
            raise OptionError(f"{label} must be an integer from 0 to 2**63 - 1, got {value!r}")
    check_combine(combine, names)
    if strategy not in STRATEGIES:
        raise OptionError(f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise OptionError(f"top must be a positive integer, got {top!r}")
    if strategy == "evolution":
        sample_size = evolution_settings(population, sample_size)
    budget_ = Budget(max_archs=max_archs, seconds=budget)
    oracle_args = _check_few_shot(table, query_column, evaluate, queries, within)
    if predictor not in PREDICTORS:
        raise OptionError(f"unknown few-shot predictor {predictor!r}; expected one of {', '.join(PREDICTORS)}")
    if not isinstance(images, ImageSample):
        images = load_images(images, num_images=num_images, normalize=normalize)
    num_classes = resolve_num_classes(num_classes, images)
    if images.y is None and (labelled := [name for name in names if proxies.info(name).needs_labels]):
        raise DataError(f"{images.path} has no labels, but {', '.join(labelled)} need them; give an .npz with 'labels'")
    space = load_space(space, input_shape=images.shape)
    if within:
        if table is None:
            raise OptionError("--within-table restricts the search to --table's architectures; give --table CSV")
        space = within_table(space, table)
    with isolated_rng(0):
        first = probe(space, random.Random(seed), num_classes, _where(space))
    _check_images(space, first, images, num_classes)
    oracle = None
    if oracle_args == "table":
        oracle = TableOracle(table, query_column, space)
    elif oracle_args == "evaluate":
        oracle = FunctionOracle(evaluate)
    truth = TableOracle(truth_table, truth_column, space) if truth_table is not None else None
    where = str(torch.device(device)) if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")
    out_dir = prepare_run_dir(Path(out_dir))
    setup = store_setup(space.name, images, num_classes)
    total = budget_.max_archs
    bar = tqdm(total=total, desc="near search", unit="arch", disable=not progress)

    def scored_hook(scored: Scored) -> None:
        bar.update()
        if on_scored is not None:
            on_scored(scored)

    with run_lock(out_dir), ResultStore(out_dir / FILENAME, setup) as store, bar:
        scorer = Scorer(space, images, names, resolved, store, num_classes=num_classes, score_seed=score_seed,
                        device=where)  # fmt: skip
        state = Search(space, scorer, Archive(names, combine), budget_, random.Random(seed), scored_hook)
        if strategy == "evolution":
            STRATEGIES[strategy](state, population=population, sample_size=sample_size)
        else:
            STRATEGIES[strategy](state)
        if not len(state.archive):
            raise OptionError("the budget ran out before a single architecture was scored; give a larger --budget")
        answered = (
            choose_queries(state, oracle, queries, store, predictor=predictor, seed=seed) if oracle is not None else {}
        )
    _final_fitness(state)
    best = _best(state, answered, truth, top)
    result = SearchResult(out_dir, best, state.trajectory, len(state.archive), scorer.computed, scorer.reused,
                          state.failed, len(answered), state.stopped, time.perf_counter() - clock)  # fmt: skip
    record = {
        "space": space.name, "images": images.path, "proxies": names, "options": resolved, "combine": combine,
        "strategy": strategy, "population": population, "sample_size": sample_size, "seed": seed,
        "score_seed": score_seed, "budget": budget, "max_archs": max_archs, "num_classes": num_classes,
        "table": str(table) if table else None, "query_column": query_column, "evaluate": evaluate,
        "queries": queries, "predictor": predictor, "within_table": within,
        "truth_table": str(truth_table) if truth_table else None, "truth_column": truth_column,
        "num_images": len(images), "normalize": images.normalize,
        "command": _command(space_arg, images, names, options, out_dir, seed=seed, budget=budget,
                            max_archs=max_archs, strategy=strategy, population=population, sample_size=sample_size,
                            combine=combine, table=table, query_column=query_column, evaluate=evaluate,
                            queries=queries, within=within, predictor=predictor, truth_table=truth_table,
                            truth_column=truth_column, num_classes=num_classes, repetitions=repetitions,
                            score_seed=score_seed, top=top, device=device),
        "device": where,
        "started": started.isoformat(timespec="seconds"),
        "versions": {"near": __version__, "torch": torch.__version__, "python": platform.python_version(),
                     "threads": torch.get_num_threads()},
        **result.to_json(),
    }  # fmt: skip
    _write(out_dir, result, record)
    return result


def _command(
    space: str | Path | None,
    images: ImageSample,
    names: list[str],
    options: Mapping[str, Mapping[str, Any]] | None,
    out_dir: Path,
    **settings: Any,
) -> str | None:
    """The ``near search`` command line that repeats this search, every setting explicit; ``None`` where the
    command line cannot say it (a space object, ``predictor`` other than gbt, ``score_seed`` other than 0)."""
    from ..bench.runner import option_text

    if space is None or settings["predictor"] != "gbt" or settings["score_seed"] != 0:
        return None
    words = ["near", "search", str(space), "--images", str(images.path), "--proxies", ",".join(names),
             "--out", str(out_dir), "--seed", str(settings["seed"])]  # fmt: skip
    flags = (
        ("budget", "--budget"), ("max_archs", "--max-archs"), ("strategy", "--strategy"),
        ("population", "--population"), ("sample_size", "--sample-size"), ("combine", "--combine"),
        ("table", "--table"), ("query_column", "--query-column"), ("evaluate", "--evaluate"),
        ("queries", "--queries"), ("truth_table", "--truth-table"), ("num_classes", "--num-classes"),
        ("repetitions", "--repetitions"), ("top", "--top"), ("device", "--device"),
    )  # fmt: skip
    for key, flag in flags:
        if settings[key] is not None and not (key == "sample_size" and settings["strategy"] != "evolution"):
            words += [flag, str(settings[key])]
    if settings["truth_table"] is not None:
        words += ["--truth-column", settings["truth_column"]]
    if settings["within"]:
        words.append("--within-table")
    words += ["--num-images", str(len(images)), "--normalize", images.normalize]
    for name, values in (options or {}).items():
        for key, value in values.items():
            words += ["--option", f"{name}.{key}={option_text(value)}"]
    return shlex.join(words)


def _where(space: Any) -> str:
    return f"search space {space.name!r}"


def _check_few_shot(table, query_column, evaluate, queries, within: bool = False) -> str | None:
    if within and table is not None and evaluate is None and queries is None and query_column is None:
        return None  # training-free, restricted to the table's architectures
    if table is None and evaluate is None:
        if queries is not None or query_column is not None:
            raise OptionError("--queries and --query-column need --table CSV (or --evaluate path.py:function)")
        return None
    if table is not None and evaluate is not None:
        raise OptionError("give --table or --evaluate, not both: one source answers the queries")
    if queries is None or isinstance(queries, bool) or not isinstance(queries, int) or queries < 1:
        raise OptionError(f"few-shot search needs --queries, a positive number of queries; got {queries!r}")
    if table is not None and not query_column:
        raise OptionError("--table needs --query-column, the column the search may query (e.g. val_accuracy)")
    return "table" if table is not None else "evaluate"


def _check_images(space: Any, arch: Any, images: ImageSample, num_classes: int) -> None:
    """The benchmark spaces' check of ``near bench``; other spaces: one forward pass on two images."""
    if hasattr(space, "space") and space.name in ("nb201", "nats-sss", "nb101"):
        check_fit(space.space, arch, images, num_classes)
        return
    check_forward(space, arch, images, num_classes)


def _final_fitness(state: Search) -> None:
    """Add ``final_fitness`` to every trajectory row: the best fitness, judged by the final archive, among the
    architectures scored up to that row. Unlike ``best_fitness`` (ranks in the archive as it was then, which
    move as it grows) it never falls, so it shows how soon the search found what it ends with."""
    running, best = [], -math.inf
    for key in state.order:
        best = max(best, state.archive.fitness(key))
        running.append(best)
    for row in state.trajectory:
        row["final_fitness"] = running[row["scored"] - 1]


def _best(state: Search, answered: Mapping[str, float], truth: TableOracle | None, top: int) -> list[dict[str, Any]]:
    """Queried architectures by accuracy first (few-shot), then the rest by zero-cost fitness."""
    queried = sorted((k for k, v in answered.items() if math.isfinite(v)), key=lambda k: -answered[k])
    keys = queried + [key for key in state.archive.best() if key not in answered]
    best = []
    for key in keys[:top]:
        entry: dict[str, Any] = {
            "arch": key,
            "fitness": _number(state.archive.fitness(key)),
            "scores": {name: _number(value) for name, value in state.archive.values[key].items()},
        }
        if key in answered:
            entry["accuracy"] = _number(answered[key])
        if truth is not None:
            entry["truth"] = _number(truth(key, None)[0])
        best.append(entry)
    return best


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _write(out_dir: Path, result: SearchResult, record: Mapping[str, Any]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in result.trajectory:
        writer.writerow(["" if isinstance(v, float) and math.isnan(v) else v for v in (row[c] for c in COLUMNS)])
    write_atomic(out_dir / TRAJECTORY, text.getvalue())
    write_atomic(out_dir / BEST, json.dumps(result.best, indent=2) + "\n")
    write_atomic(out_dir / RUN, json.dumps(record, indent=2, default=str) + "\n")
    plot_trajectory(result.trajectory, out_dir / PLOT)
