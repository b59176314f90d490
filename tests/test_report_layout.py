"""near.report's layout: results first, readable figures, and the hook where other modules add sections."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imread

from near.report import figures, sections, write_report
from near.report.document import Folded, Heading, Image, Paragraph, images, render_html, render_markdown
from test_report import ACCURACY, COLUMNS, write_run


def test_accuracy_limits_keep_the_bulk_and_cut_the_dead_tail():
    rng = np.random.default_rng(0)
    accuracy = np.concatenate([rng.uniform(85, 94, 960), np.full(40, 10.0)])  # NB201-like: a few dead cells (4 %)
    bottom, top = figures.accuracy_limits(accuracy)
    assert 80 < bottom < 85 and 94 <= top < 95  # the 85–94 band fills the panel
    assert (accuracy < bottom).sum() == 40  # exactly the dead cells go to the lower edge
    bottom, top = figures.accuracy_limits(np.linspace(40, 90, 100))  # no tail: everything shown, with a margin
    assert bottom < 40 and top > 90
    assert figures.accuracy_limits(np.full(5, 93.0))[0] < 93.0 < figures.accuracy_limits(np.full(5, 93.0))[1]


@pytest.mark.parametrize("high", [1.15, 1.9, 3.0, 12.0, 400.0])
def test_profile_ticks_are_few_plain_and_in_range(high):
    figure = Figure()
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.set_xscale("log")
    ax.set_xlim(1, high)
    figures._plain_log_ticks(ax, 1.0, high)
    ticks = ax.get_xticks()
    labels = [label.get_text() for label in ax.get_xticklabels()]
    assert 2 <= len(ticks) <= 8 and ticks[0] == 1 and all(1 <= t <= high for t in ticks)
    assert all("10^" not in s and "times" not in s for s in labels)  # 2, 1.5 — never 2×10⁰
    assert not ax.xaxis.get_minor_formatter()(1.5)  # minor ticks carry no label that could collide
    # neighbouring labels are at least a label's width apart on the axis (no overlap), measured in pixels
    figure.canvas.draw()
    boxes = [label.get_window_extent() for label in ax.get_xticklabels()]
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:]))


def test_folded_blocks_render_in_both_documents_and_keep_their_images():
    png = b"\x89PNG\r\n\x1a\nstub"
    blocks = [
        Heading(1, "R"),
        Folded("Settings", (Paragraph("x < y"), Image("a.png", png, "cap"))),
        Paragraph("after"),
    ]
    md, page = render_markdown(blocks), render_html(blocks, "R")
    assert "<details>\n<summary>Settings</summary>\n\nx < y" in md and md.index("</details>") < md.index("after")
    assert "<details>\n<summary>Settings</summary>\n<p>x &lt; y</p>" in page
    assert images(blocks) == {"a.png": png}


def test_a_registered_section_appears_where_its_order_says(tmp_path, monkeypatch):
    monkeypatch.setattr(sections, "_RUN", dict(sections._RUN))  # registrations of this test end with it
    monkeypatch.setattr(sections, "_COMBINED", dict(sections._COMBINED))

    @sections.run_section("extra", order=35)
    def extra(view: sections.RunView) -> list:
        assert view.order[0] == "oracle" and view.summary["oracle"]["spearman"] == pytest.approx(1.0)
        return [Heading(view.level, "Extra section"), Paragraph(f"{len(view.run)} architectures")]

    @sections.combined_section("first", order=0)
    def first(view: sections.CombinedView) -> list:
        return [Heading(2, f"First of {len(view.runs)}")]

    text = write_report(write_run(tmp_path / "a", COLUMNS))[0].read_text()
    assert text.index("Proxy–proxy correlations") < text.index("## Extra section") < text.index("## Missing scores")
    assert f"{len(ACCURACY)} architectures\n" in text
    both = write_report([tmp_path / "a", write_run(tmp_path / "b", COLUMNS)], out=tmp_path / "all")[0].read_text()
    assert both.index("## First of 2") < both.index("## Spearman ρ and average rank")
    assert both.count("### Extra section") == 2


def test_score_plot_is_large(tmp_path):
    rng = np.random.default_rng(1)
    accuracy = np.concatenate([rng.uniform(85, 94, 190), np.full(10, 10.0)])
    scores = {f"p{i}": accuracy + rng.normal(0, 2 + i, 200) for i in range(5)}
    png = figures.score_scatter(scores, accuracy, {name: math.nan for name in scores})
    height, width = imread(io.BytesIO(png)).shape[:2]
    assert width >= 1000 and height >= 550  # three panels a row of about 4 × 3 inches at 100 dpi (was 2.6 × 2.2)
