"""Official NATS-Bench directories as tables: the official fixture's known values, the metric keys of the
official API, the training settings, lazy reading, and files that must be refused."""

from __future__ import annotations

import bz2
import csv
import json
import math
import os
import pickle
import shutil

import pytest

from bench_data import write_images
from near.bench import read_table, run
from near.errors import DataError, OptionError
from near.formats.nats import read_nats_directory

TSS, SSS = "NATS-tss-v1_0-3ffb9-simple", "NATS-sss-v1_0-50262-simple"
TSS_0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


@pytest.fixture(scope="module")
def nats(shared_data):
    return shared_data / "nats"


def test_tss_fixture_rows_and_cifar10_test_accuracy_match_the_shared_table(nats, shared_data):
    table = read_table(nats / TSS, "nb201")
    assert [row.index for row in table.entries] == [0, 11, 284] and table.entries[0].arch_str == TSS_0
    assert all(math.isnan(row.accuracy) for row in table.entries)  # read when drawn, or when rows are asked for
    with open(shared_data / "nb201" / "nb201_cifar10.csv", newline="") as stream:
        published = {int(r["index"]): (r["arch_str"], float(r["test_accuracy"])) for r in csv.DictReader(stream)}
    for row in table.sample(None, 0):  # default: cifar10, test, hp 200 (the 200-epoch mean over seeds)
        assert row.arch_str == published[row.index][0]
        assert row.accuracy == pytest.approx(published[row.index][1], abs=1e-5)
    assert table.rows == tuple(table.sample(None, 0)) and table.load().rows == table.rows
    assert table.nats == {"dataset": "cifar10", "metric": "test", "hp": "200"}
    assert table.accuracy_column == "cifar10 test accuracy (NATS-Bench hp=200)"


def test_sss_fixture_known_values(nats):
    table = read_table(nats / SSS, "nats-sss").load()
    accuracy = {row.arch_str: row.accuracy for row in table.rows}
    assert table.rows[0].arch_str == "8:8:8:8:8" and table.nats["hp"] == "90"
    assert accuracy["8:8:8:8:8"] == pytest.approx(79.79) and accuracy["8:8:40:32:40"] == pytest.approx(89.51)


# What the official API reads for (dataset, metric): nats_bench.api_utils.remap_dataset_set_names.
OFFICIAL = {
    ("cifar10", "test"): ("cifar10", "ori-test"),
    ("cifar10", "valid"): ("cifar10-valid", "x-valid"),
    ("cifar100", "test"): ("cifar100", "x-test"),
    ("cifar100", "valid"): ("cifar100", "x-valid"),
    ("ImageNet16-120", "test"): ("ImageNet16-120", "x-test"),
    ("ImageNet16-120", "valid"): ("ImageNet16-120", "x-valid"),
}


@pytest.mark.parametrize(
    ("space", "folder", "hp"), [("nb201", TSS, "12"), ("nb201", TSS, "200"), ("nats-sss", SSS, "01")]
)
@pytest.mark.parametrize(("dataset", "metric"), list(OFFICIAL))
def test_each_dataset_and_metric_is_the_official_mean_over_seeds(nats, space, folder, hp, dataset, metric):
    table = read_table(nats / folder, space, dataset=dataset, metric=metric, hp=hp).load()
    name, eval_set = OFFICIAL[dataset, metric]
    for row in table.rows:
        with bz2.open(nats / folder / f"{row.index:06d}.pickle.pbz2") as stream:
            record = pickle.load(stream)[hp]  # the official fixture, trusted here
        runs = [record["all_results"][name, seed] for seed in record["dataset_seed"][name]]
        values = [run["eval_acc1es"][f"{eval_set}@{run['epochs'] - 1}"] for run in runs]
        assert row.accuracy == pytest.approx(sum(values) / len(values), rel=1e-12)


def test_settings_are_spelled_as_users_write_them(nats):
    sss = read_table(nats / SSS, "nats-sss", dataset="imagenet16-120", metric="valid", hp="1")
    assert sss.nats == {"dataset": "ImageNet16-120", "metric": "valid", "hp": "01"}
    a, b = (read_table(nats / TSS, "nb201", hp=hp).load().rows[0].accuracy for hp in ("12", 200))
    assert a < b  # 12 epochs train less far than 200
    with pytest.raises(OptionError, match="no training setting hp='90'; it has 12, 200"):
        read_table(nats / TSS, "nb201", hp="90")
    with pytest.raises(OptionError, match="unknown NATS-Bench dataset 'imagenet'"):
        read_table(nats / TSS, "nb201", dataset="imagenet")
    with pytest.raises(OptionError, match="unknown NATS-Bench metric 'train'"):
        read_table(nats / TSS, "nb201", metric="train")


def test_wrong_space_and_misplaced_options(nats, tmp_path):
    with pytest.raises(DataError, match="is NATS-Bench SSS, whose architectures are nats-sss's; give the space"):
        read_table(nats / SSS, "nb201")
    with pytest.raises(OptionError, match="accuracy_column is for CSV tables"):
        read_table(nats / TSS, "nb201", accuracy_column="test_accuracy")
    (tmp_path / "t.csv").write_text(f"index,arch_str,test_accuracy\n0,{TSS_0},85.9\n")
    with pytest.raises(OptionError, match="dataset, hp apply to NATS-Bench directories"):
        read_table(tmp_path / "t.csv", "nb201", dataset="cifar100", hp="12")
    with pytest.raises(DataError, match="a table is a CSV file or an official NATS-Bench directory"):
        read_table(tmp_path, "nb201")


def test_only_the_drawn_architectures_are_read(nats, tmp_path):
    folder = shutil.copytree(nats / TSS, tmp_path / TSS)
    table = read_table(folder, "nb201")
    (folder / "000011.pickle.pbz2").write_bytes(b"not bz2")
    drawn = []
    for seed in range(20):  # some seeds draw 11, whose file is broken; the others must not read it
        try:
            drawn.append(table.sample(2, seed))
        except DataError as error:
            assert "000011" in str(error)
    assert drawn and all(row.index != 11 and 85 < row.accuracy < 95 for rows in drawn for row in rows)
    with pytest.raises(DataError, match=r"cannot read the NATS-Bench file .*000011\.pickle\.pbz2"):
        _ = table.rows  # every file


def test_a_file_of_another_benchmark_is_refused(nats, tmp_path):
    folder = shutil.copytree(nats / TSS, tmp_path / TSS)
    shutil.copy(folder / "000011.pickle.pbz2", folder / "000284.pickle.pbz2")
    with pytest.raises(DataError, match="holds architecture .* but meta.pickle.pbz2 lists .* at index 284"):
        read_table(folder, "nb201").load()


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_pickles_naming_code_are_refused_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "evil"
    folder.mkdir()
    (folder / "meta.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps({"meta_archs": [TSS_0], "x": _Payload()})))
    (folder / "000000.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps({})))
    with pytest.raises(DataError, match="refusing to load posix.system|refusing to load os.system"):
        read_nats_directory(folder)
    assert not (tmp_path / "PWNED").exists()


def test_bench_run_on_the_official_fixture(nats, tmp_path):
    images = write_images(tmp_path / "images.npz", n=16, shape=(3, 32, 32))
    result = run(
        "nats-sss", nats / SSS, images, ["params"], out_dir=tmp_path / "out", executor="serial", dataset="cifar10"
    )
    assert len(result.rows) == 3
    with open(tmp_path / "out" / "scores.csv", newline="") as stream:
        accuracy = {row["arch_str"]: float(row["accuracy"]) for row in csv.DictReader(stream)}
    assert accuracy["8:8:8:8:8"] == pytest.approx(79.79) and accuracy["8:8:40:32:40"] == pytest.approx(89.51)
    config = json.loads((tmp_path / "out" / "run.json").read_text())
    assert config["table"]["nats"] == {"dataset": "cifar10", "metric": "test", "hp": "90"}
    assert "--dataset cifar10 --metric test --hp 90" in config["command"]
    assert "--accuracy-column" not in config["command"]


def test_analyse_reads_the_nats_directory_with_the_runs_setting(nats, tmp_path):
    from near.report.analysis import analyse_run

    images = write_images(tmp_path / "images.npz", n=16, shape=(3, 32, 32))
    out = tmp_path / "out"
    run("nats-sss", nats / SSS, images, ["params"], out_dir=out, executor="serial", metric="valid", hp="12")
    text = analyse_run(out)  # the table run.json names, read as cifar10 / valid / hp 12 as the run was
    assert "in the space: 79.31" in text  # 79.315 (cifar10-valid x-valid, 12 epochs); the default would be 89.51
