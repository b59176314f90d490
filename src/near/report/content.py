"""What the report says: tables and figures computed from runs with :mod:`near.metrics`, as document blocks."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from .. import metrics
from . import ensembles, figures
from .analysis import analysis_blocks
from .document import Block, Heading, Image, Paragraph, Table
from .parts import DASH, labels, settings_blocks, slug
from .runs import SCORES, Run
from .sections import CombinedView, RunView, combined_section, combined_sections, run_section, run_sections

TOP_K = (10,)
TOP_FRACTIONS = (0.01, 0.05, 0.1)
_COLUMNS = ["Spearman ρ", "Kendall τ", "pairwise", *(f"top-{k}" for k in TOP_K)]
_COLUMNS += [f"top-{100 * f:g}%" for f in TOP_FRACTIONS] + ["scored", "NaN"]

_DASH_NOTE = (
    f"{DASH} = undefined: fewer than two scored architectures, a constant proxy, or a top-k larger than the "
    "number scored. A NaN score leaves that architecture out of the proxy's metrics; it is never replaced by a "
    "sentinel such as −1e8."
)
_METRICS_NOTE = (
    "Spearman ρ and Kendall τ-b: rank correlation of score and accuracy (signed; higher is better). "
    "pairwise: probability that the proxy orders two architectures of different accuracy correctly, a tie in "
    "score counting ½ (NEAR paper, Table 12). top-k / top-p%: fraction of the k truly best architectures "
    "(among those scored) that the proxy also puts in its top k, ties broken at random (expected value)."
)


def number(value: float, digits: int = 3) -> str:
    """Fixed decimals; NaN as a dash (explained next to every table that can show one)."""
    return DASH if math.isnan(value) else f"{value:.{digits}f}"


def _amount(value: float) -> str:
    """Seconds and rates: three significant digits below 1, two decimals above."""
    return DASH if math.isnan(value) else f"{value:#.3g}" if value < 1 else f"{value:.2f}"


def summarise(run: Run) -> dict[str, dict[str, float | int]]:
    """:func:`near.metrics.correlations` of every proxy of ``run`` against its accuracy."""
    return {
        name: metrics.correlations(scores, run.accuracy, top_k=TOP_K, top_fractions=TOP_FRACTIONS)
        for name, scores in run.scores.items()
    }


def _ordered(values: dict[str, float], *, descending: bool) -> list[str]:
    """Keys sorted by value, NaN last; ties keep their order."""
    return sorted(values, key=lambda k: (math.isnan(values[k]), -values[k] if descending else values[k]))


def run_blocks(run: Run, level: int, image_prefix: str = "", *, combined: bool = False) -> list[Block]:
    """Everything about one run: its registered sections (:mod:`near.report.sections`), results first."""
    summary = summarise(run)
    order = _ordered({name: float(summary[name]["spearman"]) for name in summary}, descending=True)
    view = RunView(run, summary, order, level, image_prefix, combined)
    blocks: list[Block] = []
    for section in run_sections():
        blocks += section(view)
    return blocks


@run_section("results", order=10)
def _results(view: RunView) -> list[Block]:
    run, summary = view.run, view.summary
    blocks: list[Block] = [
        Paragraph(
            f"{len(run)} architectures, {len(run.scores)} proxies, from {run.path / SCORES}; every number is "
            "computed from that file with near.metrics. Proxies sorted by Spearman ρ, best first."
        )
    ]
    if warning := run.settings.get("table_warning"):
        blocks.append(Paragraph(f"Warning (near bench): {warning}"))
    keys = ["spearman", "kendall", "pairwise", *(f"top{k}" for k in TOP_K)]
    keys += [f"top{100 * f:g}%" for f in TOP_FRACTIONS]
    rows = [
        [name, *(number(summary[name][key]) for key in keys), str(summary[name]["n"]), str(summary[name]["n_nan"])]
        for name in view.order
    ]
    combined = ensembles.ensemble_rows(
        run, lambda s, a: metrics.correlations(s, a, top_k=TOP_K, top_fractions=TOP_FRACTIONS)
    )
    extra = [[name, *(number(r[key]) for key in keys), str(r["n"]), str(r["n_nan"])] for name, r in combined.items()]
    return [
        Heading(view.level, "How well each proxy predicts accuracy"),
        *blocks,
        Table(["proxy", *_COLUMNS], rows),
        *([Table(["ensemble", *_COLUMNS], extra), Paragraph(ensembles.ENSEMBLES_NOTE)] if extra else []),
        Paragraph(_METRICS_NOTE),
        Paragraph(_DASH_NOTE),
    ]


@run_section("score_vs_accuracy", order=20)
def _scatter(view: RunView) -> list[Block]:
    rhos = {name: float(view.summary[name]["spearman"]) for name in view.order}
    return [
        Heading(view.level, "Score vs accuracy"),
        Image(
            f"{view.prefix}score_vs_accuracy.png",
            figures.score_scatter({n: view.run.scores[n] for n in view.order}, view.run.accuracy, rhos),
            "Accuracy against the percentile rank of each proxy's score (architectures without a score left out). "
            "The y axis shows the bulk of the architectures; the few below it sit on the lower edge (▼, counted).",
        ),
    ]


@run_section("proxy_correlations", order=30)
def _heatmap(view: RunView) -> list[Block]:
    run, order = view.run, view.order
    matrix = metrics.proxy_correlation_matrix({"accuracy": run.accuracy, **{n: run.scores[n] for n in order}})
    return [
        Heading(view.level, "Proxy–proxy correlations"),
        Image(
            f"{view.prefix}proxy_correlations.png",
            figures.correlation_heatmap(["accuracy", *order], matrix),
            "Spearman ρ between proxies, and with the accuracy (first row); each pair over the architectures "
            "both scored; grey = undefined.",
        ),
    ]


@run_section("analysis", order=35)
def _analysis(view: RunView) -> list[Block]:
    """Where each proxy errs and what a search gets (report/analysis.py)."""
    return analysis_blocks(view.run, view.level, view.prefix, view.order)


@run_section("ensemble_curve", order=37)
def _ensemble_curve(view: RunView) -> list[Block]:
    """The ensembles' curve (report/ensembles.py), when the run has ensemble columns."""
    return ensembles.curve_blocks(view.run, view.level, view.prefix)


@run_section("missing", order=40)
def _missing_section(view: RunView) -> list[Block]:
    return [Heading(view.level, "Missing scores"), *_missing(view.run, view.summary)]


@run_section("cost", order=50)
def _cost_section(view: RunView) -> list[Block]:
    return _cost(view.run, view.level)


@run_section("across_benchmarks", order=90)
def _across(view: RunView) -> list[Block]:
    if view.combined:
        return []
    return [
        Heading(view.level, "Across benchmarks"),
        Paragraph(
            "The average-rank table (NEAR paper, Table 4) and relative performance profiles compare proxies "
            "across benchmarks and need at least two; combine runs with: near report DIR1 DIR2 … --out OUT"
        ),
    ]


@run_section("settings", order=1000)
def _settings(view: RunView) -> list[Block]:
    """The command and run.json's settings, folded away at the end: how to reproduce, not what was found."""
    return settings_blocks(view.run.settings, skip=("cost", "table_warning"))  # these have their own place


def _missing(run: Run, summary: dict) -> list[Block]:
    failed = {name: int(values["n_nan"]) for name, values in summary.items() if values["n_nan"]}
    if not failed:
        return [Paragraph(f"Every proxy scored all {len(run)} architectures.")]
    counts = "; ".join(f"{name}: {n} of {len(run)} ({100 * n / len(run):.1f}%)" for name, n in failed.items())
    text = f"Architectures without a score (NaN: the proxy failed or does not apply): {counts}."
    if not any(name in run.nan_reasons for name in failed):
        return [Paragraph(f"{text} scores.csv does not record why; each is left out of that proxy's metrics.")]
    rows = [[name, _reasons(run.nan_reasons.get(name, {}), name, n)] for name, n in failed.items()]
    return [
        Paragraph(f"{text} Each is left out of that proxy's metrics. Why, from correlations.json (most common first):"),
        Table(["proxy", f"reason (architectures; at most {_REASONS} per proxy)"], rows, numeric=False),
    ]


_REASONS = 3  # reasons listed per proxy; the others are counted together
_REASON_LENGTH = 120


def _reasons(reasons: dict[str, int], proxy: str, missing: int) -> str:
    """The most common reasons, each on one line without the proxy's name, cut to a readable length."""
    merged: Counter[str] = Counter()
    for reason, count in reasons.items():
        text = " ".join(reason.split())
        text = text.removeprefix(f"{proxy}: ").removeprefix(f"{proxy} ")
        if len(text) > _REASON_LENGTH:
            text = text[: _REASON_LENGTH - 1].rstrip() + "…"
        merged[text] += count
    common = merged.most_common()
    parts = [f"{text} ({count})" for text, count in common[:_REASONS]]
    if rest := common[_REASONS:]:
        parts.append(f"{len(rest)} other reasons ({sum(count for _, count in rest)})")
    if unrecorded := missing - sum(merged.values()):
        parts.append(f"no reason recorded ({unrecorded})")
    return "; ".join(parts)


def _cost(run: Run, level: int) -> list[Block]:
    """Seconds per architecture, total seconds and architectures per second, cheapest first: from run.json's
    cost (each distinct architecture once), else from the ``_seconds`` columns of scores.csv."""
    if run.cost:
        source = "run.json (each distinct architecture timed once, when it was computed)"
        cost = {
            name: (c["seconds"] / c["evaluations"] if c["evaluations"] else math.nan, c["seconds"], c["per_second"])
            for name, c in run.cost.items()
        }
    elif run.seconds:
        source = "the timing columns (proxy name + _seconds) of scores.csv"
        cost = {}
        for name, seconds in run.seconds.items():
            timed, total = int((~np.isnan(seconds)).sum()), float(np.nansum(seconds))
            cost[name] = (total / timed if timed else math.nan, total, timed / total if total > 0 else math.nan)
    else:
        return []
    order = _ordered({name: values[0] for name, values in cost.items()}, descending=False)
    return [
        Heading(level, "Cost"),
        Paragraph(
            f"Seconds per architecture, from {source}; cheapest first. Proxies computed together share "
            "passes (one backward for grad_norm, snip, plain and fisher; one Jacobian for jacob_cov and "
            "epe_nas; the SWAP passes for swap and reg_swap): a shared pass is timed under the first of them "
            "that needs it, so the others look almost free."
        ),
        Table(
            ["proxy", "mean s / architecture", "total s", "architectures / s"],
            [[name, *map(_amount, cost[name])] for name in order],
        ),
    ]


def single_report(run: Run) -> tuple[str, list[Block]]:
    """Title and blocks of the report on one run."""
    title = f"Benchmark report: {labels([run])[0]}"
    return title, [Heading(1, title), *run_blocks(run, 2)]


def combined_report(runs: Sequence[Run]) -> tuple[str, list[Block]]:
    """Title and blocks of the report on several runs: the cross-benchmark sections first, then each run."""
    names = labels(runs)
    title = f"Benchmark report: {len(runs)} benchmarks"
    summaries = [summarise(run) for run in runs]
    rho = {label: {p: float(s[p]["spearman"]) for p in s} for label, s in zip(names, summaries)}
    tau = {label: {p: float(s[p]["kendall"]) for p in s} for label, s in zip(names, summaries)}
    ranks = metrics.average_ranks(rho)
    view = CombinedView(runs, names, rho, tau, ranks, _ordered(ranks, descending=False))
    blocks: list[Block] = [Heading(1, title)]
    for section in combined_sections():
        blocks += section(view)
    for index, (label, run) in enumerate(zip(names, runs), start=1):
        blocks += [
            Heading(2, f"Benchmark {label}"),
            *run_blocks(run, 3, f"{index}-{slug(label)}-", combined=True),
        ]
    return title, blocks


@combined_section("average_rank", order=10)
def _average_rank(view: CombinedView) -> list[Block]:
    rho, names, ranks = view.rho, view.names, view.ranks
    return [
        Heading(2, "Spearman ρ and average rank"),
        Table(
            ["proxy", *names, "average rank", "benchmarks"],
            [
                [p, *(number(rho[b].get(p, math.nan)) for b in names), number(ranks[p], 2), _coverage(rho, p)]
                for p in view.order
            ],
        ),
        Paragraph(
            "On each benchmark the proxies are ranked by Spearman ρ (1 = best, ties share their average rank); "
            "the average rank is the mean over the benchmarks where the proxy has a ρ (NEAR paper, Table 4). "
            "Averages over different sets of benchmarks are not strictly comparable: see the benchmarks column."
        ),
        Paragraph(_DASH_NOTE),
    ]


@combined_section("performance_profiles", order=20)
def _profiles(view: CombinedView) -> list[Block]:
    return [Heading(2, "Relative performance profiles"), *_profile(view.rho, view.order)]


@combined_section("kendall", order=30)
def _kendall(view: CombinedView) -> list[Block]:
    tau, names = view.tau, view.names
    return [
        Heading(2, "Kendall τ"),
        Table(["proxy", *names], [[p, *(number(tau[b].get(p, math.nan)) for b in names)] for p in view.order]),
    ]


@combined_section("benchmarks", order=40)
def _benchmarks(view: CombinedView) -> list[Block]:
    return [
        Heading(2, "The benchmarks"),
        Table(
            ["benchmark", "architectures", "proxies", "folder"],
            [[label, str(len(run)), str(len(run.scores)), str(run.path)] for label, run in zip(view.names, view.runs)],
            numeric=False,
        ),
    ]


def _coverage(table: dict[str, dict[str, float]], proxy: str) -> str:
    present = sum(not math.isnan(row.get(proxy, math.nan)) for row in table.values())
    return f"{present} of {len(table)}"


def _profile(rho: dict[str, dict[str, float]], order: list[str]) -> list[Block]:
    ratios = metrics.performance_ratios(rho)
    finite = sorted({r for by_benchmark in ratios.values() for r in by_benchmark.values() if math.isfinite(r)})
    if not finite:
        return [Paragraph("No proxy has a Spearman ρ on any benchmark: no profile to draw.")]
    top = max(finite[-1] * 1.1, 1.5)
    taus = np.array(sorted({1.0, *finite, top}))
    profile = metrics.performance_profile(rho, taus)
    return [
        Image(
            "performance_profile.png",
            figures.performance_profile_plot(taus, {p: profile[p] for p in order}),
            "Fraction of benchmarks on which each proxy's error 1 − ρ is within a factor τ of the best proxy's "
            "(Dolan–Moré).",
        ),
        Paragraph(
            "Read as in the blog post “A Deeper Look at Zero-Cost Proxies for Lightweight NAS”: the value at τ = 1 "
            "is the share of benchmarks where the proxy is the best; a curve that rises early and reaches 1 is "
            "robust across benchmarks. A proxy without a ρ on a benchmark counts as failed there."
        ),
    ]
