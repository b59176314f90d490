"""PNG plots of the MLP-design results (matplotlib's Agg canvas, no pyplot: nothing global is touched).

matplotlib is imported inside each function, so ``import near`` stays fast. Every PNG is written to a
temporary file beside its destination and renamed into place, so a failed write leaves no partial file;
an unwritable destination is an :class:`near.errors.OptionError` that names it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .._files import new_folder, write_atomic
from ..errors import OptionError


def _figure(width: float = 5.5, height: float = 4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _save(figure, path: str | Path) -> Path:
    """Write ``figure`` as a PNG at ``path`` all at once (see the module docstring)."""
    path = Path(path)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    try:
        return write_atomic(path, buffer.getvalue())
    except OSError as error:
        raise OptionError(
            f"cannot write the plot {path}: {error.strerror or error}; choose a writable place for it"
        ) from None


def plot_layer_fit(estimate, path: str | Path) -> Path:
    """Relative score vs width with error bars, the prepended (1, 1), the fitted power law and the estimate
    (the paper's Fig. A.4). ``estimate`` is a :class:`near.mlp.sizing.LayerSizeEstimate`."""
    from .powerlaw import power_law

    figure, ax = _figure()
    widths = np.asarray(estimate.widths, dtype=float)
    top = max(widths[-1], estimate.size_exact) * 1.3
    grid = np.geomspace(1, top, 400)
    ax.plot(
        grid,
        power_law(grid, estimate.alpha, estimate.beta, estimate.gamma),
        color="tab:blue",
        lw=1.5,
        label=f"fit {estimate.alpha:.3g} + {estimate.beta:.3g}·s^{estimate.gamma:.3g}",
    )
    ax.errorbar(
        widths,
        estimate.relative_scores,
        yerr=estimate.relative_stds,
        fmt="o",
        color="black",
        ms=4,
        capsize=3,
        label="relative NEAR (mean ± std)",
    )
    ax.plot([1], [1], "s", color="grey", ms=5, label="prepended (1, 1)")
    y_star = power_law(estimate.size_exact, estimate.alpha, estimate.beta, estimate.gamma)
    ax.axvline(estimate.size_exact, color="tab:red", ls="--", lw=1)
    ax.plot(
        [estimate.size_exact],
        [y_star],
        "*",
        color="tab:red",
        ms=12,
        label=f"estimate s* = {estimate.size_exact:.1f} (t = {estimate.threshold:g})",
    )
    ax.set_xscale("log")
    ax.set_xlabel("width of hidden layer (neurons)")
    ax.set_ylabel("relative NEAR score (per neuron and matrix)")
    fixed = f", earlier layers {list(estimate.fixed)}" if estimate.fixed else ""
    ax.set_title(f"hidden layer {estimate.layer}{fixed}", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3, which="both")
    return _save(figure, path)


def plot_loss_vs_parameters(
    parameters: Sequence[int],
    loss: Sequence[float],
    loss_std: Sequence[float],
    labels: Sequence[str],
    path: str | Path,
    highlight: str | None = None,
    loss_name: str = "cross-entropy",
) -> Path:
    """Test loss (mean ± std over seeds) against the number of parameters, one labelled point per network."""
    figure, ax = _figure(6.0, 4.2)
    ax.errorbar(parameters, loss, yerr=loss_std, fmt="o", color="black", ms=4, capsize=3)
    for p, value, label in zip(parameters, loss, labels):
        if label == highlight:
            ax.plot([p], [value], "*", color="tab:red", ms=12)
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel(f"test loss ({loss_name})")
    ax.grid(alpha=0.3, which="both")
    colours = ["tab:red" if label == highlight else "black" for label in labels]
    label_points(ax, parameters, loss, labels, colours, fontsize=7)
    return _save(figure, path)


def plot_near_vs_loss(
    near: Sequence[float],
    loss: Sequence[float],
    labels: Sequence[str],
    bad: Sequence[bool],
    path: str | Path,
    loss_name: str = "cross-entropy",
) -> Path:
    """NEAR before training against test loss after it, one labelled point per candidate; flagged ones in red."""
    figure, ax = _figure(7.0, 5.0)
    colours = ["tab:red" if flagged else "black" for flagged in bad]
    ax.scatter(near, loss, s=18, c=colours, zorder=3)
    ax.set_xlabel("NEAR before training (mean over repetitions)")
    ax.set_ylabel(f"test loss after training ({loss_name}, mean over seeds)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.margins(x=0.08, y=0.12)
    label_points(ax, near, loss, labels, colours, fontsize=7)
    return _save(figure, path)


def label_points(
    ax,
    xs: Sequence[float],
    ys: Sequence[float],
    labels: Sequence[str],
    colours: Sequence[str],
    fontsize: float = 7,
) -> None:
    """Label every point so that no two labels overlap each other or a point (measured in pixels).

    The points of a dense cluster (three or more within a few millimetres) get their labels in a column beside
    the cluster, in the order of the points' heights and joined to them by thin lines, so the lines do not
    cross. Every other label goes next to its point, at the first free place of eight directions.
    """
    figure = ax.figure
    figure.tight_layout()  # the final layout first: the placement is measured in its pixels
    renderer = figure.canvas.get_renderer()
    x_data, y_data = np.asarray(xs, float), np.asarray(ys, float)
    points = ax.transData.transform(np.column_stack([x_data, y_data]))
    frame = ax.get_window_extent(renderer)
    scale = figure.dpi / 72  # offsets are in points, boxes in pixels
    taken = [(px - 4 * scale, py - 4 * scale, px + 4 * scale, py + 4 * scale) for px, py in points]
    alone = []
    for group in _groups(points, list(range(len(points))), reach=24 * scale):
        if len(group) >= 3:
            taken += _label_column(ax, renderer, points, x_data, y_data, labels, colours, fontsize, group, frame)
        else:
            alone += group
    directions = [(1, 0), (1, 0.9), (1, -0.9), (-1, 0), (-1, 0.9), (-1, -0.9), (0, 1.2), (0, -1.2)]
    nearby = [(r * dx, r * dy) for r in (5, 9, 14) for dx, dy in directions]
    for index in sorted(alone, key=lambda i: -points[i, 1]):
        text = ax.annotate(
            labels[index], (x_data[index], y_data[index]), xytext=(0, 0), textcoords="offset points",
            fontsize=fontsize, color=colours[index], va="center",
        )  # fmt: skip
        for dx, dy in nearby:
            text.set_position((dx, dy))
            text.set_horizontalalignment("left" if dx > 0 else "right" if dx < 0 else "center")
            box = _bounds(text.get_window_extent(renderer))
            if _inside(box, frame) and not any(_overlap(box, other) for other in taken):
                break
        else:  # no free place next to the point: the first one, as close as it gets
            text.set_position(nearby[0])
            text.set_horizontalalignment("left")
            box = _bounds(text.get_window_extent(renderer))
        taken.append(box)


def _groups(points: np.ndarray, indices: list[int], reach: float) -> list[list[int]]:
    """``indices`` split into clusters: points closer than ``reach`` pixels (through a chain) share one."""
    groups: list[list[int]] = []
    for index in indices:
        near = [g for g in groups if any(np.hypot(*(points[index] - points[other])) < reach for other in g)]
        merged = [index] + [member for g in near for member in g]
        groups = [g for g in groups if g not in near] + [merged]
    return groups


def _label_column(ax, renderer, points, x_data, y_data, labels, colours, fontsize, crowded, frame) -> list:
    """Labels of a cluster stacked in a column beside it, in the points' vertical order, with leader lines.

    Returns the labels' boxes (pixels), for the other labels to keep clear of.
    """
    scale = ax.figure.dpi / 72
    sizes = {i: _text_size(ax, renderer, labels[i], fontsize) for i in crowded}
    height = max(h for _, h in sizes.values()) * 1.2
    order = sorted(crowded, key=lambda i: points[i, 1])
    wanted = np.array([points[i, 1] for i in order])
    placed = wanted.copy()  # spread upwards where two would overlap, then centre the stack on the points
    for k in range(1, len(placed)):
        placed[k] = max(placed[k], placed[k - 1] + height)
    placed += wanted.mean() - placed.mean()
    placed += max(0.0, frame.y0 + height - placed.min()) - max(0.0, placed.max() - (frame.y1 - height))
    left, right = min(points[i, 0] for i in crowded), max(points[i, 0] for i in crowded)
    widest = max(w for w, _ in sizes.values())
    gap = 24 * scale
    room_left, room_right = left - frame.x0, frame.x1 - right
    on_left = room_left - gap - widest >= 0 or room_left > room_right
    column = max(left - gap, frame.x0 + widest + 2) if on_left else min(right + gap, frame.x1 - widest - 2)
    boxes = []
    for index, y in zip(order, placed):
        dx, dy = (column - points[index, 0]) / scale, (y - points[index, 1]) / scale
        ax.annotate(
            labels[index], (x_data[index], y_data[index]), xytext=(dx, dy), textcoords="offset points",
            fontsize=fontsize, color=colours[index], ha="right" if on_left else "left", va="center",
            arrowprops={"arrowstyle": "-", "color": colours[index], "lw": 0.5, "alpha": 0.7, "shrinkB": 3},
        )  # fmt: skip
        width, h = sizes[index]
        x0 = column - width if on_left else column
        boxes.append((x0 - 1, y - h / 2 - 1, x0 + width + 1, y + h / 2 + 1))
    return boxes


def _text_size(ax, renderer, label: str, fontsize: float) -> tuple[float, float]:
    probe = ax.text(0, 0, label, fontsize=fontsize)
    box = probe.get_window_extent(renderer)
    probe.remove()
    return box.width, box.height


def _bounds(box) -> tuple[float, float, float, float]:
    return box.x0 - 1, box.y0 - 1, box.x1 + 1, box.y1 + 1


def _inside(box: tuple[float, float, float, float], frame) -> bool:
    return frame.x0 <= box[0] and box[2] <= frame.x1 and frame.y0 <= box[1] and box[3] <= frame.y1


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def plot_files(directory: str | Path, plots: Sequence[tuple[str, Callable[[Path], Path]]]) -> list[Path]:
    """Write several plots into ``directory`` (created as needed): ``plots`` pairs a file name with the
    function that writes it. All or nothing: if one fails, the ones written and the folders created here
    are removed again before the error (an :class:`OptionError` naming the place) is raised."""
    written: list[Path] = []
    try:
        with new_folder(directory, written) as folder:
            for name, write in plots:
                written.append(write(folder / name))
    except OSError as error:
        raise OptionError(
            f"cannot write the plots into {directory}: {error.strerror or error}; choose a writable place"
        ) from None
    return written
