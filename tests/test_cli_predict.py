"""`near predict`: the JSON equals near.predict on the same run; bad input exits 1 with a message saying what to do."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from near import spaces
from near.cli import main
from near.predict import ProxyPredictor, features, learning_curve
from near.report import load_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """80 NB201 cells, accuracy driven by 'good' (+ NaN for a few), 'junk' all noise, 'dead' never scored."""
    folder = tmp_path_factory.mktemp("run")
    archs = spaces.get("nb201").sample(80, seed=3)
    rng = np.random.default_rng(0)
    accuracy = rng.uniform(40, 95, size=80)
    good = accuracy + rng.normal(scale=3, size=80)
    good[[5, 17]] = np.nan
    lines = ["index,arch_str,accuracy,good,junk,dead"]
    for i, arch in enumerate(archs):
        cell = "" if np.isnan(good[i]) else repr(float(good[i]))
        lines.append(f"{i},{arch},{float(accuracy[i])!r},{cell},{float(rng.normal())!r},")
    (folder / "scores.csv").write_text("\n".join(lines) + "\n")
    (folder / "run.json").write_text(json.dumps({"space": "nb201"}))
    return folder


def invoke(*args: str):
    return CliRunner().invoke(main, ["predict", *args])


def test_json_equals_the_api(run_dir):
    result = invoke(str(run_dir), "--train", "40", "--seeds", "3", "--proxies", "good,junk", "--encoding", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    run = load_run(run_dir)
    archs = [line.split(",")[1] for line in (run_dir / "scores.csv").read_text().splitlines()[1:]]
    X, names = features(run.scores, ["good", "junk"], archs=archs, space="nb201")
    (point,) = learning_curve(X, run.accuracy, [40], 3, ProxyPredictor(random_state=0))
    assert out["spearman"] == pytest.approx(point.spearman) and out["kendall"] == pytest.approx(point.kendall)
    assert out["top5"] == pytest.approx(point.top5) and out["spearman_std"] == pytest.approx(point.spearman_std)
    assert (out["train"], out["test"], out["seeds"], out["n"]) == (40, 40, 3, 80)
    assert out["features"] == names and len(names) == 2 + 30
    assert out["spearman"] > 0.8  # 'good' carries the accuracy


def test_plain_output(run_dir):
    result = invoke(str(run_dir), "--train", "32", "--seeds", "1", "--proxies", "good")
    assert result.exit_code == 0, result.output
    assert "train 32, test 48, 1 seeds" in result.output and "Spearman rho:" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--train", "70", "--proxies", "good"], "give at most 60 training architectures"),
        (["--train", "32", "--proxies", "good,zen"], "zen not in"),
        (["--train", "32"], "dead: no architecture"),
        (["--train", "32", "--proxies", "good", "--no-proxies"], "no features"),
    ],
)
def test_bad_input_exits_1_with_a_message(run_dir, args, message):
    result = invoke(str(run_dir), *args)
    assert result.exit_code == 1 and message in result.output, result.output


def test_run_without_accuracies_or_space(tmp_path):
    (tmp_path / "scores.csv").write_text("index,arch_str,near\n0,a,1.0\n1,b,2.0\n")
    result = invoke(str(tmp_path), "--train", "2")
    assert result.exit_code == 1 and "no 'accuracy' column" in result.output
    folder = tmp_path / "nospace"
    folder.mkdir()
    rows = "".join(f"{i},a{i},{50 + i}.0,{i}.5\n" for i in range(30))
    (folder / "scores.csv").write_text("index,arch_str,accuracy,near\n" + rows)
    result = invoke(str(folder), "--train", "8", "--encoding")
    assert result.exit_code == 1 and "no run.json naming the search space" in result.output
