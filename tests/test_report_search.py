"""near report on `near search` runs: the table is best.json, the sentence says what the run.json and the
trajectory say, the figure is the run's trajectory, the command repeats the search, several seeds give the
mean ± std of the picks, and a folder of the wrong kind (or of both kinds at once) is a clear error."""

from __future__ import annotations

import base64
import csv
import itertools
import json
import re
import shlex
import statistics
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import near.search as ns
from bench_data import md_table
from near import cli
from near.errors import DataError, InputError, OptionError
from near.report import load_search, write_report
from near.search.outputs import read_trajectory
from near.search.plots import trajectory_png
from test_report import ACCURACY, listing, write_run

SPACE = f"{Path(__file__).resolve().parent / 'search_space.py'}:Widths"
SMALL = {"max_archs": 8, "population": 4, "sample_size": 2, "num_classes": 2}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    """16 random 3×4×4 images, and a table of every network of the widths space: val = 50 + Σwidths/10 (what
    the search may query), test = 40 + Σwidths/12 (the truth it never sees)."""
    folder = tmp_path_factory.mktemp("report-search-data")
    rng = np.random.default_rng(0)
    images = folder / "images.npz"
    np.savez(images, images=rng.integers(0, 256, (16, 3, 4, 4), dtype=np.uint8), labels=np.arange(16) % 2)
    table = folder / "table.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch_str", "val_accuracy", "test_accuracy"])
        for arch in itertools.product((2, 4, 8, 16, 32, 64), repeat=4):
            writer.writerow(["-".join(map(str, arch)), 50 + sum(arch) / 10, 40 + sum(arch) / 12])
    return {"images": images, "table": table}


def search(data, out: Path, **settings) -> ns.SearchResult:
    return ns.search(SPACE, data["images"], settings.pop("proxies", "params"), out_dir=out, **{**SMALL, **settings})


@pytest.fixture(scope="module")
def few_shot(data, tmp_path_factory) -> tuple[Path, Path, Path]:
    """A few-shot search with a truth table and its report: (run folder, report.md, report.html)."""
    folder = tmp_path_factory.mktemp("report-search") / "few"
    search(data, folder, table=data["table"], query_column="val_accuracy", queries=4, truth_table=data["table"])
    return folder, *write_report(folder)


@pytest.fixture(scope="module")
def seeds(data, tmp_path_factory) -> list[Path]:
    """Three training-free searches (seeds 0–2) with a truth table."""
    root = tmp_path_factory.mktemp("report-search-seeds")
    for seed in range(3):
        search(data, root / f"seed{seed}", seed=seed, truth_table=data["table"])
    return [root / f"seed{seed}" for seed in range(3)]


def section(text: str, start: str, end: str | None = None) -> str:
    """The part of a Markdown report from the line ``start`` to the next ``end`` line (or its end)."""
    part = text[text.index(start) :]
    return part if end is None or end not in part[len(start) :] else part[: part.index(end, len(start))]


# ---------------------------------------------------------------------------------------------------
# one search


def test_best_table_is_best_json(few_shot):
    folder, markdown, _ = few_shot
    best = json.loads((folder / "best.json").read_text())
    header, rows = md_table(markdown.read_text(), "#")
    assert header == ["#", "architecture", "fitness", "params", "queried val_accuracy", "truth: test_accuracy"]
    assert list(rows) == [str(rank) for rank in range(1, len(best) + 1)]
    for rank, entry in enumerate(best, start=1):
        arch, fitness, params, queried, truth = rows[str(rank)]
        assert arch == entry["arch"]
        assert float(fitness) == pytest.approx(entry["fitness"], rel=1e-5)
        assert float(params) == pytest.approx(entry["scores"]["params"], rel=1e-5)
        assert float(truth) == pytest.approx(entry["truth"], rel=1e-5)
        if "accuracy" in entry:
            assert float(queried) == pytest.approx(entry["accuracy"], rel=1e-5)
        else:
            assert queried == "not queried"
    # the table's truth is the table's test column of the architecture, by hand
    widths = [int(w) for w in best[0]["arch"].split("-")]
    assert float(rows["1"][4]) == pytest.approx(40 + sum(widths) / 12, rel=1e-5)
    assert sum("accuracy" in entry for entry in best) == 4  # the 4 queried come first, by accuracy
    assert [entry["accuracy"] for entry in best[:4]] == sorted((entry["accuracy"] for entry in best[:4]), reverse=True)


def test_the_sentence_says_what_the_run_found(few_shot):
    folder, markdown, _ = few_shot
    run, best = json.loads((folder / "run.json").read_text()), json.loads((folder / "best.json").read_text())
    trajectory = read_trajectory(folder / "trajectory.csv")
    text = markdown.read_text()
    finding = text.split("\n\n")[1]
    zero_cost = max(row["scored"] for row in trajectory if row["queries"] == 0)
    assert zero_cost == 8 and run["scored"] > 8  # the few-shot phase scored neighbours on top of --max-archs
    assert (
        f"scored {run['scored']} architectures ({run['computed']} computed, {run['reused']} from the store, "
        f"{run['failed']} failed) by the params score, then spent 4 queries of val_accuracy from table.csv "
        f"(scoring {run['scored'] - 8} neighbours of the best-queried architecture on the way)"
    ) in finding
    assert "stopped after it had scored 8 architectures (budget: --max-archs 8)" in finding
    pick = f"The pick, {best[0]['arch']}, is the best queried architecture (val_accuracy {best[0]['accuracy']:.6g})"
    assert pick in finding
    assert f"its test_accuracy in table.csv is {best[0]['truth']:.6g}, a number the search never saw" in finding
    top = max(row["final_fitness"] for row in trajectory)
    first = next(row["scored"] for row in trajectory if row["final_fitness"] == top)
    assert f"first reached at architecture {first} of {run['scored']} " in finding


def test_the_figure_is_the_trajectory_and_is_referenced(few_shot):
    folder, markdown, html = few_shot
    figure = folder / "report_files" / "trajectory.png"
    assert listing(folder / "report_files") == ["trajectory.png"]
    assert "![" in markdown.read_text() and "](report_files/trajectory.png)" in markdown.read_text()
    assert figure.read_bytes() == trajectory_png(read_trajectory(folder / "trajectory.csv"))
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', html.read_text())
    assert [base64.b64decode(data) for data in embedded] == [figure.read_bytes()]
    assert "report_files/" not in html.read_text()  # self-contained
    assert "best queried accuracy against the queries" in markdown.read_text()


def test_the_folded_command_repeats_the_search(few_shot, tmp_path):
    folder, markdown, html = few_shot
    command = json.loads((folder / "run.json").read_text())["command"]
    text = markdown.read_text()
    settings = section(text, "<details>", "</details>")
    assert "How to reproduce" in settings and "| setting (run.json) | value |" in settings
    assert "| best |" not in settings  # best.json is the table above, not a setting
    assert text.rstrip().endswith("</details>") and html.read_text().count("<details>") == 1
    words = shlex.split(command)
    assert words[:2] == ["near", "search"]
    words[words.index("--out") + 1] = str(tmp_path / "again")
    again = CliRunner().invoke(cli.main, [*words[1:], "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["best"] == json.loads((folder / "best.json").read_text())


def test_training_free_search_has_no_query_column(data, tmp_path):
    folder = tmp_path / "free"
    result = search(data, folder, proxies="params,synflow", combine="log-rank")
    text = write_report(folder)[0].read_text()
    header, rows = md_table(text, "#")
    assert header == ["#", "architecture", "fitness", "params", "synflow"]
    assert [row[0] for row in rows.values()] == [entry["arch"] for entry in result.best]
    finding = text.split("\n\n")[1]
    assert "by the log-rank sum (AZ-NAS) of params, synflow over every scored architecture" in finding
    assert f"The pick, {result.best[0]['arch']}, has the highest fitness ({result.best[0]['fitness']:.6g})." in finding
    assert "queries" not in finding and "truth" not in finding


def test_a_search_from_python_with_a_space_object_has_no_command(data, tmp_path):
    folder = tmp_path / "object"
    ns.search(ns.load_space(SPACE), data["images"], "params", out_dir=folder, **SMALL)
    assert json.loads((folder / "run.json").read_text())["command"] is None
    text = write_report(folder)[0].read_text()
    assert "run.json has no command line: the search was run from Python with a space object" in text


# ---------------------------------------------------------------------------------------------------
# several searches


def test_several_seeds_make_one_report_with_mean_and_std(seeds, tmp_path):
    markdown, html = write_report(seeds, out=tmp_path / "all")
    text = markdown.read_text()
    picks = [json.loads((folder / "best.json").read_text())[0] for folder in seeds]
    header, rows = md_table(text, "run")
    assert header == ["run", "space", "proxies", "seed", "scored", "queries", "pick", "fitness", "queried", "truth"]
    for seed, pick in enumerate(picks):
        row = rows[f"seed{seed}"]
        assert row[:6] == ["test-widths", "params", str(seed), "8", "0", pick["arch"]]
        assert float(row[8]) == pytest.approx(pick["truth"], rel=1e-5)
    truths = [pick["truth"] for pick in picks]
    assert rows["mean ± std"][-2:] == ["—", f"{statistics.mean(truths):.2f} ± {statistics.stdev(truths):.2f} (3)"]
    # then each run's own part, its figure under its own name
    for index, folder in enumerate(seeds, start=1):
        part = section(text, f"## Run seed{index - 1}", "## Run ")
        _, best_rows = md_table(part, "#")
        best = json.loads((folder / "best.json").read_text())
        assert [row[0] for row in best_rows.values()] == [entry["arch"] for entry in best]
        assert f"](report_files/{index}-seed{index - 1}-trajectory.png)" in part
    assert listing(tmp_path / "all" / "report_files") == [f"{i}-seed{i - 1}-trajectory.png" for i in (1, 2, 3)]
    assert html.read_text().count("data:image/png;base64,") == 3


def test_several_searches_need_an_out_that_holds_no_run(seeds, tmp_path):
    before = listing(seeds[0])
    with pytest.raises(OptionError, match="needs an output folder"):
        write_report(seeds)
    with pytest.raises(OptionError, match=r"holds a search run \(its run.json\)"):
        write_report(seeds, out=seeds[0])
    with pytest.raises(OptionError, match=r"holds a search run \(its run.json\)"):
        write_report(seeds[1], out=seeds[0])  # a search's own report is never replaced by another's
    bench = write_run(tmp_path / "bench", {"oracle": 2 * ACCURACY})
    with pytest.raises(OptionError, match=r"holds a search run"):
        write_report(bench, out=seeds[0])
    assert listing(seeds[0]) == before


# ---------------------------------------------------------------------------------------------------
# bad input


def test_bench_and_search_runs_together_are_refused(seeds, tmp_path):
    bench = write_run(tmp_path / "bench", {"oracle": 2 * ACCURACY})
    with pytest.raises(InputError, match=r"benchmark runs and searches make different reports") as caught:
        write_report([bench, seeds[0]], out=tmp_path / "mixed")
    assert f"{bench} (bench)" in str(caught.value) and f"{seeds[0]} (search)" in str(caught.value)
    assert not (tmp_path / "mixed").exists()
    result = CliRunner().invoke(cli.main, ["report", str(seeds[0]), str(bench), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "benchmark runs and searches make different reports" in result.output


def test_a_folder_of_neither_kind_says_so(data, tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"neither a `near bench` run \(.*scores.csv: not found\) nor a `near search`"):
        write_report(tmp_path / "other")
    # a search stopped before it wrote its files: the store is there, the results are not
    folder = tmp_path / "stopped"
    search(data, folder)
    for name in ("run.json", "best.json", "trajectory.csv", "trajectory.png"):
        (folder / name).unlink()
    with pytest.raises(DataError, match="holds a results store but no results: run its command again"):
        write_report(folder)
    assert listing(tmp_path / "other") == ["notes.txt"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("best.json", "[]", r"best.json: expected a non-empty list"),
        ("best.json", "{oops", r"best.json: cannot be read as JSON"),
        ("best.json", '[{"arch": 3, "fitness": 1, "scores": {}}]', r"entry 1 is .*a string 'arch'"),
        ("best.json", '[{"arch": "a", "fitness": "high", "scores": {}}]', r"entry 1 is .*a number 'fitness'"),
        ("trajectory.csv", "scored,seconds\n1,0.5\n", r"trajectory.csv: no column\(s\) \['wall_seconds'"),
        ("run.json", '{"strategy": "evolution"}', r"neither a `near bench` run"),
    ],
)
def test_malformed_search_files(data, tmp_path, name, text, message):
    folder = tmp_path / "run"
    search(data, folder)
    (folder / name).write_text(text)
    before = listing(folder)
    with pytest.raises(DataError, match=message):
        write_report(folder)
    assert listing(folder) == before


def test_missing_search_file(data, tmp_path):
    folder = tmp_path / "run"
    search(data, folder)
    (folder / "trajectory.csv").unlink()
    with pytest.raises(DataError, match=r"trajectory.csv: not found; a finished `near search` writes it"):
        load_search(folder)


def test_cli_writes_the_search_report(seeds):
    result = CliRunner().invoke(cli.main, ["report", str(seeds[0])])
    assert result.exit_code == 0, result.output
    assert f"report: {seeds[0] / 'report.md'}" in result.output
    assert (seeds[0] / "report.html").is_file() and (seeds[0] / "report_files" / "trajectory.png").is_file()


def test_a_run_json_without_command_or_truth_column_still_reports(data, tmp_path):
    # run.json as near search wrote it before it recorded the command and the truth column
    folder = tmp_path / "older"
    search(data, folder, truth_table=data["table"])
    record = json.loads((folder / "run.json").read_text())
    del record["command"], record["truth_column"]
    (folder / "run.json").write_text(json.dumps(record))
    text = write_report(folder)[0].read_text()
    header, _ = md_table(text, "#")
    assert header[-1] == "truth"
    assert "run.json has no command line" in text and "did not record it" in text
