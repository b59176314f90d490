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
        colour = "tab:red" if label == highlight else "black"
        ax.annotate(label, (p, value), textcoords="offset points", xytext=(4, 4), fontsize=7, color=colour)
        if label == highlight:
            ax.plot([p], [value], "*", color="tab:red", ms=12)
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel(f"test loss ({loss_name})")
    ax.grid(alpha=0.3, which="both")
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
    figure, ax = _figure(6.0, 4.2)
    for x, y, label, flagged in zip(near, loss, labels, bad):
        colour = "tab:red" if flagged else "black"
        ax.plot([x], [y], "o", color=colour, ms=4)
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=6, color=colour)
    ax.set_xlabel("NEAR before training (mean over repetitions)")
    ax.set_ylabel(f"test loss after training ({loss_name}, mean over seeds)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    return _save(figure, path)


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
