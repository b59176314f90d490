"""The report of ``near search`` runs: what each search found, its best architectures and its trajectory.

A search's run directory holds ``run.json`` (settings and counts), ``best.json`` (the best architectures,
best first) and ``trajectory.csv`` (best-so-far after every scored architecture and query); see
:mod:`near.search.outputs`. The report shows ``best.json``'s values as they are, draws the trajectory with
the same function as the run's own ``trajectory.png`` (:func:`near.search.plots.trajectory_png`), and states
in a sentence or two what the search found. Several runs (the seeds of one measurement, say) make one
report: a summary table with the mean ± std of the picks' accuracies, then each run.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..search.outputs import BEST, RUN, SEARCH_KEYS, TRAJECTORY, is_search_record, read_trajectory
from ..search.plots import trajectory_png
from .document import Block, Heading, Image, Paragraph, Table
from .parts import DASH, labels, settings_blocks, slug
from .runs import read_json

__all__ = ["SearchRun", "combined_search_report", "load_search", "search_report"]

_ENSEMBLES = {
    "mean-rank": "mean normalised rank",
    "log-rank": "log-rank sum (AZ-NAS)",
    "vote": "majority vote (running Copeland score)",
}


@dataclass(frozen=True)
class SearchRun:
    """One ``near search`` run directory, read.

    Attributes
    ----------
    path : Path
        The run directory.
    settings : dict
        ``run.json``: the settings, the counts (``scored``, ``computed``, ``reused``, ``failed``, ``queries``),
        why it stopped and the command.
    best : list of dict
        ``best.json``: ``arch``, ``fitness``, ``scores`` and, where present, ``accuracy`` (queried) and
        ``truth`` (the truth table's value), best first.
    trajectory : list of dict
        ``trajectory.csv``'s rows (:func:`near.search.outputs.read_trajectory`).
    """

    path: Path
    settings: dict
    best: list[dict[str, Any]]
    trajectory: list[dict[str, Any]]

    @property
    def proxies(self) -> list[str]:
        """The proxies searched with, in ``run.json``'s order (else as ``best.json`` lists them)."""
        named = self.settings.get("proxies")
        if isinstance(named, list) and all(isinstance(name, str) for name in named):
            return named
        return list(dict.fromkeys(name for entry in self.best for name in entry["scores"]))

    @property
    def pick(self) -> dict[str, Any]:
        """The architecture the search returns: the first of ``best.json``."""
        return self.best[0]


def load_search(directory: str | Path) -> SearchRun:
    """Read a run directory written by ``near search``.

    Raises
    ------
    DataError
        The folder, its ``run.json``, ``best.json`` or ``trajectory.csv`` is missing or malformed, or
        ``run.json`` was not written by ``near search``.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise DataError(f"run folder {folder}: not found (or not a folder); give a folder written by `near search`")
    settings = read_json(folder / RUN)
    if not is_search_record(settings):
        raise DataError(
            f"{folder / RUN}: not written by `near search` (it lacks one of {', '.join(SEARCH_KEYS)}); give the "
            "--out folder of a finished search"
        )
    return SearchRun(folder, settings, _read_best(folder / BEST), read_trajectory(folder / TRAJECTORY))


def _read_best(path: Path) -> list[dict[str, Any]]:
    """``best.json``, checked: a non-empty list of objects with a string ``arch`` and numbers (or null)."""
    try:
        best = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: not found; a finished `near search` writes it (is the search finished?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path}: cannot be read as JSON ({error}); run the search again to rewrite it") from None
    if not isinstance(best, list) or not best:
        raise DataError(f"{path}: expected a non-empty list of architectures, got {json.dumps(best)[:80]}")
    for position, entry in enumerate(best, start=1):
        scores = entry.get("scores") if isinstance(entry, dict) else None
        numbers = [entry.get(key) for key in ("fitness", "accuracy", "truth")] if isinstance(entry, dict) else []
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("arch"), str)
            or not isinstance(scores, dict)
            or not all(_number_or_null(value) for value in [*numbers, *scores.values()])
        ):
            raise DataError(
                f"{path}: entry {position} is {json.dumps(entry)[:120]}; expected an object with a string 'arch', "
                "a number 'fitness', 'scores' (proxy → number) and optionally numbers 'accuracy' and 'truth'"
            )
    return best


def _number_or_null(value: object) -> bool:
    return value is None or isinstance(value, (int, float)) and not isinstance(value, bool)


def value(number: float | None) -> str:
    """A value of ``best.json`` to 6 significant digits; null (no value: a failed proxy, a row missing from a
    table) as a dash."""
    return DASH if number is None or not math.isfinite(number) else f"{number:.6g}"


def fitness_text(settings: dict) -> str:
    """What the fitness of a search is, in words (:mod:`near.search.fitness`)."""
    proxies, combine = list(settings.get("proxies") or []), str(settings.get("combine", "mean-rank"))
    named = combine.replace("_", "-")
    if named in _ENSEMBLES and len(proxies) == 1:
        return f"the {proxies[0]} score"
    if named in _ENSEMBLES:
        return f"the {_ENSEMBLES[named]} of {', '.join(proxies)} over every scored architecture (near.ensemble)"
    return f"the weighted sum of normalised ranks {combine} over every scored architecture (near.ensemble)"


def _columns(run: SearchRun) -> tuple[list[str], list[list[str]]]:
    """The best-architectures table: rank, arch, fitness, each proxy, and the queried and truth accuracies."""
    settings, proxies = run.settings, run.proxies
    queried = any("accuracy" in entry for entry in run.best)
    truth = any("truth" in entry for entry in run.best)
    header = ["#", "architecture", "fitness", *proxies]
    if queried:
        header.append(f"queried {settings.get('query_column') or 'accuracy'}")
    if truth:  # a run.json of before the truth column was recorded: "truth" alone
        header.append(f"truth: {settings['truth_column']}" if settings.get("truth_column") else "truth")
    rows = []
    for rank, entry in enumerate(run.best, start=1):
        row = [str(rank), entry["arch"], value(entry["fitness"]), *(value(entry["scores"].get(p)) for p in proxies)]
        if queried:
            row.append(value(entry["accuracy"]) if "accuracy" in entry else "not queried")
        if truth:
            row.append(value(entry.get("truth")))
        rows.append(row)
    return header, rows


def finding(run: SearchRun) -> str:
    """One or two sentences: how the search went, why it stopped, what it picked and how good that is."""
    s, pick = run.settings, run.pick
    how = {"evolution": "Regularised evolution", "random": "Random sampling"}.get(s["strategy"], str(s["strategy"]))
    space = f" over the {s['space']} space" if s.get("space") else ""
    counts = f"{s.get('scored', len(run.trajectory))} architectures"
    if all(key in s for key in ("computed", "reused", "failed")):
        counts += f" ({s['computed']} computed, {s['reused']} from the store, {s['failed']} failed)"
    stopped = str(s["stopped"])
    stop = f"after it had {stopped}" if stopped.startswith(("scored ", "spent ")) else f"because {stopped}"
    budgets = [f"{flag} {_plain(s[key])}" for key, flag in (("max_archs", "--max-archs"), ("budget", "--budget"))
               if s.get(key) is not None]  # fmt: skip
    if budgets:
        stop += f" (budget: {' and '.join(budgets)})"
    queries = ""
    if s.get("queries"):
        source = s.get("evaluate") or Path(str(s.get("table"))).name
        queries = f", then spent {s['queries']} queries of {s.get('query_column') or 'accuracy'} from {source}"
        first = [row["scored"] for row in run.trajectory if row["queries"] == 0]
        if first and (extra := run.trajectory[-1]["scored"] - first[-1]):
            queries += f" (scoring {extra} neighbours of the best-queried architecture on the way)"
    text = f"{how} (seed {s.get('seed')}){space} scored {counts} by {fitness_text(s)}{queries}."
    text += f" Its zero-cost phase stopped {stop}."
    if "accuracy" in pick:
        answer = f"{s.get('query_column') or 'accuracy'} {value(pick['accuracy'])}"
        text += f" The pick, {pick['arch']}, is the best queried architecture ({answer})"
    else:
        text += f" The pick, {pick['arch']}, has the highest fitness ({value(pick['fitness'])})"
    if "truth" in pick:
        table = Path(str(s.get("truth_table"))).name if s.get("truth_table") else "the truth table"
        column = s.get("truth_column") or "truth"
        found = f"is {value(pick['truth'])}" if pick["truth"] is not None else "is missing (not in the table)"
        text += f"; its {column} in {table} {found}, a number the search never saw"
    text += "."
    fitness = [row["final_fitness"] for row in run.trajectory]
    if any(math.isfinite(f) for f in fitness):
        first = next(row for row in run.trajectory if row["final_fitness"] == max(fitness))
        text += (
            f" The best fitness of the whole search was first reached at architecture {first['scored']} of "
            f"{run.trajectory[-1]['scored']} ({first['seconds']:.3g} s of scoring)."
        )
    return text


def _plain(number: Any) -> str:
    return f"{number:g} s" if isinstance(number, float) else str(number)


def run_blocks(run: SearchRun, level: int, prefix: str = "") -> list[Block]:
    """Everything about one search: what it found, the best architectures, the trajectory, the settings."""
    header, rows = _columns(run)
    queried = [row for row in run.trajectory if row["queries"] > 0]
    caption = (
        "Best fitness so far, judged by the final archive's ranks (so it never falls), against the architectures "
        "scored and against the scoring seconds (each architecture's stored proxy and build seconds)"
    )
    if queried:
        caption += (
            "; the dotted line marks the first query, after which the search scores neighbours of the "
            "best-queried architecture. Right: the best queried accuracy against the queries."
        )
    else:
        caption += "."
    note = (
        f"From {run.path / BEST}, as the search wrote it. Fitness: {fitness_text(run.settings)}; an architecture "
        f"a proxy failed on has none ({DASH}) and ranks last. "
    )
    if any("accuracy" in entry for entry in run.best):
        note += "Queried architectures come first, by their queried accuracy; then the others by fitness. "
    if any("truth" in entry for entry in run.best):
        note += "truth: looked up for the listed architectures only, after the search. "
    return [
        Paragraph(finding(run)),
        Heading(level, "Best architectures"),
        Table(header, rows),
        Paragraph(note.rstrip()),
        Heading(level, "Trajectory"),
        Image(f"{prefix}trajectory.png", trajectory_png(run.trajectory), caption),
        *settings_blocks(
            run.settings,
            skip=("best",),  # shown as the table above
            command_note="run.json has no command line: the search was run from Python with a space object or "
            "settings the command line does not take, or by a version of near that did not record it (see the "
            "settings).",
        ),
    ]


def search_report(run: SearchRun) -> tuple[str, list[Block]]:
    """Title and blocks of the report on one search."""
    title = f"Search report: {labels([run])[0]}"
    return title, [Heading(1, title), *run_blocks(run, 2)]


def combined_search_report(runs: Sequence[SearchRun]) -> tuple[str, list[Block]]:
    """Title and blocks of the report on several searches: a row per run and the mean ± std of the picks, then
    each run's own part."""
    names = labels(runs)
    title = f"Search report: {len(runs)} runs"
    truth_columns = {run.settings.get("truth_column") for run in runs if "truth" in run.pick}
    header = ["run", "space", "proxies", "seed", "scored", "queries", "pick", "fitness", "queried", "truth"]
    rows = [
        [name, str(run.settings.get("space", DASH)), ",".join(run.proxies), str(run.settings.get("seed", DASH)),
         str(run.settings.get("scored", DASH)), str(run.settings.get("queries", DASH)), run.pick["arch"],
         value(run.pick["fitness"]), value(run.pick.get("accuracy")), value(run.pick.get("truth"))]
        for name, run in zip(names, runs)
    ]  # fmt: skip
    blocks: list[Block] = [Heading(1, title), Heading(2, "Summary"), Table(header, rows + [_summary_row(runs)])]
    blocks.append(
        Paragraph(
            "One row per run: its pick (the first of best.json), the pick's fitness, queried accuracy and truth "
            f"accuracy ({DASH}: none). Last row: mean ± sample standard deviation over the runs that have the "
            "value (their number in brackets)."
            + (
                f" The runs' truth columns differ ({', '.join(sorted(map(str, truth_columns)))}): their mean mixes "
                "different measures."
                if len(truth_columns) > 1
                else ""
            )
        )
    )
    for index, (name, run) in enumerate(zip(names, runs), start=1):
        blocks += [Heading(2, f"Run {name}"), *run_blocks(run, 3, f"{index}-{slug(name)}-")]
    return title, blocks


def _summary_row(runs: Sequence[SearchRun]) -> list[str]:
    cells = {}
    for key in ("accuracy", "truth"):
        values = [run.pick[key] for run in runs if run.pick.get(key) is not None]
        cells[key] = mean_std(values)
    return ["mean ± std", "", "", "", "", "", "", "", cells["accuracy"], cells["truth"]]


def mean_std(values: Sequence[float]) -> str:
    """``mean ± std (n)``: the sample standard deviation (0 for one value), 2 decimals for percentages and 4 for
    fractions; a dash for no value."""
    if not values:
        return DASH
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    digits = 2 if max(abs(v) for v in values) >= 1 else 4
    return f"{statistics.mean(values):.{digits}f} ± {spread:.{digits}f} ({len(values)})"
