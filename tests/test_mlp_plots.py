"""near.mlp.plots: point labels never overlap each other or a point, even in a dense cluster."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.text import Annotation, Text

from near.mlp import plots


def label_boxes(figure) -> list:
    """The drawn labels' boxes in pixels, as the saved PNG has them."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    ax = figure.axes[0]
    # the text alone: an Annotation's own extent includes its leader line
    return [(t.get_text(), Text.get_window_extent(t, renderer)) for t in ax.texts if isinstance(t, Annotation)]


def labelled(x, y, names, **kw):
    figure, ax = plots._figure(7.0, 5.0)
    ax.scatter(x, y)
    ax.set_yscale(kw.get("yscale", "linear"))
    ax.margins(x=0.08, y=0.12)
    plots.label_points(ax, x, y, names, ["black"] * len(names), fontsize=7)
    return figure


def assert_clear(figure, x, y) -> None:
    boxes = label_boxes(figure)
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"labels {a!r} and {b!r} overlap"
    ax = figure.axes[0]
    frame = ax.get_window_extent()
    for px, py in ax.transData.transform(np.column_stack([x, y])):
        for name, box in boxes:
            assert not box.contains(px, py), f"label {name!r} covers a point"
    for name, box in boxes:
        assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1, f"label {name!r} leaves the axes"


def test_table8_like_points_get_readable_labels():
    """The shape of docs/img/table8_near_vs_loss.png: a few bad cells far away, eight good ones in a knot."""
    rng = np.random.default_rng(0)
    x = np.concatenate([[13, 13.5, 14, 9, 243], 340 + 35 * rng.random(7)])
    y = np.concatenate([[15.5, 13.6, 13.0, 2.3, 0.36], 0.25 + 0.09 * rng.random(7)])
    names = [
        f"{a}/{i}" for a, i in itertools.product(["relu", "silu", "tanh", "tanhshrink"], ["kaiming", "xavier", "u"])
    ]
    figure = labelled(x, y, names, yscale="log")
    assert sorted(name for name, _ in label_boxes(figure)) == sorted(names)  # every point labelled once
    assert_clear(figure, x, y)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_scatter_labels_do_not_overlap(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.random(10), rng.random(10)
    names = [f"candidate-{i}" for i in range(10)]
    figure = labelled(x, y, names)
    assert_clear(figure, x, y)


def test_near_vs_loss_writes_a_png(tmp_path):
    path = plots.plot_near_vs_loss([1.0, 2.0, 2.05], [0.3, 0.2, 0.21], ["a/x", "b/y", "c/z"], [True, False, False],
                                   tmp_path / "p.png")  # fmt: skip
    assert path.read_bytes().startswith(b"\x89PNG")
