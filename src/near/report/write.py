"""Writing the report files all at once.

Everything (tables, figures, both documents) is built in memory first; only then are the files written
into a hidden staging folder beside their destination and renamed into place with ``os.replace``. A
failure before the renames leaves the destination as it was; a crash between them leaves only whole
files (never a half-written one). An older ``report_files/`` is replaced as a whole, so no stale
figure survives.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .._files import new_folder
from ..bench.outputs import RUN, SCORES
from ..bench.store import FILENAME
from ..errors import DataError, InputError, OptionError
from ..search.outputs import is_search_record
from .content import combined_report, single_report
from .document import FILES, images, render_html, render_markdown
from .runs import load_run, read_json
from .searches import combined_search_report, load_search, search_report

MARKDOWN = "report.md"
HTML = "report.html"
BENCH, SEARCH = "bench", "search"


def write_report(
    dirs: str | os.PathLike | Sequence[str | os.PathLike], out: str | os.PathLike | None = None
) -> tuple[Path, Path]:
    """Write ``report.md`` (+ ``report_files/*.png``) and a self-contained ``report.html`` about benchmark runs
    or about searches.

    Parameters
    ----------
    dirs : path or sequence of paths
        Run folders written by ``near bench`` (each with ``scores.csv``; ``run.json`` optional), or run
        folders written by ``near search`` (recognised by their ``run.json``), not both kinds at once. One
        folder gives its report; several give one combined report: for benchmarks the cross-benchmark
        average-rank table and performance profiles, for searches a summary row per search with the mean ±
        std of the picks' accuracies; then a section per run.
    out : path, optional
        Folder to write into (created if needed). Default for one run: the run folder itself. Required
        for several runs. It must not hold another run (a ``scores.csv``, or a search's ``run.json``), so that
        a report never silently replaces a run's own.

    Returns
    -------
    (Path, Path)
        The Markdown and the HTML report.

    Raises
    ------
    InputError
        No folder, one folder given twice, or benchmark runs and searches mixed.
    DataError
        A folder is neither kind of run, or its files are missing or malformed (see
        :func:`near.report.load_run` and :func:`near.report.load_search`).
    OptionError
        ``out`` is missing for several runs, holds another run, or cannot be written.
    """
    paths = [Path(dirs)] if isinstance(dirs, (str, os.PathLike)) else [Path(d) for d in dirs]
    if not paths:
        raise InputError("dirs: give at least one run folder written by `near bench` or `near search`")
    resolved = [p.resolve() for p in paths]
    repeated = sorted({str(p) for p, r in zip(paths, resolved) if resolved.count(r) > 1})
    if repeated:
        raise InputError(f"dirs: {repeated} given more than once; give each run folder once")
    if len(paths) > 1 and out is None:
        raise OptionError(
            f"combining {len(paths)} runs needs an output folder (out=, or --out OUT); a combined report "
            "is not written into one of the runs"
        )
    kinds = [run_kind(path) for path in paths]
    if len(set(kinds)) > 1:
        listed = "; ".join(f"{path} ({kind})" for path, kind in zip(paths, kinds))
        raise InputError(
            f"dirs: {listed}: benchmark runs and searches make different reports; give `near bench` runs or "
            "`near search` runs, and report the others with a second `near report`"
        )
    if out is not None and [Path(out).resolve()] != resolved:
        _check_out(Path(out))
    if kinds[0] == BENCH:
        runs = [load_run(path) for path in paths]
        title, blocks = single_report(runs[0]) if len(runs) == 1 else combined_report(runs)
    else:
        searches = [load_search(path) for path in paths]
        title, blocks = search_report(searches[0]) if len(searches) == 1 else combined_search_report(searches)
    files = {
        MARKDOWN: render_markdown(blocks).encode("utf-8"),
        HTML: render_html(blocks, title).encode("utf-8"),
    }
    target = Path(out) if out is not None else paths[0]
    _publish(target, files, images(blocks))
    return target / MARKDOWN, target / HTML


def run_kind(folder: Path) -> str:
    """``"bench"`` or ``"search"``: which command wrote ``folder`` (a ``scores.csv``, or a search's ``run.json``)."""
    if not folder.is_dir():
        raise DataError(
            f"run folder {folder}: not found (or not a folder); give a folder written by `near bench` or `near search`"
        )
    if (folder / SCORES).is_file():
        return BENCH
    if is_search_record(read_json(folder / RUN)):
        return SEARCH
    unfinished = (
        " It holds a results store but no results: run its command again to finish it."
        if (folder / FILENAME).exists()
        else ""
    )
    raise DataError(
        f"{folder}: neither a `near bench` run ({folder / SCORES}: not found) nor a `near search` run (no "
        f"{RUN} written by near search); give a folder written by one of them.{unfinished}"
    )


def _check_out(out: Path) -> None:
    """Refuse an ``out`` that holds another run: its own report would be replaced by this one."""
    if (out / SCORES).is_file():
        raise OptionError(
            f"out: {out} holds a benchmark run (its scores.csv); its own report.md would be replaced by this "
            "report. Choose another folder"
        )
    if out.is_dir() and (out / RUN).is_file() and is_search_record(read_json(out / RUN)):
        raise OptionError(
            f"out: {out} holds a search run (its run.json); its own report.md would be replaced by this report. "
            "Choose another folder"
        )


def _publish(target: Path, files: dict[str, bytes], images: dict[str, bytes]) -> None:
    """Write ``images`` into ``target/report_files/`` and ``files`` into ``target``, renamed into place last."""
    try:
        with new_folder(target):
            staging = Path(tempfile.mkdtemp(prefix=".report-", dir=target))
            try:
                (staging / FILES).mkdir()
                for name, data in images.items():
                    (staging / FILES / name).write_bytes(data)
                for name, data in files.items():
                    (staging / name).write_bytes(data)
                if (target / FILES).exists():
                    os.replace(target / FILES, staging / "old_files")  # a folder cannot replace a non-empty one
                os.replace(staging / FILES, target / FILES)
                for name in files:  # the documents last: they only appear once their figures are in place
                    os.replace(staging / name, target / name)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except OSError as error:
        raise OptionError(
            f"cannot write the report into {target}: {error.strerror or error}; choose a writable folder"
        ) from None
