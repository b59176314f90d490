"""The report's ensemble rows equal near.ensemble + near.metrics on scores.csv; correlations.json holds the same
ensembles; the learning-curve section appears when the run is large enough and equals near.predict."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bench_data import md_table
from near import ensemble, metrics, spaces
from near.bench.outputs import correlations
from near.bench.tables import Row
from near.predict import ProxyPredictor, features, learning_curve
from near.report import ensembles as report_ensembles
from near.report import load_run, write_report
from test_report import ACCURACY, COLUMNS, write_run


@pytest.fixture
def no_figures(monkeypatch):
    png = b"\x89PNG\r\n\x1a\nstub"
    for name in ("correlation_heatmap", "score_scatter"):
        monkeypatch.setattr(f"near.report.figures.{name}", lambda *args, **kwargs: png)
    monkeypatch.setattr(report_ensembles, "curve_plot", lambda *args, **kwargs: png)


def test_ensemble_rows_follow_the_proxies_and_equal_the_metrics(tmp_path, no_figures):
    folder = write_run(tmp_path / "c10", COLUMNS)
    md_path, _ = write_report(folder)
    text = md_path.read_text()
    header, rows = md_table(text, "ensemble")
    assert header[1:] == md_table(text, "proxy")[0][1:]
    assert list(rows) == ["mean_rank", "log_rank", "vote"]  # no near and params columns: no near+params
    run = load_run(folder)
    keys = ["spearman", "kendall", "pairwise", "top10", "top1%", "top5%", "top10%"]
    for method in ("mean_rank", "log_rank", "vote"):
        expected = metrics.correlations(ensemble.combine(run.scores, method), ACCURACY)
        shown = ["—" if math.isnan(expected[k]) else f"{expected[k]:.3f}" for k in keys]
        assert rows[method] == shown + [str(expected["n"]), str(expected["n_nan"])]
    # oracle and reversed cancel in the mean rank; noisy breaks the tie: no NaN row (noisy's NaN is omitted)
    assert rows["mean_rank"][-1] == "0"
    assert "Not computed: 12 architectures" in text  # too small for a learning curve


def test_correlations_json_has_the_ensembles():
    rows = [Row(i, f"a{i}", None, float(a)) for i, a in enumerate(ACCURACY)]
    scores = {"near": list(2 * ACCURACY), "params": list(ACCURACY - 40), "meco": list(COLUMNS["noisy"])}
    result = correlations(rows, scores, {name: [None] * len(rows) for name in scores}, "test_accuracy")
    assert list(result["ensembles"]) == ["mean_rank", "log_rank", "vote", "near+params"]
    near_params = result["ensembles"]["near+params"]  # both order like the accuracy
    assert near_params["n_valid"] == 12 and near_params["spearman"] == pytest.approx(1.0)
    assert result["ensembles"]["log_rank"]["n_nan"] == 0  # meco's 3 NaN are omitted, not propagated
    mean = metrics.correlations(ensemble.mean_rank(scores), ACCURACY)
    assert result["ensembles"]["mean_rank"]["spearman"] == pytest.approx(mean["spearman"])
    assert result["ensembles"]["mean_rank"]["top_k"]["top5%"] == pytest.approx(mean["top5%"])
    assert set(result["ensembles"]["vote"]) == {"kendall", "spearman", "pairwise", "top_k", "n_valid", "n_nan"}


def test_learning_curve_section_equals_near_predict(tmp_path, no_figures, monkeypatch):
    archs = spaces.get("nb201").sample(60, seed=1)
    rng = np.random.default_rng(0)
    accuracy = rng.uniform(50, 90, size=60)
    columns = {"near": accuracy + rng.normal(size=60), "params": rng.normal(size=60)}
    folder = tmp_path / "run"
    folder.mkdir()
    with open(folder / "scores.csv", "w") as stream:
        stream.write("index,arch_str,accuracy,near,params\n")
        for i, arch in enumerate(archs):
            stream.write(
                f"{i},{arch},{float(accuracy[i])!r},{float(columns['near'][i])!r},{float(columns['params'][i])!r}\n"
            )
    (folder / "run.json").write_text(json.dumps({"space": "nb201"}))
    monkeypatch.setattr(report_ensembles, "CURVE_SEEDS", 2)
    text = write_report(folder)[0].read_text()
    _, rows = md_table(text, "features")
    run = load_run(folder)
    expected = learning_curve(features(run.scores)[0], accuracy, [16, 32], 2, ProxyPredictor(random_state=0))
    assert set(rows) == {"proxies", "proxies + encoding", "encoding"}
    table = [line for line in text.splitlines() if line.startswith("| proxies |")]
    assert [line.split(" | ")[1] for line in table] == ["16", "32"]
    for line, point in zip(table, expected):
        assert f"{point.spearman:.3f} ± {point.spearman_std:.3f}" in line
    assert sum(line.startswith("| encoding |") for line in text.splitlines()) == 2
    assert sum(line.startswith("| proxies + encoding |") for line in text.splitlines()) == 2
