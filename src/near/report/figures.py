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


def score_scatter(scores: Mapping[str, np.ndarray], accuracy: np.ndarray, rhos: Mapping[str, float]) -> bytes:
    """Accuracy against the rank of each proxy's score, one small panel per proxy.

    The x axis is the score's percentile rank among the architectures the proxy scored: proxies differ
    by orders of magnitude (and some give ±inf), ranks put them on one scale, and a rank correlation is
    what the tables report.
    """
    names = list(scores)
    columns = min(4, len(names))
    rows = math.ceil(len(names) / columns)
    figure = _figure(2.6 * columns, 2.2 * rows)
    axes = figure.subplots(rows, columns, squeeze=False, sharey=True)
    for ax, name in zip(axes.flat, names):
        values = scores[name]
        keep = ~np.isnan(values)
        ax.set_title(f"{name}   ρ = {_short(rhos[name])}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if keep.sum() == 0:
            ax.text(0.5, 0.5, "no scores", ha="center", va="center", transform=ax.transAxes, fontsize=8)
            continue
        ranks = 100 * (stats.rankdata(values[keep]) - 0.5) / keep.sum()
        ax.scatter(ranks, accuracy[keep], s=4 if keep.sum() > 200 else 10, alpha=0.5, lw=0, rasterized=True)
        ax.set_xlim(0, 100)
    for index, ax in enumerate(axes.flat):
        if index >= len(names):
            ax.set_visible(False)
        elif index + columns >= len(names):  # the lowest panel of its column
            ax.set_xlabel("score rank (percentile)", fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy", fontsize=7)
    figure.subplots_adjust(wspace=0.12, hspace=0.42)  # fixed gaps: tight_layout would draw everything once more
    return _png(figure)


def performance_profile_plot(taus: np.ndarray, profiles: Mapping[str, np.ndarray]) -> bytes:
    """Dolan–Moré profiles: for each proxy, the fraction of benchmarks where it is within a factor τ of the best."""
    figure = _figure(6.0, 3.8)
    ax = figure.add_subplot()
    styles = ("-", "--", ":", "-.")  # the default cycle has 10 colours: more proxies change the line style
    for index, (name, profile) in enumerate(profiles.items()):
        ax.step(taus, profile, where="post", lw=1.5, ls=styles[index // 10 % 4], label=name)
    ax.set_xscale("log")
    ax.set_xlabel("τ (error 1 − ρ relative to the best proxy on the benchmark, log scale)")
    ax.set_ylabel("fraction of benchmarks")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlim(taus[0], taus[-1])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), ncols=2 if len(profiles) > 12 else 1)
    return _png(figure)


def _short(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3f}"
