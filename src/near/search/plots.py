"""The trajectory plot of a search: best-so-far against scored architectures, scoring seconds and queries."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["plot_trajectory"]


def plot_trajectory(trajectory: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write a PNG with one panel per axis (scored, seconds, and queries when any were made)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    zero_cost = [row for row in trajectory if row["queries"] == 0]
    queried = [row for row in trajectory if row["queries"] > 0]
    panels = 3 if queried else 2
    figure, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.4), constrained_layout=True)
    try:
        fitness = [row["final_fitness"] for row in zero_cost]
        for axis, column, label in (
            (axes[0], "scored", "scored architectures"),
            (axes[1], "seconds", "scoring seconds"),
        ):
            axis.step([row[column] for row in zero_cost], fitness, where="post")
            axis.set_xlabel(label)
            axis.set_ylabel("best fitness so far (final ranks)")
        if queried:
            accuracy = [row["best_accuracy"] for row in queried]
            axes[2].step([row["queries"] for row in queried], [a if math.isfinite(a) else None for a in accuracy],
                         where="post", marker="o")  # fmt: skip
            axes[2].set_xlabel("queries")
            axes[2].set_ylabel("best queried accuracy")
        figure.suptitle("near search: best so far")
        figure.savefig(path, dpi=110)
    finally:
        plt.close(figure)
    return Path(path)
