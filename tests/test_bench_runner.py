"""near.bench.run: every score depends only on (seed, architecture, proxy, options) — not on the order of
work, a resume or what ran before — results are stored as they finish, and the outputs match near.metrics."""

from __future__ import annotations

import csv
import json
import math
import sqlite3

import numpy as np
import pytest
import torch

import near.proxies
from bench_data import NB101_HEADER, NB101_SHARED_ROWS, NB201_ROWS, md_table, write_images, write_table
from near import TableWarning, metrics, spaces
from near.bench import arch_seed, load_images, read_table, resolve_options, run, score_architecture
from near.errors import DataError, OptionError, ProxyError

PROXIES = ["params", "nwot", "near"]
COMPUTE_MANY = near.proxies.compute_many


@pytest.fixture(scope="module")
def reference(files, tmp_path_factory):
    """The output directory of one complete run of PROXIES with seed 1."""
    out = tmp_path_factory.mktemp("reference")
    bench(files, out)
    return out


def bench(files, out, **options):
    table, images = files
    options = {"seed": 1, "executor": "serial", **options}  # serial: Counting sees the work (in this process)
    return run("nb201", table, images, options.pop("proxies", PROXIES), out_dir=out, **options)


class Counting:
    """Wraps near.proxies.compute_many: counts the proxy values computed; raises after ``stop_after`` calls."""

    def __init__(self, monkeypatch, stop_after: int | None = None):
        self.values, self.calls, self.stop_after = 0, 0, stop_after
        monkeypatch.setattr(near.proxies, "compute_many", self)

    def __call__(self, names, *args, **kwargs):
        if self.calls == self.stop_after:
            raise KeyboardInterrupt
        self.calls += 1
        self.values += len(names)
        return COMPUTE_MANY(names, *args, **kwargs)


def read_scores(path):
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    numbers = [key for key in rows[0] if key != "arch_str"]
    return rows, {key: np.array([float(row[key]) if row[key] else math.nan for row in rows]) for key in numbers}


def test_the_same_command_writes_the_same_scores(files, reference, tmp_path):
    bench(files, tmp_path)
    for name in ("scores.csv", "correlations.json"):
        assert (tmp_path / name).read_bytes() == (reference / name).read_bytes()
    rows, columns = read_scores(reference / "scores.csv")
    assert list(rows[0]) == ["index", "arch_str", "accuracy", *PROXIES]
    assert [int(r["index"]) for r in rows] == [index for index, _, _ in NB201_ROWS]
    assert columns["params"].tolist() == [spaces.get("nb201").num_parameters(arch) for _, arch, _ in NB201_ROWS]


@pytest.mark.filterwarnings("ignore::near.ZeroMatrixWarning")
def test_a_score_depends_only_on_seed_architecture_proxy_and_options(files):
    table, images = read_table(files[0], "nb201"), load_images(files[1])
    options = resolve_options(PROXIES)

    def scores(rows, names, seed=1):
        return {
            (row.index, name): float(value)
            for row in rows
            for name, value in score_architecture(
                spaces.get("nb201"), row, images, names, options, seed=seed, num_classes=10
            ).items()
        }

    rows = table.rows[:3]
    together = scores(rows, PROXIES)
    torch.manual_seed(123)  # global state left by earlier work does not matter
    np.random.seed(5)
    apart = {k: v for name in reversed(PROXIES) for k, v in scores(rows[::-1], [name]).items()}
    assert apart == pytest.approx(together, nan_ok=True)
    assert scores(table.rows[:1], ["near"], seed=2) != scores(table.rows[:1], ["near"])
    assert arch_seed(1, "a", "model") == arch_seed(1, "a", "model") != arch_seed(1, "b", "model")
    assert arch_seed(1, "a", "model") == 8986916391989092450  # SHA-256: the same in every process


def test_an_interrupted_run_keeps_finished_work_and_resumes_to_the_same_result(files, reference, tmp_path, monkeypatch):
    (tmp_path / "run").mkdir()
    (tmp_path / "run/scores.csv").write_text("left by an earlier run\n")
    (tmp_path / "run/report.md").write_text("left by an earlier run\n")
    interrupted = Counting(monkeypatch, stop_after=2)
    with pytest.raises(KeyboardInterrupt):
        bench(files, tmp_path / "run")
    assert interrupted.calls == 2
    assert not (tmp_path / "run/scores.csv").exists()  # nothing a later step could take for a finished run
    assert not (tmp_path / "run/report.md").exists()
    with sqlite3.connect(tmp_path / "run/results.sqlite") as db:
        assert db.execute("SELECT COUNT(DISTINCT arch), COUNT(*) FROM results").fetchone() == (2, 6)
    resumed = Counting(monkeypatch)
    result = bench(files, tmp_path / "run")
    assert (resumed.calls, resumed.values) == (4, 12) and (result.computed, result.reused) == (12, 6)
    assert (tmp_path / "run/scores.csv").read_bytes() == (reference / "scores.csv").read_bytes()
    again = Counting(monkeypatch)
    assert bench(files, tmp_path / "run").reused == 18 and again.calls == 0


def test_a_larger_sample_or_another_proxy_computes_only_what_is_new(files, tmp_path, monkeypatch):
    bench(files, tmp_path / "run", proxies=["params"], sample=3)
    counter = Counting(monkeypatch)
    result = bench(files, tmp_path / "run", proxies=["params", "nwot"], sample=5)
    assert counter.values == 2 * 1 + 5 * 1 and (result.computed, result.reused) == (7, 3)
    counter = Counting(monkeypatch)
    bench(files, tmp_path / "run", proxies=["near"], repetitions=2, sample=2)
    bench(files, tmp_path / "run", proxies=["near"], repetitions=1, sample=2)
    assert counter.values == 4  # other repetitions = other options: stored side by side, never mixed


def test_correlations_json_is_valid_json_and_equals_near_metrics_on_scores_csv(reference):
    rows, columns = read_scores(reference / "scores.csv")
    assert rows[1]["index"] == "8" and rows[1]["nwot"] == ""  # the all-`none` cell: NaN is an empty cell

    def no_nan(text):
        raise AssertionError(f"JSON has {text}")

    saved = json.loads((reference / "correlations.json").read_text(), parse_constant=no_nan)
    assert saved["n"] == 6 and saved["accuracy"] == "test_accuracy" and list(saved["proxies"]) == PROXIES
    for name in PROXIES:
        expected = metrics.correlations(columns[name], columns["accuracy"])
        entry = saved["proxies"][name]
        for key in ("kendall", "spearman", "pairwise"):
            assert entry[key] == pytest.approx(expected[key])
        assert entry["top_k"]["top10"] is None  # undefined with 6 architectures: null, not a number
        assert entry["top_k"]["top10%"] == pytest.approx(expected["top10%"])
        assert (entry["n_valid"], entry["n_nan"]) == (expected["n"], expected["n_nan"])
    assert saved["proxies"]["nwot"]["n_nan"] == 1 and "singular" in next(iter(saved["proxies"]["nwot"]["nan_reasons"]))
    matrix = np.array(saved["proxy_spearman"]["matrix"], dtype=float)
    assert saved["proxy_spearman"]["names"] == ["accuracy", *PROXIES]
    assert matrix[0, 1] == pytest.approx(metrics.spearman(columns["params"], columns["accuracy"]))
    record = json.loads((reference / "run.json").read_text(), parse_constant=no_nan)
    assert record["command"].startswith("near bench nb201 --table ") and "--seed 1 --repetitions 1" in record["command"]
    assert record["options"]["near"] == {"repetitions": 1, "batchnorm": "batch", "reinit": True, "batch_size": None}
    assert record["cost"]["params"]["evaluations"] == 6 and record["sample"] == 6


def test_a_finished_run_writes_its_report_with_the_numbers_of_its_files(files, tmp_path):
    result = bench(files, tmp_path, proxies=["params", "nwot"])
    names = ["scores.csv", "correlations.json", "run.json", "report.md", "report.html"]
    assert result.files == [tmp_path / name for name in names] and all(path.is_file() for path in result.files)
    saved = json.loads((tmp_path / "correlations.json").read_text())
    cost = json.loads((tmp_path / "run.json").read_text())["cost"]
    text = (tmp_path / "report.md").read_text()
    _, rows = md_table(text, "proxy")
    for name in ("params", "nwot"):
        assert rows[name][:2] == [f"{saved['proxies'][name][key]:.3f}" for key in ("spearman", "kendall")]
    (reason,) = saved["proxies"]["nwot"]["nan_reasons"]
    shown = reason.removeprefix("nwot: ")
    assert reason.startswith("nwot: the kernel K is singular") and len(shown) > 120  # shortened in the report
    _, missing = md_table(text[text.index("## Missing scores") :], "proxy")
    assert missing == {"nwot": [f"{shown[:119].rstrip()}… (1)"]}
    _, timed = md_table(text[text.index("## Cost") :], "proxy")  # scores.csv has no timings: run.json's cost
    for name, (mean, total, rate) in timed.items():
        assert float(mean) == pytest.approx(cost[name]["seconds"] / cost[name]["evaluations"], rel=5e-3, abs=5e-4)
        assert float(total) == pytest.approx(cost[name]["seconds"], rel=5e-3, abs=5e-3)
        assert float(rate) == pytest.approx(cost[name]["per_second"], rel=5e-3)


def test_rows_sharing_an_architecture_are_warned_about(tmp_path):
    table = write_table(tmp_path / "nb101.csv", NB101_SHARED_ROWS, NB101_HEADER)
    images = write_images(tmp_path / "images.npz")
    with pytest.warns(TableWarning) as caught:
        result = run("nb101", table, images, ["params"], out_dir=tmp_path / "out")
    message = (
        f"{table}: of the 3 rows, 1 prunes to the bare input→output cell (no operation) and 2 share an "
        "architecture with other rows (2 distinct in all). Rows with one architecture get one score"
    )
    assert str(caught[0].message).startswith(message)
    assert result.computed == 2 and result.scores["params"][0] == result.scores["params"][1]
    assert json.loads((tmp_path / "out/run.json").read_text())["table_warning"].startswith(message)
    assert f"Warning (near bench): {message}" in (tmp_path / "out/report.md").read_text()


def test_timings_are_extra_columns_after_the_proxies(files, tmp_path):
    bench(files, tmp_path, proxies=["params", "nwot"], sample=2, timings=True)
    rows, columns = read_scores(tmp_path / "scores.csv")
    assert list(rows[0]) == ["index", "arch_str", "accuracy", "params", "nwot", "params_seconds", "nwot_seconds"]
    assert (columns["nwot_seconds"] > 0).all()


def test_options_get_defaults_and_the_harness_settings():
    resolved = resolve_options(["zico", "near", "nwot"], {"nwot": {"batch_size": 8}}, repetitions=4)
    assert resolved == {
        "zico": {"split": 2},
        "near": {"repetitions": 4, "batchnorm": "batch", "reinit": True, "batch_size": None},
        "nwot": {"batch_size": 8, "hooks": "relu"},
    }
    with pytest.raises(ProxyError, match="proxy 'nwot' has no option 'width'; it accepts batch_size, hooks"):
        resolve_options(["nwot"], {"nwot": {"width": 1}})
    with pytest.raises(ProxyError, match="options given for proxies that are not run: zen"):
        resolve_options(["nwot"], {"zen": {"repeats": 2}})
    with pytest.raises(OptionError, match="give NEAR's repetitions once"):
        resolve_options(["near"], {"near": {"repetitions": 2}})


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"proxies": ["params", "nope"]}, ProxyError, "unknown proxy 'nope'; choose one of"),
        ({"proxies": "params,params"}, ProxyError, "proxies given twice: params"),
        ({"sample": 9}, OptionError, "cannot sample 9 architectures"),
        ({"seed": -1}, OptionError, "seed must be an integer from 0"),
        ({"num_classes": 0}, OptionError, "num_classes must be a positive integer"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(files, tmp_path, options, error, message):
    with pytest.raises(error, match=message):
        bench(files, tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


def test_labelled_proxies_need_labels(tmp_path):
    table, images = write_table(tmp_path / "t.csv"), write_images(tmp_path / "i.npz", labels=False)
    with pytest.raises(DataError, match="has no labels, but grad_norm, zico need them"):
        run("nb201", table, images, ["params", "grad_norm", "zico"], out_dir=tmp_path / "out", num_classes=10)
    with pytest.raises(DataError, match="has no labels to count the classes; give num_classes"):
        run("nb201", table, images, ["params"], out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    result = run("nb201", table, images, ["params"], out_dir=tmp_path / "out", num_classes=10, sample=2)
    assert len(result.rows) == 2


def test_another_setup_in_the_same_directory_is_refused_and_leaves_it_alone(files, tmp_path):
    bench(files, tmp_path / "run", proxies=["params"])
    before = (tmp_path / "run/scores.csv").read_bytes()
    with pytest.raises(near.StoreConflictError, match=r"num_classes: stored 10, now 12"):
        bench(files, tmp_path / "run", proxies=["params"], num_classes=12)
    assert (tmp_path / "run/scores.csv").read_bytes() == before


@pytest.mark.parametrize(
    "options, message",
    [
        ({"near": {"batchnorm": "bogus"}}, "near: batchnorm must be one of"),
        ({"fisher": {"fan_in_weighted": 3}}, "fisher: fan_in_weighted must be True or False; got 3"),
    ],
)
def test_a_bad_option_value_leaves_a_finished_run_as_it_was(files, tmp_path, options, message):
    bench(files, tmp_path / "run", proxies=["params"])
    before = outputs(tmp_path / "run")
    with pytest.raises(OptionError, match=message):
        bench(files, tmp_path / "run", proxies=["params", *options], options=options)
    after = outputs(tmp_path / "run")
    assert after == before and "scores.csv" in after


def outputs(folder):
    """The files of a run folder but the store and the lock (which names the latest run)."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.suffix not in (".sqlite", ".lock")}


def test_outputs_that_cannot_be_written_give_a_clear_error_and_keep_the_scores(files, tmp_path):
    (tmp_path / "run/scores.csv").mkdir(parents=True)
    with pytest.raises(DataError, match=r"cannot write the outputs in .*run: .*scores.csv: Is a directory; every"):
        bench(files, tmp_path / "run", proxies=["params"])
    (tmp_path / "run/scores.csv").rmdir()
    result = bench(files, tmp_path / "run", proxies=["params"])
    assert result.reused == 1 and result.computed == len(result.rows) - 1  # the first architecture was kept
