"""The report's analysis section (NEAR paper, appendix A.6) and the figures of the A.7/A.8 benchmarks.

:func:`analysis_blocks` adds to every run's report: where each proxy errs (its ``WORST`` largest rank
errors marked on the plane of accuracy rank against score rank, and a sentence on their pattern from
:func:`near.analysis.error_pattern`) and what a search that trusts the proxy gets (best and mean
accuracy of its top 1, 10, 100). :func:`layer_figure` and :func:`submatrix_figure` draw the results of
``benchmarks/nb201_layers.py`` and ``benchmarks/submatrix_rank.py``.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from scipy import stats

from .. import analysis, metrics
from ..errors import InputError
from .document import Block, Heading, Image, Paragraph, Table
from .figures import _figure, _png
from .runs import Run

WORST = 100
TOP_KS = (1, 10, 100)
#: The proxy whose values measure an architecture's size, when the run has it.
SIZE_PROXY = "params"


def analysis_blocks(run: Run, level: int, image_prefix: str = "", order: Sequence[str] | None = None) -> list[Block]:
    """Where each proxy of ``run`` errs (Fig. A.6), with one sentence per proxy, and the top-k table."""
    names = [name for name in (order or run.proxies) if (~np.isnan(run.scores[name])).sum() >= 2]
    if not names:
        return []
    size = run.scores.get(SIZE_PROXY)
    marked = min(WORST, max(1, len(run) // 10))
    worst = {name: analysis.worst_predictions(run.scores[name], run.accuracy, marked) for name in names}
    sentences = [
        analysis.describe_errors(
            analysis.error_pattern(run.scores[name], run.accuracy, size=size, k=marked), name, "#params"
        )
        for name in names
    ]
    size_note = f" Sizes are the run's {SIZE_PROXY} scores." if size is not None else " (No #params in this run.)"
    best = float(np.max(run.accuracy))
    rows = []
    for name in names:
        top = analysis.top_k_accuracy(run.scores[name], run.accuracy, TOP_KS)
        rows.append([name, *(f"{_fmt(top[k][0])} / {_fmt(top[k][1])}" for k in TOP_KS)])
    return [
        Heading(level, "Where each proxy errs"),
        Paragraph(
            f"The {marked} architectures with the largest rank error |score percentile − accuracy percentile| of each "
            "proxy (NEAR paper, Fig. A.6), in red. Below the diagonal the proxy overrates an architecture (ranks it "
            'above its accuracy), above it underrates it. A "bad network scored as good" is one in the bottom '
            "quarter of accuracy that the proxy puts in its top quarter." + size_note
        ),
        Image(f"{image_prefix}worst_predictions.png", worst_figure(run, names, worst), _worst_caption(marked)),
        *(Paragraph(text) for text in sentences),
        Heading(level, "What a search gets"),
        Paragraph(
            f"Best / mean accuracy of the k architectures each proxy scores highest (ties at the k-th place broken "
            f"by the order of scores.csv); the best in this run: {best:.2f}."
        ),
        Table(["proxy", *(f"top-{k} best / mean" for k in TOP_KS)], rows),
    ]


def _fmt(value: float, digits: int = 2) -> str:
    return "—" if math.isnan(value) else f"{value:.{digits}f}"


def _worst_caption(k: int) -> str:
    return (
        f"Percentile rank of the accuracy against that of each proxy's score (dotted: no error); red: its {k} "
        "largest rank errors; below the diagonal = overrated (architectures without a score left out)."
    )


def worst_figure(run: Run, names: Sequence[str], worst: Mapping[str, np.ndarray]) -> bytes:
    """One panel per proxy: accuracy rank against score rank (the diagonal = no error), the worst in red."""
    columns = min(4, len(names))
    rows = math.ceil(len(names) / columns)
    figure = _figure(2.6 * columns, 2.2 * rows)
    axes = figure.subplots(rows, columns, squeeze=False, sharey=True)
    for ax, name in zip(axes.flat, names):
        values = run.scores[name]
        keep = ~np.isnan(values)
        score_rank = np.full(values.shape, math.nan)
        accuracy_rank = np.full(values.shape, math.nan)
        score_rank[keep] = 100 * (stats.rankdata(values[keep]) - 0.5) / keep.sum()
        accuracy_rank[keep] = 100 * (stats.rankdata(run.accuracy[keep]) - 0.5) / keep.sum()
        marked = np.zeros(values.shape, dtype=bool)
        marked[worst[name]] = True
        rest = keep & ~marked
        small = 4 if keep.sum() > 200 else 10
        ax.scatter(score_rank[rest], accuracy_rank[rest], s=small, c="#9aa5b1", alpha=0.5, lw=0, rasterized=True)
        ax.scatter(score_rank[marked], accuracy_rank[marked], s=small + 4, c="#d62728", lw=0, rasterized=True)
        ax.plot([0, 100], [0, 100], color="black", lw=0.6, ls=":")
        ax.set_title(name, fontsize=8)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for index, ax in enumerate(axes.flat):
        if index >= len(names):
            ax.set_visible(False)
        elif index + columns >= len(names):
            ax.set_xlabel("score rank (percentile)", fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy rank (percentile)", fontsize=7)
    figure.subplots_adjust(wspace=0.12, hspace=0.42)
    return _png(figure)


def layer_figure(result: analysis.LayerSubsets) -> bytes:
    """Fig. A.7: per position, the mean ρ of the random layer subsets containing it, and its ρ alone."""
    size = len(result.names)
    figure = _figure(max(6.0, 0.38 * size + 1.5), 3.6)
    ax = figure.add_subplot()
    positions = np.arange(size)
    ax.bar(positions, result.with_layer, color="#4c78a8", label="mean ρ of the subsets containing it")
    ax.scatter(positions, result.alone, color="#d62728", zorder=3, s=18, label="ρ of the position alone")
    ax.axhline(result.full, color="black", lw=1, ls="--", label=f"all positions (ρ = {result.full:.3f})")
    ax.set_xticks(positions, result.names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("Spearman ρ with accuracy")
    low = np.nanmin(np.concatenate([result.alone, result.with_layer, [0.0]]))
    ax.set_ylim(min(0.0, low - 0.05), 1.0)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="lower center")
    return _png(figure)


def submatrix_figure(kernels: Sequence[int], channels: Sequence[int], full: np.ndarray, block: np.ndarray) -> bytes:
    """Figs. A.8–A.9: mean effective rank of the full feature-map matrix and of NEAR's C×C block,
    ``full[i, j]`` / ``block[i, j]`` for kernel ``kernels[i]`` and ``channels[j]`` output channels."""
    figure = _figure(9.5, 3.4)
    left, middle, right = figure.subplots(1, 3)
    top = max(float(np.max(full)), float(np.max(block)))
    for ax, values, title in ((left, full, "full matrix"), (middle, block, "C×C block")):
        image = ax.imshow(values, origin="lower", aspect="auto", vmin=0, vmax=top, cmap="viridis")
        ax.set_xticks(range(len(channels)), channels, fontsize=7)
        ax.set_yticks(range(len(kernels)), kernels, fontsize=7)
        ax.set_xlabel("output channels C", fontsize=8)
        ax.set_ylabel("kernel size", fontsize=8)
        ax.set_title(f"erank, {title} (mean)", fontsize=9)
    figure.colorbar(image, ax=middle, fraction=0.05, pad=0.03)
    figure.subplots_adjust(wspace=0.35)
    for i, kernel in enumerate(kernels):
        right.plot(full[i], block[i], marker="o", ms=3, lw=0.8, label=f"k = {kernel}")
    right.plot([0, top], [0, top], color="black", lw=0.8, ls=":")
    right.tick_params(labelsize=7)
    right.set_xlabel("erank, full matrix", fontsize=8)
    right.set_ylabel("erank, C×C block", fontsize=8)
    right.legend(fontsize=6, ncols=2)
    right.grid(alpha=0.3)
    return _png(figure)


def analysis_text(
    run: Run,
    proxies: Sequence[str] | None = None,
    *,
    worst: int = WORST,
    best: float | None = None,
    estimate: int | None = None,
    estimate_sample: np.ndarray | None = None,
    draws: int = 500,
) -> str:
    """The analyses of one run as Markdown text (what ``benchmarks/nas_analyses.py`` prints).

    Per proxy: Spearman ρ, Kendall τ, the pairwise-order probability, best / mean accuracy of its top
    1, 10, 100 (``best``: the best accuracy of the whole space, when the run holds only part of it); one
    sentence on its ``worst`` largest rank errors (sizes from the run's ``params``). With ``estimate`` =
    N: the spread of ρ over ``draws`` random subsets of N architectures, and ρ on ``estimate_sample``
    (a boolean mask, e.g. the cells of an N-cell ``near bench`` run) — how far an N-cell estimate can be
    from this run's ρ.
    """
    names = [name for name in (proxies or run.proxies) if name in run.scores]
    missing = [name for name in (proxies or []) if name not in run.scores]
    if missing:
        raise InputError(f"proxies {missing} are not in {run.path} (it has {run.proxies})")
    top_in_run = float(run.accuracy.max())
    lines = [
        f"{len(run)} architectures; best accuracy in the run: {top_in_run:.2f}"
        + (f", in the space: {best:.2f}" if best is not None else ""),
        "",
        "| proxy | scored | Spearman ρ | Kendall τ | pairwise | top-1 | top-10 best / mean | top-100 best / mean |",
        "|:---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        c = metrics.correlations(run.scores[name], run.accuracy)
        top = analysis.top_k_accuracy(run.scores[name], run.accuracy, TOP_KS)
        tops = " | ".join(f"{_fmt(top[k][0])} / {_fmt(top[k][1])}" for k in (10, 100))
        lines.append(
            f"| {name} | {c['n']} | {_fmt(c['spearman'], 3)} | {_fmt(c['kendall'], 3)} | {_fmt(c['pairwise'], 3)} | "
            f"{_fmt(top[1][0])} | {tops} |"
        )
    size = run.scores.get(SIZE_PROXY)
    for name in names:
        pattern = analysis.error_pattern(run.scores[name], run.accuracy, size=size, k=worst)
        lines += ["", analysis.describe_errors(pattern, name, "#params")]
    if estimate and len(run) > estimate:
        lines += ["", f"Spearman ρ on {estimate}-architecture samples of these {len(run)}:", ""]
        for name in names:
            s = run.scores[name]
            spread = analysis.subsample_spread(s, run.accuracy, estimate, draws=draws, seed=0)
            text = (
                f"* {name}: all {metrics.spearman(s, run.accuracy):.3f}; {draws} random subsets: mean "
                f"{np.nanmean(spread):.3f}, sd {np.nanstd(spread):.3f}, 2.5–97.5 % "
                f"{np.nanpercentile(spread, 2.5):.3f}–{np.nanpercentile(spread, 97.5):.3f}"
            )
            if estimate_sample is not None and estimate_sample.sum() >= 2:
                rho = metrics.spearman(s[estimate_sample], run.accuracy[estimate_sample])
                text += f"; the given sample ({int(estimate_sample.sum())} of them here): {rho:.3f}"
            lines.append(text)
    return "\n".join(lines)


def analyse_run(
    directory: str | os.PathLike,
    proxies: Sequence[str] | None = None,
    *,
    worst: int = WORST,
    estimate: int | None = None,
    table: str | os.PathLike | None = None,
    space: str | None = None,
    figure: str | os.PathLike | None = None,
) -> str:
    """:func:`analysis_text` of a finished ``near bench`` run folder, and optionally its A.6 figure.

    ``table``: the accuracy table of the space (default: the one ``run.json`` names, if it exists); it
    gives the space's best accuracy and, with ``estimate`` = N, the cells of the run's seed-``seed``
    sample of N (those of ``near bench -n N -s seed``) to compare with. ``space``: the table's search
    space (default: the one ``run.json`` names).
    """
    from .. import spaces
    from ..bench import read_table
    from .runs import load_run

    run = load_run(directory)
    if isinstance(worst, bool) or not isinstance(worst, int) or worst < 1:
        raise InputError(f"worst must be a positive integer, got {worst!r}")
    if estimate is not None and (isinstance(estimate, bool) or not isinstance(estimate, int) or estimate < 2):
        raise InputError(f"estimate must be an integer of at least 2, got {estimate!r}")
    best, sample = None, None
    recorded = run.settings.get("table", {}).get("path") if isinstance(run.settings.get("table"), dict) else None
    path = Path(table) if table is not None else Path(recorded) if recorded else None
    if path is not None and (table is not None or path.exists()):
        space = space or run.settings.get("space")
        if not space:
            raise InputError(f"{run.path}: run.json names no search space; give it (--space) to read the table")
        recorded_table = run.settings["table"] if isinstance(run.settings.get("table"), dict) else {}
        nats = recorded_table.get("nats") or {} if path.is_dir() else {}  # a NATS-Bench directory: the run's setting
        rows = read_table(path, spaces.get(space), **nats)
        best = max(row.accuracy for row in rows.rows)
        if estimate is not None and estimate <= len(rows):
            chosen = {row.arch_str for row in rows.sample(estimate, int(run.settings.get("seed", 0)))}
            sample = np.array([arch in chosen for arch in _arch_strings(run.path / "scores.csv")])
    text = analysis_text(run, proxies, worst=worst, best=best, estimate=estimate, estimate_sample=sample)
    if figure is not None:
        names = list(proxies or run.proxies)
        marked = {name: analysis.worst_predictions(run.scores[name], run.accuracy, worst) for name in names}
        target = Path(figure)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(worst_figure(run, names, marked))
    return text


def _arch_strings(path: Path) -> list[str]:
    """The ``arch_str`` column of a scores.csv, in row order (rows that are all blank skipped, as load_run does)."""
    with open(path, newline="", encoding="utf-8-sig") as stream:
        rows = [row for row in csv.reader(stream) if any(cell.strip() for cell in row)]
    header = [name.strip() for name in rows[0]]
    if "arch_str" not in header:
        raise InputError(f"{path}: no arch_str column; the run's sample cannot be matched to the table")
    column = header.index("arch_str")
    return [row[column] for row in rows[1:]]
