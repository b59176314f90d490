"""`near bench`: what it prints, that run.json's command repeats the run, and how bad input fails."""

from __future__ import annotations

import json
import shlex

import pytest
from click.testing import CliRunner

import near.proxies
from bench_data import NB101_HEADER, NB101_SHARED_ROWS, write_images, write_table
from near import cli
from near.bench.executors import cpu_count


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    return str(write_table(folder / "table.csv")), str(write_images(folder / "images.npz"))


def invoke(*args: str):
    return CliRunner().invoke(cli.main, ["bench", *args])


def test_bench_prints_the_correlations_and_its_command_repeats_the_run(files, tmp_path):
    table, images = files
    out = str(tmp_path / "run")
    result = invoke("nb201", "-t", table, "-i", images, "-p", "params,nwot", "-n", "4", "-s", "3", "-o", out)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("nb201: 4 architectures, seed 3; 8 proxy values computed, 0 reused, ")
    assert lines[1].split() == ["proxy", "spearman", "kendall", "pairwise", "top10%", "NaN"]
    assert [line.split()[0] for line in lines[2:4]] == ["params", "nwot"]
    names = ("scores.csv", "correlations.json", "run.json", "report.md", "report.html")
    assert lines[-5:] == [f"wrote {out}/{name}" for name in names]
    saved = json.loads((tmp_path / "run/correlations.json").read_text())
    assert lines[2].split()[1] == f"{saved['proxies']['params']['spearman']:.3f}"

    scores = (tmp_path / "run/scores.csv").read_bytes()
    command = json.loads((tmp_path / "run/run.json").read_text())["command"]
    words = shlex.split(command)
    assert words[:3] == ["near", "bench", "nb201"] and "--num-images" in words and "--normalize" in words
    again = CliRunner().invoke(cli.main, words[1:])
    assert again.exit_code == 0 and "0 proxy values computed, 8 reused" in again.stdout
    assert (tmp_path / "run/scores.csv").read_bytes() == scores


def test_proxy_options_and_all(files, tmp_path):
    table, images = files
    result = invoke(
        "nb201",
        "-t",
        table,
        "-i",
        images,
        "-p",
        "nwot",
        "-n",
        "2",
        "-o",
        str(tmp_path),
        "--option",
        "nwot.batch_size=8",
        "--option",
        "nwot.hooks=relu",
    )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["options"]["nwot"] == {"batch_size": 8, "hooks": "relu"}
    assert "--option nwot.batch_size=8 --option nwot.hooks=relu" in record["command"]
    assert cli.bench._proxy_list(None, None, "all") == near.proxies.available()


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["nb202"], 2, "Invalid value for 'SPACE': unknown search space 'nb202'; expected one of nats-sss, nb101"),
        (["nb201", "-p", "near,snap"], 2, "unknown proxy 'snap'; choose one of"),
        (["nb201", "-p", "near,near"], 2, "proxies given twice: near"),
        (["nb201", "--option", "nwot:batch_size=8"], 2, "is not PROXY.OPTION=VALUE"),
        (["nb201", "--option", "zen.repeats=2"], 1, "options given for proxies that are not run: zen"),
        (["nb201", "--option", "params.x=1"], 1, "proxy 'params' has no option 'x'; it accepts none"),
        (["nb201", "-n", "7"], 1, "cannot sample 7 architectures from"),
        (["nb101"], 1, "is not JSON {'matrix': …, 'ops': …}"),
        (
            ["nb201", "--accuracy-column", "acc"],
            1,
            "has no column 'acc'; its columns are index, arch_str, test_accuracy",
        ),
        (["nb201", "--num-classes", "2"], 1, "more than the 2 classes of the classifier; give --num-classes"),
        (["nb201", "--num-images", "25"], 1, "holds 24 images; cannot give 25 to each architecture"),
    ],
)
def test_bad_input_fails_with_a_clear_message_and_writes_nothing(files, tmp_path, args, code, message):
    table, images = files
    space, *rest = args
    defaults = {"-p": "params", "-n": "2"}
    for flag, value in defaults.items():
        if flag not in rest:
            rest += [flag, value]
    result = invoke(space, "-t", table, "-i", images, "-o", str(tmp_path / "out"), *rest)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_images_that_do_not_fit_and_a_conflicting_directory(tmp_path, files):
    table, images = files
    grey = str(write_images(tmp_path / "grey.npz", shape=(1, 8, 8)))
    result = invoke("nb201", "-t", table, "-i", grey, "-p", "params", "-o", str(tmp_path / "out"))
    assert result.exit_code == 1 and "has 1-channel images; nb201 networks take 3-channel" in result.output
    assert invoke("nb201", "-t", table, "-i", images, "-p", "params", "-n", "1", "-o", str(tmp_path)).exit_code == 0
    result = invoke(
        "nb201", "-t", table, "-i", images, "-p", "params", "-n", "1", "-o", str(tmp_path), "--num-images", "10"
    )
    assert result.exit_code == 1 and "holds results of a different setup" in result.output
    assert "num_images: stored 24, now 10" in result.output


def test_a_table_with_shared_architectures_is_warned_about_before_the_run(files, tmp_path):
    table = str(write_table(tmp_path / "nb101.csv", NB101_SHARED_ROWS, NB101_HEADER))
    result = invoke("nb101", "-t", table, "-i", files[1], "-p", "params", "-o", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"Warning: {table}: of the 3 rows, 1 prunes to the bare input→output cell")
    assert "2 share an architecture with other rows (2 distinct in all)" in result.stderr.splitlines()[0]


def test_failed_architectures_are_reported_and_retried_on_request(files, tmp_path):
    table, images = files
    words = ["nb201", "-t", table, "-i", images, "-p", "params", "-n", "1", "-o", str(tmp_path), "--workers", "1"]
    result = invoke(*words, "--time-limit", "0.001")  # too short for any architecture
    assert result.exit_code == 0, result.output
    assert "1 architecture(s) recorded as failed (worker crashed, time limit or error;" in result.stderr
    assert "--retry-failed scores them again" in result.stderr
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["failed"] == 1
    assert record["executor"] == {"name": "processes", "workers": 1, "threads": cpu_count(), "time_limit": 0.001}
    retried = invoke(*words, "--retry-failed")
    assert retried.exit_code == 0 and "1 proxy values computed, 0 reused" in retried.stdout
    assert "failed" not in retried.stderr


@pytest.mark.parametrize(
    ("limit", "code", "message"),
    [
        ("inf", 2, "Invalid value for '--time-limit': inf is not in the range 0<x<=31536000"),
        ("1e300", 2, "Invalid value for '--time-limit': 1e+300 is not in the range 0<x<=31536000"),
        ("0", 2, "Invalid value for '--time-limit'"),
        ("nan", 1, "the time limit must be a positive number of seconds up to 3.1536e+07 (a year), got nan"),
    ],
)
def test_a_time_limit_that_cannot_be_waited_for_is_refused_before_it_starts(files, tmp_path, limit, code, message):
    table, images = files
    out = str(tmp_path / "run")
    result = invoke("nb201", "-t", table, "-i", images, "-p", "params", "-o", out, "--time-limit", limit)
    assert result.exit_code == code and "Traceback" not in result.output
    assert message in result.output, result.output
    assert not (tmp_path / "run").exists()
