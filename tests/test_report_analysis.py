"""near.report.analysis: the report's A.6 section says what near.analysis computes; the A.7/A.8 figures draw."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from near import analysis
from near.errors import InputError
from near.report.analysis import analysis_blocks, layer_figure, submatrix_figure
from near.report.document import Image, Paragraph, Table
from near.report.runs import Run

PNG = b"\x89PNG\r\n\x1a\n"


def toy_run(n: int = 200) -> Run:
    rng = np.random.default_rng(0)
    accuracy = rng.uniform(10, 95, size=n)
    params = rng.permutation(n).astype(float)
    near = accuracy + rng.normal(scale=10, size=n)
    near[:3] = math.nan
    return Run(Path("toy"), accuracy, {"near": near, "params": params})


def test_analysis_blocks_sentences_and_top_k_equal_near_analysis():
    run = toy_run()
    blocks = analysis_blocks(run, 2, "1-toy-", ["near", "params"])
    images = [b for b in blocks if isinstance(b, Image)]
    assert [i.name for i in images] == ["1-toy-worst_predictions.png"] and images[0].png.startswith(PNG)
    texts = [b.text for b in blocks if isinstance(b, Paragraph)]
    k = 20  # a tenth of 200 architectures (at most 100)
    pattern = analysis.error_pattern(run.scores["near"], run.accuracy, size=run.scores["params"], k=k)
    assert analysis.describe_errors(pattern, "near", "#params") in texts
    assert any(f"The {k} architectures with the largest rank error" in t for t in texts)
    table = next(b for b in blocks if isinstance(b, Table))
    top = analysis.top_k_accuracy(run.scores["near"], run.accuracy, (1, 10, 100))
    assert table.rows[0] == ["near", *(f"{top[k][0]:.2f} / {top[k][1]:.2f}" for k in (1, 10, 100))]


def test_analysis_blocks_skip_proxies_without_scores():
    run = Run(Path("toy"), np.arange(5.0), {"dead": np.full(5, math.nan)})
    assert analysis_blocks(run, 2) == []


def test_layer_and_submatrix_figures_are_pngs():
    rng = np.random.default_rng(1)
    contributions = rng.normal(size=(30, 5))
    result = analysis.layer_subset_correlations(contributions, rng.normal(size=30), subset_size=2, subsets=10)
    assert layer_figure(result).startswith(PNG)
    full = rng.uniform(1, 5, size=(3, 4))
    assert submatrix_figure([1, 2, 3], [1, 2, 3, 4], full, full / 2).startswith(PNG)


def test_analysis_text_numbers_equal_near_metrics_and_analysis():
    from near import metrics
    from near.report.analysis import analysis_text

    run = toy_run()
    sample = np.zeros(len(run), dtype=bool)
    sample[::2] = True
    text = analysis_text(run, ["near"], worst=10, best=99.0, estimate=50, estimate_sample=sample, draws=20)
    c = metrics.correlations(run.scores["near"], run.accuracy)
    assert f"| near | {c['n']} | {c['spearman']:.3f} | {c['kendall']:.3f} | {c['pairwise']:.3f} |" in text
    assert "in the space: 99.00" in text
    pattern = analysis.error_pattern(run.scores["near"], run.accuracy, size=run.scores["params"], k=10)
    assert analysis.describe_errors(pattern, "near", "#params") in text
    rho = metrics.spearman(run.scores["near"][sample], run.accuracy[sample])
    assert f"the given sample (100 of them here): {rho:.3f}" in text
    with pytest.raises(InputError, match=r"proxies \['zen'\] are not in"):
        analysis_text(run, ["zen"])


def test_analysis_blocks_without_params_say_so_and_give_no_size():
    run = toy_run()
    run = Run(run.path, run.accuracy, {"near": run.scores["near"]})
    texts = [b.text for b in analysis_blocks(run, 2) if isinstance(b, Paragraph)]
    assert any("No #params in this run" in t for t in texts)
    assert not any("#params percentile" in t for t in texts)


def _run_folder(folder: Path, table: Path, proxies: dict[str, list[float]] | None = None) -> Path:
    """A finished run over the cells of ``table`` (tests/bench_data.py's), with run.json naming the table."""
    import csv
    import json

    from near import bench, spaces

    rows = bench.read_table(table, spaces.get("nb201")).sample(None, 0)
    folder.mkdir(parents=True)
    scores = proxies or {"near": [row.accuracy + (i % 2) for i, row in enumerate(rows)]}
    with open(folder / "scores.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["index", "arch_str", "accuracy", *scores])
        for i, row in enumerate(rows):
            writer.writerow([row.index, row.arch_str, row.accuracy, *(values[i] for values in scores.values())])
    settings = {"space": "nb201", "seed": 1, "table": {"path": str(table)}}
    (folder / "run.json").write_text(json.dumps(settings))
    return folder


def test_analyse_run_reads_the_table_of_run_json_and_its_sample(tmp_path, files):
    from near import bench, spaces
    from near.report.analysis import analyse_run

    table_path = files[0]
    folder = _run_folder(tmp_path / "run", table_path)
    table = bench.read_table(table_path, spaces.get("nb201"))
    text = analyse_run(folder, estimate=3, figure=tmp_path / "fig" / "worst.png")
    assert f"in the space: {max(row.accuracy for row in table.rows):.2f}" in text
    assert "the given sample (3 of them here)" in text  # the seed-1 sample of 3 of the table, all in the run
    assert (tmp_path / "fig" / "worst.png").read_bytes().startswith(PNG)
    with pytest.raises(InputError, match="worst must be"):
        analyse_run(folder, worst=0)


def test_cli_analyse(tmp_path, files):
    from click.testing import CliRunner

    from near import cli

    folder = _run_folder(tmp_path / "run", files[0])
    runner = CliRunner()
    result = runner.invoke(cli.main, ["analyse", str(folder), "-p", "near", "--worst", "2"])
    assert result.exit_code == 0, result.output
    assert "near's 2 worst predictions" in result.output and "| near | 6 |" in result.output
    unknown = runner.invoke(cli.main, ["analyse", str(folder), "-p", "zen"])
    assert unknown.exit_code == 1 and "proxies ['zen'] are not in" in unknown.output
    assert runner.invoke(cli.main, ["analyse", str(folder), "--worst", "0"]).exit_code == 2
