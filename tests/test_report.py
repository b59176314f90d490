"""near.report: the numbers in the report equal near.metrics on scores.csv, the HTML is self-contained,
the combined report ranks proxies as computed by hand, and bad input fails clearly without leaving files."""

from __future__ import annotations

import base64
import csv
import json
import math
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bench_data import md_table
from near import cli, metrics
from near.errors import DataError, InputError, OptionError
from near.report import load_run, write_report
from near.report import write as report_write
from near.report.parts import shell_lines

ACCURACY = np.array([71.0, 55.5, 90.2, 60.0, 83.1, 47.9, 66.6, 88.8, 52.4, 79.0, 93.5, 58.7])
NOISY = [3.0, 1.0, 7.5, math.nan, 6.0, 0.5, math.nan, 9.0, 2.5, 4.0, math.nan, 2.0]  # 3 NaN, ρ < 1
NAN = math.nan


def write_run(folder: Path, columns: dict[str, list[float]], accuracy=ACCURACY, settings: dict | None = None) -> Path:
    """A run folder as `near bench` writes it: index, arch_str, accuracy, then the given columns."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "scores.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["index", "arch_str", "accuracy", *columns])
        for i, acc in enumerate(accuracy):
            cells = ["" if math.isnan(c[i]) else repr(float(c[i])) for c in columns.values()]
            writer.writerow([i, f"|nor_conv_3x3~0|+|skip_connect~{i % 2}|", acc, *cells])
    if settings is not None:
        (folder / "run.json").write_text(json.dumps(settings))
    return folder


COLUMNS = {"oracle": 2 * ACCURACY, "reversed": -ACCURACY, "noisy": NOISY}


@pytest.fixture
def run_dir(tmp_path) -> Path:
    return write_run(tmp_path / "c10", COLUMNS)


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> tuple[Path, Path, Path]:
    """One report with real figures, shared by the tests that only read it: (run folder, report.md, report.html)."""
    folder = write_run(tmp_path_factory.mktemp("single") / "c10", COLUMNS)
    return folder, *write_report(folder)


@pytest.fixture
def stub_figures(monkeypatch):
    """Figures replaced by a constant PNG, for tests about tables and files (drawing costs ~0.2 s a report)."""
    png = b"\x89PNG\r\n\x1a\nstub"
    for name in ("correlation_heatmap", "score_scatter", "performance_profile_plot"):
        monkeypatch.setattr(f"near.report.figures.{name}", lambda *args, **kwargs: png)
    monkeypatch.setattr("near.report.analysis.worst_figure", lambda *args, **kwargs: png)


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# ---------------------------------------------------------------------------------------------------
# one run


def test_single_report_numbers_equal_metrics(single):
    run_dir, md_path, html_path = single
    assert (md_path, html_path) == (run_dir / "report.md", run_dir / "report.html")
    header, rows = md_table(md_path.read_text(), "proxy")
    assert header[:4] == ["proxy", "Spearman ρ", "Kendall τ", "pairwise"]
    assert list(rows) == ["oracle", "noisy", "reversed"]  # best ρ first
    assert rows["oracle"] == ["1.000"] * 7 + ["12", "0"]
    assert rows["reversed"][:3] == ["-1.000", "-1.000", "0.000"]
    run = load_run(run_dir)
    for name, cells in rows.items():
        expected = metrics.correlations(run.scores[name], ACCURACY, top_k=(10,), top_fractions=(0.01, 0.05, 0.1))
        keys = ["spearman", "kendall", "pairwise", "top10", "top1%", "top5%", "top10%"]
        shown = ["—" if math.isnan(expected[k]) else f"{expected[k]:.3f}" for k in keys]
        assert cells == shown + [str(expected["n"]), str(expected["n_nan"])]
    assert rows["noisy"][3] == "—" and rows["noisy"][-2:] == ["9", "3"]  # top-10 of 9 scored: undefined
    assert 0 < float(rows["noisy"][0]) < 1


def test_missing_scores_counted_and_no_sentinel(single):
    text = single[1].read_text()
    assert "noisy: 3 of 12 (25.0%)" in text
    assert re.search(r"\bnan\b|inf\b|e\+08|100000000", text) is None


def test_undefined_values_are_a_dash_with_an_explanation(tmp_path, stub_figures):
    folder = write_run(
        tmp_path / "small",
        {"failed": [NAN] * 5, "constant": [1.0] * 5, "fine": [1.0, 2.0, 3.0, 4.0, 5.0]},
        accuracy=ACCURACY[:5],
    )
    text = write_report(folder)[0].read_text()
    _, rows = md_table(text, "proxy")
    assert rows["failed"] == ["—"] * 7 + ["0", "5"]
    assert rows["constant"][:3] == ["—", "—", "0.500"]  # a constant proxy orders pairs at chance
    assert rows["fine"][3] == "—"  # top-10 of 5 architectures
    assert list(rows)[-2:] == ["failed", "constant"] or list(rows)[-2:] == ["constant", "failed"]
    assert "— = undefined" in text
    assert "failed: 5 of 5 (100.0%)" in text


def test_infinite_scores_are_values(tmp_path, stub_figures):
    scores = list(ACCURACY)
    scores[int(np.argmin(ACCURACY))] = -math.inf  # a dead network: log-score −inf, ranked lowest
    _, rows = md_table(write_report(write_run(tmp_path / "r", {"logscore": scores}))[0].read_text(), "proxy")
    assert rows["logscore"][:2] == ["1.000", "1.000"]


def test_html_is_self_contained_and_says_the_same(single):
    run_dir, md_path, html_path = single
    page = html_path.read_text()
    assert "<script" not in page.lower() and 'src="http' not in page and "href=" not in page
    sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
    links = re.findall(r"!\[[^\]]*\]\((report_files/[^)]+)\)", md_path.read_text())
    assert len(sources) == len(links) == 3  # proxy-proxy heatmap, score-vs-accuracy plots, worst predictions
    for source, link in zip(sources, links):
        assert source.startswith("data:image/png;base64,")
        png = base64.b64decode(source.split(",", 1)[1])
        assert png.startswith(b"\x89PNG") and png == (run_dir / link).read_bytes()
    _, rows = md_table(md_path.read_text(), "proxy")
    for name, cells in rows.items():
        assert f"<tr><td>{name}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>" in page


def test_reproduce_section_from_run_json(tmp_path, stub_figures):
    command = "near bench nb201 --table t.csv --images i.npz --proxies oracle --sample 12 --seed 3 --out c10"
    settings = {"command": command, "space": "nb201", "seed": 3, "proxies": ["oracle"], "extra": {"k": 1}}
    folder = write_run(tmp_path / "c10", {"oracle": ACCURACY}, settings=settings)
    md_path, html_path = write_report(folder)
    text, page = md_path.read_text(), html_path.read_text()
    shown = shell_lines(command)  # continued lines, so that the command box never scrolls sideways
    assert " \\\n    --" in shown and max(map(len, shown.splitlines())) <= 90
    assert shlex.split(shown.replace("\\\n", "")) == shlex.split(command)
    assert f"```\n{shown}\n```" in text and f"<pre><code>{shown}</code></pre>" in page
    _, rows = md_table(text, "setting (run.json)")
    assert rows == {"space": ["nb201"], "seed": ["3"], "proxies": ['["oracle"]'], "extra": ['{"k": 1}']}
    # the settings come last, folded away: the results lead
    for document in (text, page):
        folded = document[document.index("<details>") :]
        assert "setting (run.json)" in folded and "</details>" in folded
        assert document.index("How well each proxy predicts accuracy") < document.index("<details>")
        assert "report_files/" not in folded and "<img" not in folded
    assert "How to reproduce" not in write_report(write_run(tmp_path / "bare", {"oracle": ACCURACY}))[0].read_text()


def test_cost_table_from_seconds_columns(tmp_path, stub_figures):
    seconds = np.linspace(0.1, 1.2, 12)
    seconds[4] = NAN
    folder = write_run(tmp_path / "r", {"oracle": ACCURACY, "noisy": NOISY, "oracle_seconds": seconds})
    run = load_run(folder)
    assert run.proxies == ["oracle", "noisy"] and list(run.seconds) == ["oracle"]  # _seconds is not a proxy
    text = write_report(folder)[0].read_text()
    _, rows = md_table(text, "proxy")
    assert set(rows) == {"oracle", "noisy"}
    header, cost = md_table(text[text.index("## Cost") :], "proxy")
    assert header[1] == "mean s / architecture"
    mean, total = np.nanmean(seconds), np.nansum(seconds)
    assert cost == {"oracle": [f"{mean:#.3g}", f"{total:.2f}", f"{11 / total:#.3g}"]}
    assert "## Cost" not in write_report(write_run(tmp_path / "untimed", {"oracle": ACCURACY}))[0].read_text()


def test_cost_prefers_run_json_which_times_each_distinct_architecture_once(tmp_path, stub_figures):
    # rows 0 and 1 share an architecture: scores.csv repeats its time, run.json counts it once
    seconds = np.full(12, 0.5)
    cost = {"oracle": {"evaluations": 11, "seconds": 5.5, "median_seconds": 0.5, "per_second": 2.0}}
    folder = write_run(tmp_path / "r", {"oracle": ACCURACY, "oracle_seconds": seconds}, settings={"cost": cost})
    text = write_report(folder)[0].read_text()
    _, rows = md_table(text[text.index("## Cost") :], "proxy")
    assert rows == {"oracle": ["0.500", "5.50", "2.00"]}


def test_cost_table_from_run_json_without_seconds_columns(tmp_path, stub_figures):
    cost = {
        "oracle": {"evaluations": 12, "seconds": 0.6, "median_seconds": 0.05, "per_second": 20.0},
        "noisy": {"evaluations": 9, "seconds": 27.0, "median_seconds": 3.0, "per_second": 1 / 3},
        "reversed": {"evaluations": 0, "seconds": 0.0, "median_seconds": None, "per_second": None},
    }
    folder = write_run(tmp_path / "r", COLUMNS, settings={"command": "near bench …", "seed": 3, "cost": cost})
    assert math.isnan(load_run(folder).cost["reversed"]["per_second"])  # JSON null
    text = write_report(folder)[0].read_text()
    assert "from run.json" in text[text.index("## Cost") :]
    _, rows = md_table(text[text.index("## Cost") :], "proxy")
    assert rows == {
        "oracle": ["0.0500", "0.600", "20.00"],  # mean = seconds / evaluations, cheapest first
        "noisy": ["3.00", "27.00", "0.333"],
        "reversed": ["—", "0.00", "—"],
    }
    _, settings = md_table(text, "setting (run.json)")
    assert list(settings) == ["seed"]  # the cost is shown once, in its own table
    (folder / "run.json").write_text(json.dumps({"cost": {"oracle": {"seconds": "fast"}}}))
    with pytest.raises(DataError, match=r"run.json: the cost of 'oracle' is \{'seconds': 'fast'\}; expected numbers"):
        write_report(folder)


def write_reasons(folder: Path, reasons: dict[str, dict[str, int]]) -> None:
    """A correlations.json as near bench writes it, holding only what the report reads from it."""
    saved = {"proxies": {name: {"n_nan": sum(r.values()), "nan_reasons": r} for name, r in reasons.items()}}
    (folder / "correlations.json").write_text(json.dumps(saved))


def test_missing_scores_list_the_reasons_of_correlations_json(tmp_path, stub_figures):
    scores = {**COLUMNS, "dead": [NAN] * 10 + [1.0, 2.0]}
    folder = write_run(tmp_path / "r", scores)
    long = "dead: " + "the gradients overflow " * 10
    reasons = {f"dead: layer {i} is NaN": 1 for i in range(4)}
    write_reasons(folder, {"noisy": {"noisy: a ReLU input\nholds NaN": 2}, "dead": {long: 5, **reasons}})
    text = write_report(folder)[0].read_text()
    section = text[text.index("## Missing scores") :]
    assert "noisy: 3 of 12 (25.0%); dead: 10 of 12 (83.3%)" in section
    _, rows = md_table(section, "proxy")
    cut = " ".join(long.split())[len("dead: ") :][:119].rstrip() + "…"
    assert rows == {
        "noisy": ["a ReLU input holds NaN (2); no reason recorded (1)"],
        "dead": [f"{cut} (5); layer 0 is NaN (1); layer 1 is NaN (1); 2 other reasons (2); no reason recorded (1)"],
    }
    write_reasons(folder, {"noisy": {"noisy: overflow": 4}})  # more reasons than NaN scores: another run's file
    text = write_report(folder)[0].read_text()
    assert "scores.csv does not record why" in text and "overflow" not in text


def test_single_report_explains_why_no_profile(single):
    md_path = single[1]
    assert "need at least two" in md_path.read_text()
    assert "performance_profile" not in md_path.read_text()


def test_rewrite_replaces_old_figures_and_leaves_no_temporary_files(run_dir, tmp_path, stub_figures):
    write_report(run_dir)
    (run_dir / "report_files" / "stale.png").write_bytes(b"old")
    write_report(run_dir)
    assert listing(run_dir) == [
        "report.html",
        "report.md",
        "report_files",
        "report_files/proxy_correlations.png",
        "report_files/score_vs_accuracy.png",
        "report_files/worst_predictions.png",
        "scores.csv",
    ]
    md_path, _ = write_report(run_dir, out=tmp_path / "elsewhere" / "deep")
    assert md_path == tmp_path / "elsewhere" / "deep" / "report.md" and md_path.is_file()


# ---------------------------------------------------------------------------------------------------
# several runs


def test_combined_report_average_rank_by_hand(tmp_path):
    # run 1: a (ρ 1) > c > b (ρ −1); run 2: b > c > a; run 3: a > c, b absent.
    first = write_run(tmp_path / "c10", {"a": ACCURACY, "b": -ACCURACY, "c": NOISY})
    second = write_run(tmp_path / "c100", {"a": -ACCURACY, "b": ACCURACY, "c": NOISY})
    third = write_run(tmp_path / "in16", {"c": NOISY, "a": ACCURACY})
    out = tmp_path / "all"
    md_path, html_path = write_report([first, second, third], out=out)
    text = md_path.read_text()
    header, rows = md_table(text, "proxy")  # the first proxy table: ρ per benchmark and average rank
    assert header == ["proxy", "c10", "c100", "in16", "average rank", "benchmarks"]
    rho_c = metrics.spearman(NOISY, ACCURACY)
    assert rows == {
        "a": ["1.000", "-1.000", "1.000", f"{(1 + 3 + 1) / 3:.2f}", "3 of 3"],
        "b": ["-1.000", "1.000", "—", "2.00", "2 of 3"],
        "c": [f"{rho_c:.3f}"] * 3 + ["2.00", "3 of 3"],
    }
    assert "performance_profile.png" in text and (out / "report_files" / "performance_profile.png").is_file()
    for index, name in enumerate(["c10", "c100", "in16"], start=1):
        assert f"## Benchmark {name}" in text
        assert (out / "report_files" / f"{index}-{name}-score_vs_accuracy.png").is_file()
    assert not (first / "report.md").exists()  # the runs' own folders are left alone
    page = html_path.read_text()
    assert page.count('src="data:image/png;base64,') == 10 and "<script" not in page


def test_combined_labels_disambiguate_folders_of_the_same_name(tmp_path, stub_figures):
    one = write_run(tmp_path / "a" / "run", {"p": ACCURACY})
    two = write_run(tmp_path / "b" / "run", {"p": NOISY})
    header, _ = md_table(write_report([one, two], out=tmp_path / "all")[0].read_text(), "proxy")
    assert header[1:3] == [str(one), str(two)]


def test_combined_report_needs_a_separate_out(tmp_path, run_dir):
    other = write_run(tmp_path / "c100", {"oracle": ACCURACY})
    before = listing(tmp_path)
    with pytest.raises(OptionError, match="needs an output folder"):
        write_report([run_dir, other])
    with pytest.raises(OptionError, match=r"holds a benchmark run \(its scores.csv\)"):
        write_report([run_dir, other], out=run_dir)
    with pytest.raises(OptionError, match=r"holds a benchmark run \(its scores.csv\)"):
        write_report(run_dir, out=other)  # a finished run's own report is never replaced by another's
    with pytest.raises(InputError, match="more than once"):
        write_report([run_dir, run_dir / ".." / "c10"], out=tmp_path / "all")
    with pytest.raises(InputError, match="at least one"):
        write_report([])
    assert listing(tmp_path) == before


# ---------------------------------------------------------------------------------------------------
# bad input and failures


def _write_csv(folder: Path, text: str) -> Path:
    folder.mkdir()
    (folder / "scores.csv").write_text(text)
    return folder


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("index,arch_str,test_accuracy,near\n0,a,90.1,3.0\n", r"no 'accuracy' column .*test_accuracy"),
        ("index,arch_str,accuracy\n0,a,90.1\n", "no proxy column"),
        ("index,arch_str,accuracy,near\n", "no architectures"),
        ("", "empty"),
        ("index,arch_str,accuracy,near\n0,a,90.1\n", r"line 2: 3 values for 4 columns"),
        ("index,arch_str,accuracy,near\n0,a,90.1,high\n", r"line 2, column 'near': 'high' is not a number"),
        ("index,arch_str,accuracy,near\n0,a,,1.0\n", "line 2: the accuracy is missing"),
        ("index,arch_str,accuracy,near,near\n0,a,90,1,2\n", "duplicate column"),
    ],
)
def test_malformed_scores_csv(tmp_path, csv_text, message):
    folder = _write_csv(tmp_path / "run", csv_text)
    with pytest.raises(DataError, match=message):
        write_report(folder)
    assert listing(folder) == ["scores.csv"]


def test_missing_folder_or_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        write_report(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"scores.csv: not found"):
        write_report(tmp_path / "empty")
    assert listing(tmp_path) == ["empty"]


def test_malformed_run_json(run_dir):
    (run_dir / "run.json").write_text("{not json")
    with pytest.raises(DataError, match="run.json: cannot be read as JSON"):
        write_report(run_dir)
    (run_dir / "run.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="expected a JSON object"):
        write_report(run_dir)


def test_failure_while_building_leaves_nothing(run_dir, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("plotting failed")

    monkeypatch.setattr("near.report.figures.score_scatter", broken)
    with pytest.raises(RuntimeError, match="plotting failed"):
        write_report(run_dir, out=tmp_path / "new" / "out")
    assert listing(tmp_path) == ["c10", "c10/scores.csv"]


def test_failure_while_writing_keeps_the_old_report(run_dir, stub_figures, monkeypatch):
    write_report(run_dir)
    before = {p: (run_dir / p).read_bytes() for p in listing(run_dir) if (run_dir / p).is_file()}

    def refuse(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_write.os, "replace", refuse)
    with pytest.raises(OptionError, match=f"cannot write the report into {re.escape(str(run_dir))}: No space left"):
        write_report(run_dir)
    assert {p: (run_dir / p).read_bytes() for p in listing(run_dir) if (run_dir / p).is_file()} == before


def test_unwritable_destination(run_dir, stub_figures):
    (run_dir / "blocked").write_text("a file, not a folder")
    with pytest.raises(OptionError, match="cannot write the report into .*blocked"):
        write_report(run_dir, out=run_dir / "blocked")


# ---------------------------------------------------------------------------------------------------
# command line


def test_cli_report(run_dir, stub_figures, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli.main, ["report", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"report: {run_dir / 'report.md'}", f"report: {run_dir / 'report.html'}"]
    other = write_run(tmp_path / "c100", {"oracle": ACCURACY})
    combined = runner.invoke(cli.main, ["report", str(run_dir), str(other), "--out", str(tmp_path / "all")])
    assert combined.exit_code == 0 and (tmp_path / "all" / "report.html").is_file()


def test_cli_report_errors(run_dir, tmp_path):
    runner = CliRunner()
    missing = runner.invoke(cli.main, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "not found" in missing.output
    no_out = runner.invoke(cli.main, ["report", str(run_dir), str(run_dir.parent)])
    assert no_out.exit_code == 1 and "--out OUT" in no_out.output
    assert runner.invoke(cli.main, ["report"]).exit_code == 2


def test_a_byte_order_mark_and_windows_line_ends_are_read_past(tmp_path):
    folder = _write_csv(tmp_path / "bom", "")
    text = "\ufeffindex,arch_str,accuracy,near\r\n0,a,90.1,3.0\r\n1,b,80.0,2.0\r\n"
    (folder / "scores.csv").write_bytes(text.encode())
    run = load_run(folder)
    assert run.proxies == ["near"] and run.accuracy.tolist() == [90.1, 80.0]
