"""`near search`: the JSON it prints equals the API's result, and bad input is a message, not a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import near.search as ns
from near.cli import main

SPACE = f"{Path(__file__).resolve().parent / 'search_space.py'}:Widths"


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli-search") / "images.npz"
    rng = np.random.default_rng(0)
    np.savez(path, images=rng.integers(0, 256, (16, 3, 4, 4), dtype=np.uint8), labels=np.arange(16) % 2)
    return path


def test_json_is_the_api_result(images, tmp_path):
    args = [SPACE, "--images", str(images), "--proxies", "params", "--max-archs", "120", "--seed", "0"]
    result = CliRunner().invoke(main, ["search", *args, "--out", str(tmp_path / "cli"), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    api = ns.search(SPACE, images, "params", out_dir=tmp_path / "api", max_archs=120, seed=0)
    assert printed["best"] == api.best and printed["best"][0]["arch"] == "64-64-64-64"
    assert printed["scored"] == 120 and printed["computed"] == 120
    assert json.loads((tmp_path / "cli" / "best.json").read_text()) == api.best


def test_weighted_combine_is_an_ensemble_of_the_proxies(images, tmp_path):
    # a weighted sum of one proxy's ranks orders as the proxy does: the same search, the fitness a rank in (0, 1]
    args = [SPACE, "-i", str(images), "-p", "params", "--max-archs", "60", "--json"]
    plain = CliRunner().invoke(main, ["search", *args, "-o", str(tmp_path / "plain")])
    weighted = CliRunner().invoke(main, ["search", *args, "--combine", "2*params", "-o", str(tmp_path / "w")])
    assert weighted.exit_code == 0, weighted.output
    plain_best, weighted_best = json.loads(plain.stdout)["best"], json.loads(weighted.stdout)["best"]
    assert [e["arch"] for e in weighted_best] == [e["arch"] for e in plain_best]
    assert weighted_best[0]["fitness"] == 2.0  # 2 × the top normalised rank, 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--budget", "0"], "--budget must be a positive number of seconds, got 0.0"),
        (["--max-archs", "5", "--queries", "3"], "--queries and --query-column need --table"),
        (["--max-archs", "5", "--proxies", "nope"], "unknown proxy"),  # the last --proxies counts
        (["--max-archs", "5", "--combine", "near+params"], "names near, params but the search scores params"),
        (["--max-archs", "5", "--combine", "median"], "unknown combination 'median'"),
    ],
)
def test_bad_input_is_a_message(images, tmp_path, extra, message):
    args = ["search", SPACE, "--images", str(images), "--proxies", "params", "--out", str(tmp_path / "o"), *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_broken_space_file(images, tmp_path):
    broken = tmp_path / "space.py"
    broken.write_text("def oops(:\n")
    result = CliRunner().invoke(
        main, ["search", f"{broken}:S", "-i", str(images), "-p", "params", "--max-archs", "3", "-o", str(tmp_path)]
    )
    assert result.exit_code == 1 and f"importing {broken} failed: SyntaxError" in result.output


@pytest.mark.parametrize(
    "classes, normalize, size", [(100, "cifar100", 32), (120, "imagenet16-120", 16)], ids=["cifar100", "in16-120"]
)
def test_the_nb201_commands_run_unchanged_on_cifar100_and_imagenet16_tables(tmp_path, classes, normalize, size):
    """Issue 16: other NB201 datasets are other tables of the same layout, --num-classes and --normalize."""
    from bench_data import NB201_ROWS, write_images, write_table

    images = write_images(tmp_path / "images.npz", n=16, shape=(3, size, size), classes=classes)
    valid = write_table(tmp_path / "valid.csv", [(i, a, 50 + k) for k, (i, a, _) in enumerate(NB201_ROWS)],
                        header="index,arch_str,val_accuracy")  # fmt: skip
    test = write_table(tmp_path / "test.csv", [(i, a, 60 + k) for k, (i, a, _) in enumerate(NB201_ROWS)])
    args = ["search", "nb201", "-i", str(images), "-p", "params", "--num-images", "16", "--max-archs", "6",
            "--population", "3", "--within-table", "-t", str(valid), "--query-column", "val_accuracy", "-q", "3",
            "--truth-table", str(test), "--num-classes", str(classes), "--normalize", normalize,
            "-o", str(tmp_path / "run"), "--json"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["queries"] == 3 and printed["scored"] == 6
    queried = [entry for entry in printed["best"] if "accuracy" in entry]
    assert len(queried) == 3 and all(entry["truth"] == entry["accuracy"] + 10 for entry in queried)
    assert queried[0]["accuracy"] == max(entry["accuracy"] for entry in queried)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["num_classes"] == classes and run["normalize"] == normalize
    # params counts the classifier: a cell of this table scored with `classes` outputs
    from near import spaces

    model = spaces.get("nb201").build(queried[0]["arch"], num_classes=classes)
    assert queried[0]["scores"]["params"] == sum(p.numel() for p in model.parameters())
