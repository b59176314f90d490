"""The report's figures, returned as PNG bytes (matplotlib's Agg canvas, no pyplot: no GUI, nothing global).

Returning bytes instead of writing files lets the report embed them in the HTML and write every file
of the report in one final step.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

_DPI = 100


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")  # crops to the content, legends outside included
    return buffer.getvalue()


def correlation_heatmap(names: Sequence[str], matrix: np.ndarray) -> bytes:
    """Spearman ρ between every pair of proxies (and the accuracy), in [−1, 1]; undefined cells grey."""
    size = len(names)
    side = 1.6 + 0.42 * size
    figure = _figure(side + 1.0, side)
    ax = figure.add_subplot()
    masked = np.ma.masked_invalid(matrix)
    from matplotlib import colormaps

    cmap = colormaps["RdBu_r"].with_extremes(bad="#cccccc")
    image = ax.imshow(masked, cmap=cmap, vmin=-1, vmax=1)
    ax.set_xticks(range(size), names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(size), names, fontsize=8)
    if size <= 20:
        for i in range(size):
            for j in range(size):
                value = matrix[i, j]
                text = "—" if math.isnan(value) else f"{value:.2f}"
                colour = "white" if not math.isnan(value) and abs(value) > 0.6 else "black"
                ax.text(j, i, text, ha="center", va="center", fontsize=6.5, color=colour)
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="Spearman ρ")
    return _png(figure)


def accuracy_limits(accuracy: np.ndarray) -> tuple[float, float]:
    """Y limits that give the bulk of the architectures the height of the panel.

    NAS benchmarks have long lower tails (NB201: most cells at 85–94 %, a few dead ones at 10 %); limits
    from the minimum would squash the band where the proxies differ. The lower limit is the 5 % quantile
    less a tenth of the range above it; the points below it are drawn on the lower edge and counted.
    """
    finite = accuracy[np.isfinite(accuracy)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(np.quantile(finite, 0.05)), float(finite.max())
    span = high - low if high > low else max(abs(high), 1.0) * 0.01
    cut = low - 0.1 * span
    bottom = float(finite.min()) - 0.02 * span if finite.min() >= cut else cut  # no point below: a margin
    return bottom, high + 0.04 * span


def score_scatter(scores: Mapping[str, np.ndarray], accuracy: np.ndarray, rhos: Mapping[str, float]) -> bytes:
    """Accuracy against the rank of each proxy's score, one panel per proxy, three panels a row.

    The x axis is the score's percentile rank among the architectures the proxy scored: proxies differ
    by orders of magnitude (and some give ±inf), ranks put them on one scale, and a rank correlation is
    what the tables report. The y axis shows the bulk of the accuracies (:func:`accuracy_limits`); the
    few architectures below it are drawn as triangles on the lower edge, with their number.
    """
    names = list(scores)
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure = _figure(4.2 * columns, 3.3 * rows)
    axes = figure.subplots(rows, columns, squeeze=False, sharey=True)
    bottom, top = accuracy_limits(accuracy)
    for ax, name in zip(axes.flat, names):
        values = scores[name]
        keep = ~np.isnan(values)
        ax.set_title(f"{name}   ρ = {_short(rhos[name])}", fontsize=10)
        ax.tick_params(labelsize=8.5)
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom, top)
        if keep.sum() == 0:
            ax.text(0.5, 0.5, "no scores", ha="center", va="center", transform=ax.transAxes, fontsize=9)
            continue
        ranks = 100 * (stats.rankdata(values[keep]) - 0.5) / keep.sum()
        kept = accuracy[keep]
        below = kept < bottom
        size = 6 if keep.sum() > 300 else 14
        ax.scatter(ranks[~below], kept[~below], s=size, alpha=0.45, lw=0, rasterized=True)
        if below.any():
            ax.scatter(
                ranks[below],
                np.full(below.sum(), bottom),
                s=18,
                marker="v",
                color="#c44e52",
                lw=0,
                clip_on=False,
                zorder=3,
            )
            ax.text(
                0.99,
                0.02,
                f"▼ {below.sum()} below {bottom:.3g}",
                ha="right",
                va="bottom",
                transform=ax.transAxes,
                fontsize=8,
                color="#c44e52",
                bbox={"facecolor": "white", "alpha": 0.85, "lw": 0, "pad": 1.5},
            )
        ax.set_xlim(0, 100)
    for index, ax in enumerate(axes.flat):
        if index >= len(names):
            ax.set_visible(False)
        elif index + columns >= len(names):  # the lowest panel of its column
            ax.set_xlabel("score rank (percentile)", fontsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy", fontsize=9)
    figure.subplots_adjust(wspace=0.08, hspace=0.32)  # fixed gaps: tight_layout would draw everything once more
    return _png(figure)


def performance_profile_plot(taus: np.ndarray, profiles: Mapping[str, np.ndarray]) -> bytes:
    """Dolan–Moré profiles: for each proxy, the fraction of benchmarks where it is within a factor τ of the best."""
    figure = _figure(7.5, 4.2)
    ax = figure.add_subplot()
    styles = ("-", "--", ":", "-.")  # the default cycle has 10 colours: more proxies change the line style
    for index, (name, profile) in enumerate(profiles.items()):
        ax.step(taus, profile, where="post", lw=1.5, ls=styles[index // 10 % 4], label=name)
    ax.set_xscale("log")
    _plain_log_ticks(ax, float(taus[0]), float(taus[-1]))
    ax.set_xlabel("τ (error 1 − ρ relative to the best proxy on the benchmark, log scale)")
    ax.set_ylabel("fraction of benchmarks")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlim(taus[0], taus[-1])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), ncols=2 if len(profiles) > 12 else 1)
    return _png(figure)


_NICE = (1, 1.1, 1.2, 1.3, 1.5, 1.7, 2, 2.5, 3, 4, 5, 7)


def _plain_log_ticks(ax, low: float, high: float, most: int = 8) -> None:
    """Ticks at round numbers written plainly (1.5, 2, 3, not 2×10⁰), at most ``most`` of them, no minor labels.

    Matplotlib labels the minor ticks of a log axis that spans less than a decade, and those labels run
    into each other; a few round values, evenly spread on the log scale, read better.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    candidates = [
        n * 10.0**e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1) for n in _NICE
    ]
    ticks = [v for v in candidates if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]
    while len(ticks) > most:  # thin out, keeping the first tick (τ = 1, the share of wins)
        ticks = ticks[::2] if len(ticks) > 2 * most else [tick for i, tick in enumerate(ticks) if i % 3 != 2]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _short(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3f}"
