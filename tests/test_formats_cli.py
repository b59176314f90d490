"""The formats on the command line: --data and --images take dataset folders, --table a NATS-Bench directory
with --dataset/--metric/--hp, and run.json's command repeats such a run."""

from __future__ import annotations

import csv
import json
import shlex

import numpy as np
import pytest
from click.testing import CliRunner

from bench_data import write_images, write_table
from formats_data import write_cifar10, write_idx
from near import cli

SSS = "nats/NATS-sss-v1_0-50262-simple"
TSS = "nats/NATS-tss-v1_0-3ffb9-simple"


def invoke(*args: str):
    return CliRunner().invoke(cli.main, list(args))


def test_score_data_takes_an_idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (130, 6, 5), dtype=np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", (np.arange(130) % 4).astype(np.uint8))
    result = invoke("score", "near.models:mlp", "--data", str(tmp_path), "--seed", "0")
    assert result.exit_code == 0, result.output
    assert f"on {tmp_path} (130 samples of 1x6x5, images normalised" in result.output  # 1 channel: its own statistics


def test_bench_on_a_nats_directory_and_its_command_repeats_the_run(shared_data, tmp_path):
    images, out = str(write_images(tmp_path / "i.npz", n=16, shape=(3, 32, 32))), str(tmp_path / "run")
    table = str(shared_data / SSS)
    args = ["bench", "nats-sss", "-t", table, "-i", images, "-p", "params", "-o", out, "--executor", "serial"]
    result = invoke(*args, "--dataset", "cifar10", "--metric", "valid", "--hp", "12")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("nats-sss: 3 architectures, seed 0; 3 proxy values computed")
    with open(tmp_path / "run" / "scores.csv", newline="") as stream:
        accuracy = {row["arch_str"]: round(float(row["accuracy"]), 3) for row in csv.DictReader(stream)}
    # cifar10-valid's x-valid after 12 epochs, mean over its 3 seeds (the official fixture)
    assert accuracy == {"8:8:8:8:8": 66.48, "8:8:8:16:32": 73.437, "8:8:40:32:40": 79.315}
    words = shlex.split(json.loads((tmp_path / "run" / "run.json").read_text())["command"])
    assert words[words.index("--dataset") :][:6] == ["--dataset", "cifar10", "--metric", "valid", "--hp", "12"]
    again = CliRunner().invoke(cli.main, words[1:])
    assert again.exit_code == 0 and "0 proxy values computed, 3 reused" in again.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--hp", "90"], "NATS-Bench TSS has no training setting hp='90'; it has 12, 200"),
        (["--dataset", "imagenet"], "Invalid value for '--dataset'"),
        (["--accuracy-column", "test_accuracy"], "accuracy_column is for CSV tables"),
    ],
)
def test_bench_nats_errors(shared_data, tmp_path, extra, message):
    images = str(write_images(tmp_path / "i.npz", n=16, shape=(3, 32, 32)))
    args = ["bench", "nb201", "-t", str(shared_data / TSS), "-i", images, "-p", "params", "-o", str(tmp_path / "o")]
    result = invoke(*args, *extra)
    assert result.exit_code != 0 and message in result.output
    assert not (tmp_path / "o").exists()


def test_nats_options_on_a_csv_table_are_refused(tmp_path):
    table, images = str(write_table(tmp_path / "t.csv")), str(write_images(tmp_path / "i.npz"))
    result = invoke(
        "bench", "nb201", "-t", table, "-i", images, "-p", "params", "-o", str(tmp_path / "o"), "--hp", "12"
    )
    assert result.exit_code == 1 and "hp applies to NATS-Bench directories" in result.output


def test_bench_images_take_a_cifar10_folder(tmp_path):
    write_cifar10(tmp_path / "cifar-10-batches-py", per_batch=4)
    table = str(write_table(tmp_path / "t.csv"))
    args = ["-t", table, "-i", str(tmp_path / "cifar-10-batches-py"), "-p", "params", "-n", "2"]
    result = invoke("bench", "nb201", *args, "-o", str(tmp_path / "o"), "--executor", "serial")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "o" / "run.json").read_text())
    assert config["images"]["available"] == 20 and config["images"]["normalize"] == "cifar10"
