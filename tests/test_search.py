"""near.search: known optimum, determinism, resume and reuse, few-shot queries, spaces, bad input."""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import math
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import near.search as ns
from near import ensemble
from near.errors import ArchitectureError, DataError, OptionError
from near.search.fewshot import _Features, _predicted_best
from near.search.fitness import Archive
from near.search.spaces import MLPSpace, NATSSSSSpace, NB101Space, NB201Space, TableSubspace, within_table

HERE = Path(__file__).resolve().parent
SPACE = f"{HERE / 'search_space.py'}:Widths"


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """16 random 3×4×4 images with labels 0–1 (what the synthetic space's MLPs take)."""
    path = tmp_path_factory.mktemp("search") / "images.npz"
    rng = np.random.default_rng(0)
    np.savez(path, images=rng.integers(0, 256, (16, 3, 4, 4), dtype=np.uint8), labels=np.arange(16) % 2)
    return path


def run(images: Path, out: Path, **kwargs) -> ns.SearchResult:
    settings = {"max_archs": 120, "seed": 0, "num_classes": 2, **kwargs}
    return ns.search(SPACE, images, "params", out_dir=out, **settings)


def test_evolution_finds_the_known_optimum_random_search_does_not(images, tmp_path):
    # 120 of 1,296 networks: evolution climbs to the widest one; random sampling draws it with p ≈ 0.09
    found = [run(images, tmp_path / f"rea{seed}", seed=seed).best[0] for seed in range(3)]
    assert [entry["arch"] for entry in found] == ["64-64-64-64"] * 3
    # params of the widest: (48·64 + 64) + 3·(64·64 + 64) + (64·2 + 2)
    assert found[0]["scores"]["params"] == 48 * 64 + 64 + 3 * (64 * 64 + 64) + 64 * 2 + 2
    lucky = run(images, tmp_path / "random", strategy="random")
    assert lucky.best[0]["arch"] != "64-64-64-64"
    assert lucky.scored == 120


def test_same_seed_same_search_other_seed_reuses_scores(images, tmp_path):
    first, again = run(images, tmp_path / "a", seed=5), run(images, tmp_path / "b", seed=5)
    assert first.best == again.best
    assert [r["best_arch"] for r in first.trajectory] == [r["best_arch"] for r in again.trajectory]
    # another seed in the same directory computes only the networks the first search did not score
    other = run(images, tmp_path / "a", seed=6)
    assert other.reused > 0 and other.computed + other.reused == other.scored == 120
    rows = json.loads((tmp_path / "a" / "run.json").read_text())
    assert rows["seed"] == 6 and rows["reused"] == other.reused


def test_budget_counts_proxy_and_build_seconds(images, tmp_path):
    result = run(images, tmp_path / "cost", max_archs=10)
    with contextlib.closing(sqlite3.connect(tmp_path / "cost" / "results.sqlite")) as db:
        builds = db.execute("SELECT COUNT(*), MIN(seconds) FROM results WHERE proxy = '_build'").fetchone()
        total = db.execute("SELECT SUM(seconds) FROM results").fetchone()[0]
    assert builds[0] == 10 and builds[1] > 0
    assert result.trajectory[-1]["seconds"] == pytest.approx(total, abs=1e-5)
    # a budget in seconds stops at the first architecture that reaches it
    again = run(images, tmp_path / "cost", max_archs=None, budget=total / 2)
    assert again.computed == 0 and again.trajectory[-1]["seconds"] >= total / 2
    assert again.trajectory[-2]["seconds"] < total / 2


def test_interrupted_search_resumes_without_losing_anything(images, tmp_path):
    whole = run(images, tmp_path / "whole", seed=3)
    count = 0

    def stop(scored):
        nonlocal count
        count += 1
        if count == 50:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(images, tmp_path / "cut", seed=3, on_scored=stop)
    resumed = run(images, tmp_path / "cut", seed=3)
    assert (resumed.reused, resumed.computed) == (50, 70)
    assert resumed.best == whole.best
    trajectory = list(csv.DictReader((tmp_path / "cut" / "trajectory.csv").open()))
    assert len(trajectory) == 120 and trajectory[-1]["best_arch"] == whole.best[0]["arch"]
    final = [float(row["final_fitness"]) for row in trajectory]
    assert final == sorted(final) and final[-1] == whole.best[0]["fitness"]
    assert (tmp_path / "cut" / "trajectory.png").stat().st_size > 0


def test_sigkill_mid_search_loses_nothing(images, tmp_path):
    out = tmp_path / "killed"
    command = [
        sys.executable, "-m", "near", "search", SPACE, "-i", str(images), "-p", "params", "--max-archs", "300",
        "--seed", "7", "--num-classes", "2", "-o", str(out),
    ]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stored, deadline = 0, time.monotonic() + 240
    while stored < 20 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
        if (out / "results.sqlite").exists():
            with contextlib.closing(sqlite3.connect(out / "results.sqlite", timeout=30)) as db:
                with contextlib.suppress(sqlite3.OperationalError):  # tables not created yet
                    stored = db.execute("SELECT COUNT(DISTINCT arch) FROM results").fetchone()[0]
    process.kill()
    process.wait()
    assert 20 <= stored < 300, "the search was not killed mid-way"
    with contextlib.closing(sqlite3.connect(out / "results.sqlite")) as db:
        kept = db.execute("SELECT COUNT(DISTINCT arch) FROM results").fetchone()[0]
    resumed = run(images, out, seed=7, max_archs=300)
    assert resumed.reused == kept >= stored and resumed.computed == 300 - kept
    assert resumed.best == run(images, tmp_path / "whole", seed=7, max_archs=300).best


def test_few_shot_function_records_failures_and_goes_on(images, tmp_path):
    result = run(images, tmp_path / "fs", max_archs=40, evaluate=f"{HERE / 'search_space.py'}:evaluate", queries=12)
    assert result.queries == 12
    # after three answers, each query first scores 10 neighbours of the best-queried network (no query spent)
    assert 40 < result.scored <= 40 + 10 * (12 - 3)
    store = __import__("sqlite3").connect(tmp_path / "fs" / "results.sqlite")
    rows = store.execute("SELECT arch, value, reason, failed FROM results WHERE proxy = 'query:evaluate'").fetchall()
    assert len(rows) == 12
    for arch, value, reason, failed in rows:
        first = int(arch.split("-")[0])
        expected = sum(math.log2(int(w)) for w in arch.split("-"))
        if first == 2:
            assert failed and value is None and "out of memory" in reason
        elif first == 4:
            assert failed and value is None and "nan" in reason
        else:
            assert not failed and value == pytest.approx(expected)
    good = [value for _, value, _, failed in rows if not failed]
    assert result.best[0]["accuracy"] == pytest.approx(max(good))
    # queried ones come first in best, by accuracy
    accuracies = [entry["accuracy"] for entry in result.best if "accuracy" in entry]
    assert accuracies == sorted(accuracies, reverse=True)


def test_few_shot_table_queries_only_the_column(images, tmp_path):
    table = tmp_path / "table.csv"
    rng = random.Random(0)
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch_str", "val_accuracy", "test_accuracy"])
        for _ in range(300):
            arch = ns.load_space(SPACE).sample(rng)
            writer.writerow(["-".join(map(str, arch)), sum(arch), -sum(arch)])
    result = run(images, tmp_path / "t", table=table, query_column="val_accuracy", queries=5,
                 truth_table=table, truth_column="test_accuracy")  # fmt: skip
    assert result.queries == 5
    top = result.best[0]
    assert top["accuracy"] == sum(map(int, top["arch"].split("-")))
    assert top["truth"] == -top["accuracy"]


def test_few_shot_predictor_recovers_a_planted_signal_from_encode():
    # 60 networks, an uninformative proxy; the "accuracy" is the second layer's width, i.e. encode()[1]
    space, rng = ns.load_space(SPACE), random.Random(0)
    archive, archs = Archive(["params"]), {}
    while len(archs) < 60:
        arch = space.sample(rng)
        if (key := space.key(arch)) not in archs:
            archs[key] = arch
            archive.add(key, {"params": rng.random()})
    search = SimpleNamespace(archive=archive, space=space, archs=archs)
    accuracy = {key: float(arch[1]) for key, arch in archs.items()}
    keys = list(archs)
    for answered in (5, 9):  # among the first answers no second layer is 64 wide; the candidates hold several
        assert max(archs[key][1] for key in keys[:answered]) < 64
        pick = _predicted_best(_Features(search, "gbt"), keys[:answered], accuracy, keys[answered:], seed=0)
        assert archs[pick][1] == 64


def test_few_shot_predictors_share_the_warm_start(images, tmp_path):
    table = tmp_path / "table.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch_str", "val_accuracy"])
        for arch in itertools.product((2, 4, 8, 16, 32, 64), repeat=4):
            writer.writerow(["-".join(map(str, arch)), arch[1] - arch[0]])  # params alone points the wrong way
    found = {}
    for predictor in ns.PREDICTORS:
        out = tmp_path / predictor
        run(images, out, max_archs=40, table=table, query_column="val_accuracy", queries=8, predictor=predictor)
        found[predictor] = [row["best_queried"] for row in csv.DictReader((out / "trajectory.csv").open())]
        assert json.loads((out / "run.json").read_text())["predictor"] == predictor
    # the first three queries are the zero-cost top three, whoever predicts the rest
    assert found["gbt"][40:43] == found["ridge"][40:43]
    with pytest.raises(OptionError, match="unknown few-shot predictor 'forest'; expected one of gbt, ridge"):
        run(images, tmp_path / "bad", max_archs=5, table=table, query_column="val_accuracy", queries=2,
            predictor="forest")  # fmt: skip


def test_archive_fitness_is_near_ensemble_with_dead_networks_last():
    rows = (("x", 1.0, 30.0), ("y", 2.0, 10.0), ("z", 3.0, math.nan), ("w", 0.5, 20.0))
    archives = {how: Archive(["a", "b"], how) for how in ("mean-rank", "log-rank", "vote", "2*a+b")}
    for archive in archives.values():
        for key, a, b in rows:
            archive.add(key, {"a": a, "b": b})
    # ranks among the scored (z has no b): a: w 1/4 x 2/4 y 3/4 z 4/4; b: y 1/3 w 2/3 x 3/3
    mean = archives["mean-rank"]
    assert mean.fitness("x") == pytest.approx((2 / 4 + 1) / 2)
    assert mean.fitness("y") == pytest.approx((3 / 4 + 1 / 3) / 2)
    assert mean.fitness("z") == -math.inf  # best by a, but dead by b: never above a scored network
    assert mean.best() == ["x", "y", "w", "z"]
    assert archives["log-rank"].fitness("y") == pytest.approx(math.log(3 / 4) + math.log(1 / 3))
    assert archives["2*a+b"].fitness("w") == pytest.approx(2 / 4 + 2 / 3)
    # the running vote equals near.ensemble.vote over the complete rows: x beats w 2-0 and ties y 1-1, y ties w
    vote = archives["vote"]
    assert [vote.fitness(k) for k in "xyw"] == [1.5, 1.0, 0.5] and vote.fitness("z") == -math.inf
    assert ensemble.vote({"a": [1.0, 2.0, 0.5], "b": [30.0, 10.0, 20.0]}).tolist() == [1.5, 1.0, 0.5]
    assert Archive(["a"]).fixed and not Archive(["a"], "3*a").fixed


def test_archive_refuses_a_combination_it_cannot_make():
    with pytest.raises(OptionError, match="unknown combination 'median'"):
        Archive(["a", "b"], "median")
    with pytest.raises(OptionError, match="names near, params but the search scores near, synflow"):
        Archive(["near", "synflow"], "near+params")
    assert Archive(["a", "b"], "mean_rank").combine == "mean-rank"


def test_benchmark_spaces_mutate_one_thing():
    rng = random.Random(1)
    nb201 = NB201Space()
    for _ in range(20):
        arch = nb201.sample(rng)
        child = nb201.mutate(arch, rng)
        assert sum(a != b for a, b in zip(nb201.ops(arch), nb201.ops(child))) == 1
        assert sum(nb201.encode(child)) == 6 and len(nb201.encode(child)) == 30
    sss = NATSSSSSpace()
    arch = sss.sample(rng)
    assert sum(a != b for a, b in zip(arch.split(":"), sss.mutate(arch, rng).split(":"))) == 1
    nb101 = NB101Space()
    cell = nb101.sample(rng)
    child = nb101.mutate(cell, rng)
    assert nb101.key(child) != nb101.key(cell)
    assert child.num_edges <= 9 and len(nb101.encode(child)) == 21 + 15


def test_mlp_space_builds_what_the_key_says():
    space = MLPSpace(input_shape=(1, 4, 4), depths=(2,), widths=(8, 16), activations=("gelu", "tanh"))
    arch = space.sample(random.Random(0))
    model = space.build(arch, num_classes=3)
    widths, activation, init = arch
    assert space.key(arch) == f"{widths[0]}-{widths[1]}/{activation}/{init}"
    linear = [m for m in model if hasattr(m, "out_features")]
    assert [m.out_features for m in linear] == [*widths, 3] and linear[0].in_features == 16
    assert type(model[2]).__name__.lower() == activation
    for _ in range(10):
        arch = space.mutate(arch, random.Random(_))
        assert len(arch[0]) == 2


def test_near_in_the_mlp_space_scores_each_networks_own_initialisation(tmp_path):
    """The space's init is part of the architecture: NEAR re-draws with it, not with PyTorch's default."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 1, 4, 4), dtype=np.uint8)
    np.savez(tmp_path / "grey.npz", images=images, labels=np.arange(64) % 3)
    scores = {}
    for init in ("uniform", "kaiming_uniform"):
        space = MLPSpace(input_shape=(1, 4, 4), depths=(2,), widths=(32,), activations=("tanh",), inits=(init,))
        result = ns.search(space, tmp_path / "grey.npz", "near", out_dir=tmp_path / init, max_archs=1, population=1,
                           num_images=64, normalize="none", repetitions=2)  # fmt: skip
        scores[init] = result.best[0]["scores"]["near"]
    # U(0, 1) weights on [0, 1] pixels saturate every tanh: rank about 1 per layer, against ~20 for Kaiming's
    assert scores["uniform"] < 0.3 * scores["kaiming_uniform"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"budget": 0, "max_archs": None}, "--budget must be a positive number of seconds, got 0"),
        ({"max_archs": 0}, "--max-archs must be a positive integer, got 0"),
        ({"max_archs": None}, "give a budget"),
        ({"queries": 3}, "need --table"),
        ({"table": "x.csv", "queries": 3}, "--table needs --query-column"),
        ({"evaluate": "f.py:g"}, "needs --queries"),
        ({"strategy": "annealing"}, "unknown strategy 'annealing'"),
        ({"population": 3, "sample_size": 4}, "sample_size (4) cannot exceed population (3)"),
    ],
)
def test_bad_options_are_clear(images, tmp_path, settings, message):
    with pytest.raises(OptionError, match=re.escape(message)):
        run(images, tmp_path / "bad", **settings)
    assert not (tmp_path / "bad" / "results.sqlite").exists()


def test_unlabelled_images_refused_for_a_labelled_proxy(tmp_path):
    path = tmp_path / "unlabelled.npz"
    np.savez(path, images=np.zeros((8, 3, 4, 4), dtype=np.uint8))
    with pytest.raises(DataError, match="has no labels, but snip need them"):
        ns.search(SPACE, path, "snip", out_dir=tmp_path / "o", max_archs=3, num_classes=2)
    assert not (tmp_path / "o").exists()


def test_broken_space_files_are_clear(images, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\nclass Space:\n    name = 'x'\n    def sample(self, rng)\n")
    with pytest.raises(ArchitectureError, match=r"importing .*broken.py failed: SyntaxError"):
        ns.load_space(f"{broken}:Space")
    raising = tmp_path / "raising.py"
    raising.write_text("raise ImportError('no module named tensorflow')\n")
    with pytest.raises(ArchitectureError, match="ImportError: no module named tensorflow"):
        ns.load_space(f"{raising}:Space")
    with pytest.raises(ArchitectureError, match="has no 'Missing'; it defines BadSample, NoMutate, Widths"):
        ns.load_space(f"{HERE / 'search_space.py'}:Missing")
    with pytest.raises(ArchitectureError, match="no method mutate"):
        ns.load_space(f"{HERE / 'search_space.py'}:NoMutate")
    with pytest.raises(ArchitectureError, match="not found"):
        ns.load_space(f"{tmp_path / 'nowhere.py'}:Space")
    with pytest.raises(ArchitectureError, match="unknown search space 'nb999'"):
        ns.load_space("nb999")
    with pytest.raises(ArchitectureError, match="sample failed: RuntimeError: no architectures today"):
        ns.search(f"{HERE / 'search_space.py'}:BadSample", images, "params", out_dir=tmp_path / "o", max_archs=3,
                  num_classes=2)  # fmt: skip


def test_nb201_few_shot_reports_the_tables_values(shared_data, tmp_path):
    nb201 = shared_data / "nb201"
    result = ns.search(
        "nb201", shared_data / "images" / "cifar10_960.npz", "params", out_dir=tmp_path / "nb201", max_archs=8,
        seed=2, num_images=16, table=nb201 / "nb201_cifar10_valid.csv", query_column="val_accuracy", queries=3,
        truth_table=nb201 / "nb201_cifar10.csv",
    )  # fmt: skip
    valid = {
        row["arch_str"]: float(row["val_accuracy"])
        for row in csv.DictReader((nb201 / "nb201_cifar10_valid.csv").open())
    }
    test = {
        row["arch_str"]: float(row["test_accuracy"]) for row in csv.DictReader((nb201 / "nb201_cifar10.csv").open())
    }
    queried = [entry for entry in result.best if "accuracy" in entry]
    assert len(queried) == result.queries == 3
    for entry in result.best:
        assert entry["truth"] == test[entry["arch"]]
        if "accuracy" in entry:
            assert entry["accuracy"] == valid[entry["arch"]]
    assert queried[0]["accuracy"] == max(valid[e["arch"]] for e in queried)
    # the warm start queries the archive's highest-params cells first: the 3 queried are the 3 largest
    params = sorted((e["scores"]["params"] for e in result.best), reverse=True)
    assert sorted((e["scores"]["params"] for e in queried), reverse=True) == params[:3]


def test_table_subspace_stays_in_the_table():
    base = NB201Space()
    rng = random.Random(3)
    cells = {base.key(arch): arch for arch in (base.sample(rng) for _ in range(12))}
    space = TableSubspace(base, cells)
    arch = space.sample(rng)
    for _ in range(30):
        child = space.mutate(arch, rng)
        assert base.key(child) in cells and base.key(child) != base.key(arch)
        arch = child
    with pytest.raises(OptionError, match="benchmark spaces"):
        within_table(ns.load_space(SPACE), "x.csv")


def test_nb101_within_its_500_row_table(shared_data, tmp_path):
    table = shared_data / "nb101" / "nb101_500.csv"
    result = ns.search(
        "nb101", shared_data / "images" / "cifar10_960.npz", "params", out_dir=tmp_path / "nb101", max_archs=5,
        seed=0, num_images=16, table=table, query_column="val_accuracy", queries=2, within=True,
    )  # fmt: skip
    from near.bench.tables import read_table

    accuracy = {}
    for row in read_table(table, "nb101", "val_accuracy").rows:
        accuracy.setdefault(row.arch_str, row.accuracy)
    assert all(entry["arch"] in accuracy for entry in result.best) and result.scored == 5
    queried = [entry for entry in result.best if "accuracy" in entry]
    assert len(queried) == 2 and all(entry["accuracy"] == accuracy[entry["arch"]] for entry in queried)
    with pytest.raises(OptionError, match="give --table"):
        ns.search("nb101", shared_data / "images" / "cifar10_960.npz", "params", out_dir=tmp_path / "x",
                  max_archs=5, within=True)  # fmt: skip
    # without queries the search stays training-free, its architectures still the table's
    free = ns.search(
        "nb101", shared_data / "images" / "cifar10_960.npz", "params", out_dir=tmp_path / "nb101", max_archs=5,
        seed=1, num_images=16, table=table, within=True,
    )  # fmt: skip
    assert free.queries == 0 and all("accuracy" not in entry and entry["arch"] in accuracy for entry in free.best)
    with pytest.raises(OptionError, match="--table needs --query-column"):
        ns.search("nb101", shared_data / "images" / "cifar10_960.npz", "params", out_dir=tmp_path / "y",
                  max_archs=5, table=table, queries=2, within=True)  # fmt: skip
