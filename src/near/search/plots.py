"""The trajectory plot of a search: best-so-far against scored architectures, scoring seconds and queries.

One drawing serves the run directory's ``trajectory.png`` and ``near report``'s figure. It is made on
matplotlib's Agg canvas without pyplot: nothing global, no GUI backend chosen behind the caller's back.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._files import write_atomic

__all__ = ["plot_trajectory", "trajectory_png"]


def trajectory_png(trajectory: Sequence[dict[str, Any]]) -> bytes:
    """A PNG with one panel per axis: scored architectures, scoring seconds, and queries when any were made.

    The first two panels draw ``final_fitness`` (the best fitness so far, judged by the final archive's ranks,
    so it never falls) over every scored architecture, those the few-shot phase scored as neighbours of the
    best-queried one included; a dotted line marks the first query. The query panel draws ``best_accuracy``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    zero_cost = [row for row in trajectory if row["queries"] == 0]
    queried = [row for row in trajectory if row["queries"] > 0]
    panels = 3 if queried else 2
    figure = Figure(figsize=(4.2 * panels, 3.4), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, panels)
    fitness = [row["final_fitness"] for row in trajectory]
    axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
    for axis, column, label in ((axes[0], "scored", "scored architectures"), (axes[1], "seconds", "scoring seconds")):
        axis.step([row[column] for row in trajectory], fitness, where="post")
        if queried and zero_cost:
            axis.axvline(zero_cost[-1][column], color="grey", ls=":", lw=1, label="first query")
            axis.legend(fontsize=8, loc="lower right")
        axis.set_xlabel(label)
        axis.set_ylabel("best fitness so far (final ranks)")
    if queried:
        accuracy = [row["best_accuracy"] for row in queried]
        axes[2].step([row["queries"] for row in queried], [a if math.isfinite(a) else None for a in accuracy],
                     where="post", marker="o")  # fmt: skip
        axes[2].set_xlabel("queries")
        axes[2].xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[2].set_ylabel("best queried accuracy")
    figure.suptitle("near search: best so far")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def plot_trajectory(trajectory: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write :func:`trajectory_png` of ``trajectory`` to ``path`` (whole or not at all)."""
    return write_atomic(path, trajectory_png(trajectory))
