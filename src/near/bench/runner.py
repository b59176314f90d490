"""``near bench``: score sampled architectures of a benchmark with proxies and compare with their accuracy.

The run is a driver: it checks every input, locks the run directory (:mod:`~near.bench.lock`), hands
the architectures still missing from the store to an executor (:mod:`~near.bench.executors`) and stores
each outcome the moment it arrives. A score depends only on (seed, architecture, proxy, options)
(:mod:`~near.bench.scoring`), not on the executor, the order of work, what ran before or a resume, so
the same command always writes the same ``scores.csv``.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import os
import platform
import shlex
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .. import __version__, proxies, spaces
from .._files import write_atomic
from ..errors import DataError, OptionError, ProxyError, TableWarning
from ..report import write_report
from ..report.write import HTML, MARKDOWN
from . import outputs
from .executors import make_executor
from .images import ImageSample, check_fit, load_images
from .lock import run_lock
from .scoring import Job, Task, score_task
from .store import FILENAME, ResultStore, StoredResult
from .tables import Row, Table, read_table, shared_rows

__all__ = [
    "BENCH_OPTIONS",
    "FILES",
    "BenchResult",
    "resolve_options",
    "resolve_proxies",
    "run",
]

#: What a finished run writes into its directory, in order; a run removes them when it starts, so that
#: only a finished run leaves them.
FILES: tuple[str, ...] = (*outputs.OUTPUTS, MARKDOWN, HTML)

#: Options the harness gives proxies unless told otherwise: ZiCo needs ≥ 2 batches and gets one batch of
#: images, which it splits in two (the reference uses 2 × 128).
BENCH_OPTIONS: dict[str, dict[str, Any]] = {"zico": {"split": 2}}


@dataclass(frozen=True)
class BenchResult:
    """What :func:`run` did: the rows scored, proxy → scores (aligned with rows), the correlations, how many
    values were computed and reused, how many architectures are recorded as failed, file paths."""

    out_dir: Path
    rows: list[Row]
    scores: dict[str, list[float]]
    correlations: dict[str, Any]
    computed: int
    reused: int
    failed: int
    seconds: float
    warnings: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def files(self) -> list[Path]:
        """The files written (see :data:`FILES`); the report's figures are in ``report_files/`` beside them."""
        return [self.out_dir / name for name in FILES]


def resolve_options(
    names: Sequence[str], options: Mapping[str, Mapping[str, Any]] | None = None, repetitions: int = 1
) -> dict[str, dict[str, Any]]:
    """Every option of every proxy in ``names``: its defaults, then :data:`BENCH_OPTIONS`, then ``options``;
    NEAR's ``repetitions`` comes from ``repetitions``. Unknown proxies or options raise
    :class:`~near.errors.ProxyError`; the result is what the store's options hash covers."""
    options = {name: dict(values) for name, values in (options or {}).items()}
    if unknown := set(options) - set(names):
        raise ProxyError(f"options given for proxies that are not run: {', '.join(sorted(unknown))}")
    if isinstance(repetitions, bool) or not isinstance(repetitions, int) or repetitions < 1:
        raise OptionError(f"repetitions must be a positive integer, got {repetitions!r}")
    if "repetitions" in options.get("near", {}):
        raise OptionError("give NEAR's repetitions once, as repetitions (--repetitions), not as a near option")
    resolved = {}
    for name in names:
        info = proxies.info(name)
        given = {**BENCH_OPTIONS.get(name, {}), **options.get(name, {})}
        if name == "near":
            given["repetitions"] = repetitions
        if unknown := set(given) - set(info.options):
            raise ProxyError(
                f"proxy {name!r} has no option {', '.join(sorted(map(repr, unknown)))}; "
                f"it accepts {', '.join(info.options) or 'none'}"
            )
        parameters = inspect.signature(info.function).parameters
        resolved[name] = {key: given.get(key, parameters[key].default) for key in info.options}
    return resolved


def run(
    space: str | spaces.Space,
    table: str | Path | Table,
    images: str | Path | ImageSample,
    proxy_names: Iterable[str] | str,
    *,
    out_dir: str | Path,
    sample: int | None = None,
    seed: int = 0,
    repetitions: int = 1,
    num_classes: int | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    num_images: int | None = None,
    normalize: str | None = None,
    accuracy_column: str | None = None,
    dataset: str | None = None,
    metric: str | None = None,
    hp: str | None = None,
    device: str | None = None,
    timings: bool = False,
    progress: bool = False,
    executor: str = "processes",
    workers: int | None = None,
    time_limit: float | None = None,
    address: str | None = None,
    retry_failed: bool = False,
) -> BenchResult:
    """Score ``sample`` architectures of ``table`` with the proxies, store each result, write the outputs.

    Parameters
    ----------
    space
        ``"nb201"``, ``"nats-sss"`` or ``"nb101"`` (``near.spaces.available()``).
    table, images
        A ground-truth CSV or official NATS-Bench directory (:func:`~near.bench.read_table`) and a file or
        folder of images (:func:`~near.bench.load_images`), as paths or already loaded.
    proxy_names
        Proxy names (``near.proxies.available()``), as a list or comma-separated; ``"all"`` for every one.
    out_dir
        The run's directory: ``results.sqlite`` (kept, reused by later runs); ``scores.csv``,
        ``correlations.json``, ``run.json`` and the report (:func:`near.report.write_report`: ``report.md``,
        ``report_files/``, ``report.html``), written when the run is complete.
    sample
        Number of architectures, drawn from the table by ``seed`` (:meth:`Table.sample`); default all.
    seed
        Decides the sample, every network's weights and every proxy's randomness.
    repetitions
        NEAR's repetitions (the paper uses 32).
    num_classes
        Classifier width; default: ``max label + 1`` over every label of the images file.
    options
        Proxy → {option: value}, on top of the defaults and :data:`BENCH_OPTIONS`.
    num_images, normalize, accuracy_column, dataset, metric, hp
        See :func:`~near.bench.load_images` and :func:`~near.bench.read_table` (``dataset``, ``metric`` and
        ``hp`` choose a NATS-Bench directory's accuracy).
    device
        Where the proxies run: default ``"cuda"`` when a GPU is present, else ``"cpu"``; results are the
        same up to floating-point round-off.
    timings
        Add ``<proxy>_seconds`` columns to ``scores.csv`` (they change from run to run; the scores do not).
    progress
        Show a progress bar with ETA over the architectures still to score.
    executor, workers, time_limit, address
        Where the architectures are scored (:mod:`near.bench.executors`): ``"processes"`` (default; ``workers``
        processes, default one per core), ``"serial"`` (this process) or ``"ray"`` (a Ray cluster at
        ``address``, default: a local one). ``time_limit``: seconds one architecture may take before it is
        stopped and recorded as failed (processes and ray).
    retry_failed
        Compute again the architectures an earlier run recorded as failed (by default they stay failed).

    Notes
    -----
    Every input is checked before anything is written. The run holds a lock on ``out_dir`` (a second run
    there is refused with :class:`~near.errors.RunInProgressError`). Each architecture's results are stored
    the moment they arrive, so a run stopped in any way (Ctrl-C, SIGTERM, SIGKILL, a power cut) keeps
    every finished architecture and a re-run computes only the rest. An architecture whose worker dies,
    passes the time limit or raises is stored as failed with the error, and the run goes on. A
    :class:`~near.TableWarning` says when sampled rows share an architecture (see
    :func:`~near.bench.tables.shared_rows`).
    """
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    space = spaces.get(space)
    names = resolve_proxies(proxy_names)
    resolved = resolve_options(names, options, repetitions)
    if not isinstance(table, Table):
        table = read_table(table, space, accuracy_column, dataset=dataset, metric=metric, hp=hp)
    elif table.space != space.name:
        raise OptionError(f"the table was read for space {table.space!r}, not {space.name!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise OptionError(f"seed must be an integer from 0 to 2**63 - 1, got {seed!r}")
    rows = table.sample(sample, seed)
    table_warning = f"{table.path}: {shared}" if (shared := shared_rows(rows)) else None
    if table_warning:
        warnings.warn(table_warning, TableWarning, stacklevel=2)
    if not isinstance(images, ImageSample):
        images = load_images(images, num_images=num_images, normalize=normalize)
    num_classes = resolve_num_classes(num_classes, images)
    if images.y is None and (labelled := [n for n in names if proxies.info(n).needs_labels]):
        raise DataError(
            f"{images.path} has no labels, but {', '.join(labelled)} need them; give labelled images (an .npz with "
            "'labels', or a dataset folder)"
        )
    check_fit(space, rows[0].arch, images, num_classes)
    if not isinstance(retry_failed, bool):
        raise OptionError(f"retry_failed must be True or False, got {retry_failed!r}")
    pool = make_executor(executor, workers=workers, time_limit=time_limit, address=address)
    where = str(torch.device(device)) if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")
    out_dir = prepare_run_dir(Path(out_dir))
    setup = store_setup(space.name, images, num_classes)
    config = {
        "space": space.name,
        "table": {
            "path": str(table.path),
            "sha256": table.sha256,
            "rows": len(table),
            "accuracy_column": table.accuracy_column,
            **({"nats": table.nats} if table.nats else {}),
        },
        "images": {
            "path": images.path,
            "sha256": images.sha256,
            "available": images.available,
            "num_images": len(images),
            "shape": list(images.shape),
            "normalize": images.normalize,
            "mean": list(images.mean),
            "std": list(images.std),
        },
        "num_classes": num_classes,
        "proxies": names,
        "options": resolved,
        "sample": len(rows),
        "seed": seed,
        "repetitions": repetitions,
        "device": where,
        "executor": {"name": pool.name, "workers": pool.workers, "threads": pool.threads, "time_limit": time_limit},
    }
    job = Job(space.name, images, resolved, seed, num_classes, where)
    with run_lock(out_dir), ResultStore(out_dir / FILENAME, setup) as store:
        keys = {name: store.register(name, resolved[name]) for name in names}
        if retry_failed:
            store.forget_failed(seed, keys)
        computed, reused, caught = _score_missing(store, keys, rows, job, pool, progress, out_dir)
        stored = store.fetch(seed, keys)
    failed = len({row.arch_str for row in rows for name in names if stored[row.arch_str, name].failed})

    results = {name: [stored[row.arch_str, name] for row in rows] for name in names}
    scores = {name: [r.value for r in values] for name, values in results.items()}
    reasons = {name: [r.reason for r in values] for name, values in results.items()}
    correlations = outputs.correlations(rows, scores, reasons, table.accuracy_column)
    seconds = time.perf_counter() - clock
    record = {
        "command": _command(config, options or {}, out_dir, device, timings),
        "cwd": os.getcwd(),
        "argv": sys.argv,
        **config,
        "computed": computed,
        "reused": reused,
        "failed": failed,
        "started": started.isoformat(timespec="seconds"),
        "seconds": seconds,
        "cost": _cost(results, rows),
        "warnings": caught,
        **({"table_warning": table_warning} if table_warning else {}),
        "versions": {
            "near": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "threads": torch.get_num_threads(),
        },
    }
    timing = {name: [r.seconds for r in values] for name, values in results.items()} if timings else None
    with _output_errors(out_dir):
        write_atomic(out_dir / outputs.SCORES, outputs.scores_csv(rows, scores, timing))
        outputs.write_json(out_dir / outputs.CORRELATIONS, correlations)
        outputs.write_json(out_dir / outputs.RUN, record)
        write_report(out_dir)
    return BenchResult(out_dir, rows, scores, correlations, computed, reused, failed, seconds, caught)


def _score_missing(
    store: ResultStore,
    keys: Mapping[str, str],
    rows: Sequence[Row],
    job: Job,
    pool,
    progress: bool,
    out_dir: Path,
) -> tuple[int, int, dict[str, dict[str, Any]]]:
    """Have ``pool`` compute every (architecture, proxy) result not in ``store`` yet; store each as it arrives.

    The outputs of an earlier run in ``out_dir`` are deleted when the first new result is stored: from then
    on they would describe other results (a run that fails before that, e.g. on a bad option value, leaves
    them alone). Returns the number of values computed, the number found stored, and the warnings raised
    meanwhile (category → count and first message: NB201's `none` edges alone warn on most cells).
    """
    stored = store.fetch(job.seed, keys)
    first = {row.arch_str: row for row in reversed(rows)}  # rows sharing an architecture share its scores
    reused = sum((key, name) in stored for key in first for name in keys)
    tasks = [
        Task(row.arch_str, row.arch, missing)
        for row in rows
        if first[row.arch_str] is row and (missing := tuple(n for n in keys if (row.arch_str, n) not in stored))
    ]
    computed, counts, examples = 0, Counter(), {}
    bar = tqdm(total=len(tasks), desc="near bench", unit="arch", disable=not progress)
    with bar, contextlib.closing(pool.run(score_task, job, tasks)) as outcomes:  # closing: workers stop at once
        for outcome in outcomes:
            values = [(name, keys[name], *value) for name, value in outcome.values.items()]
            store.add(outcome.task.arch_str, job.seed, values, job.device, failed=outcome.failure is not None)
            if not computed:
                with _output_errors(out_dir):
                    for name in FILES:
                        (out_dir / name).unlink(missing_ok=True)
            computed += len(values)
            for category, message in outcome.warnings:
                counts[category] += 1
                examples.setdefault(category, message)
            bar.update()
    caught = {name: {"count": count, "example": examples[name]} for name, count in counts.items()}
    return computed, reused, caught


def resolve_proxies(names: Iterable[str] | str) -> list[str]:
    """Proxy names from a list or a comma-separated string (``"all"``: every proxy); unknown or repeated
    names raise :class:`~near.errors.ProxyError`."""
    if isinstance(names, str):
        names = [part.strip() for part in names.split(",") if part.strip()]
    names = list(names)
    if names == ["all"]:
        return proxies.available()
    if not names:
        raise ProxyError(f"no proxy given; choose from {', '.join(proxies.available())} (or 'all')")
    if duplicates := sorted(n for n, count in Counter(names).items() if count > 1):
        raise ProxyError(f"proxies given twice: {', '.join(duplicates)}")
    for name in names:
        proxies.info(name)  # raises naming the known proxies
    return names


def resolve_num_classes(num_classes: int | None, images: ImageSample) -> int:
    if num_classes is None:
        if images.num_classes is None:
            raise DataError(f"{images.path} has no labels to count the classes; give num_classes (--num-classes)")
        return images.num_classes
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise OptionError(f"num_classes must be a positive integer, got {num_classes!r}")
    return num_classes


@contextlib.contextmanager
def _output_errors(out_dir: Path) -> Iterator[None]:
    """Turn an OS failure while deleting or writing the outputs into a clear error."""
    try:
        yield
    except OSError as error:
        where = error.filename or out_dir
        raise DataError(
            f"cannot write the outputs in {out_dir}: {where}: {error.strerror or error}; every score is stored "
            "in results.sqlite, so fix that and run the same command again"
        ) from None


def store_setup(space: str, images: ImageSample, num_classes: int) -> dict[str, Any]:
    """What a results store is keyed by besides (architecture, proxy, options, seed): stored scores are reused
    only under the same setup, by ``near bench`` and ``near search`` alike."""
    return {
        "space": space,
        "images_sha256": images.sha256,
        "num_images": len(images),
        "normalize": images.normalize,
        "mean": list(images.mean),
        "std": list(images.std),
        "num_classes": num_classes,
    }


def prepare_run_dir(out_dir: Path) -> Path:
    if out_dir.exists() and not out_dir.is_dir():
        raise OptionError(f"--out {out_dir} is a file; give a directory (it is created when missing)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OptionError(f"cannot create the output directory {out_dir}: {error.strerror or error}") from None
    return out_dir


def _cost(results: Mapping[str, list[StoredResult]], rows: Sequence[Row]) -> dict[str, Any]:
    """Per proxy: evaluations, total and median seconds, evaluations per second (each architecture once)."""
    first = {}
    for i, row in enumerate(rows):
        first.setdefault(row.arch_str, i)
    cost = {}
    for name, values in results.items():
        times = sorted(values[i].seconds for i in first.values() if values[i].seconds is not None)
        total = sum(times)
        cost[name] = {
            "evaluations": len(times),
            "seconds": total,
            "median_seconds": times[len(times) // 2] if times else math.nan,
            "per_second": len(times) / total if total > 0 else math.nan,
        }
    return cost


def option_text(value: Any) -> str:
    """How ``--option`` spells ``value``: JSON, except a string that does not read as JSON, which stays bare."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except json.JSONDecodeError:
            return value
    return json.dumps(value)


def _command(
    config: Mapping[str, Any],
    options: Mapping[str, Mapping[str, Any]],
    out_dir: Path,
    device: str | None,
    timings: bool,
) -> str:
    """The ``near bench`` command line that repeats this run (every setting explicit but the proxies' defaults)."""
    table, images = config["table"], config["images"]
    words = [
        "near",
        "bench",
        config["space"],
        "--table",
        table["path"],
        "--images",
        images["path"],
        "--proxies",
        ",".join(config["proxies"]),
        "--sample",
        str(config["sample"]),
        "--seed",
        str(config["seed"]),
        "--repetitions",
        str(config["repetitions"]),
        "--out",
        str(out_dir),
        "--num-classes",
        str(config["num_classes"]),
        "--num-images",
        str(images["num_images"]),
        "--normalize",
        images["normalize"],
    ]
    if nats := table.get("nats"):
        words += ["--dataset", nats["dataset"], "--metric", nats["metric"], "--hp", nats["hp"]]
    else:
        words += ["--accuracy-column", table["accuracy_column"]]
    for name, values in options.items():
        for key, value in values.items():
            words += ["--option", f"{name}.{key}={option_text(value)}"]
    if device is not None:
        words += ["--device", str(device)]
    if timings:
        words.append("--timings")
    return shlex.join(words)
