"""The results tables of docs/nas-benchmarks.md, from finished ``near bench`` runs, next to the paper's values.

    python benchmarks/nas_tables.py RUN_DIR --paper nb201-cifar10|nb101 [--resamples 1000]

Reads ``RUN_DIR/scores.csv`` and ``run.json`` and prints Markdown: per proxy Spearman ρ with a 95 %
bootstrap interval over the architectures (SciPy, paired percentile bootstrap: how much ρ would move with
another sample of cells of the same size), Kendall τ, the pairwise-order probability, top-10 % precision,
missing scores, the paper's ρ and the difference; then, where rows share an architecture (the NB101 table),
the same correlations with one row per distinct architecture (its accuracies averaged); then the cost.
The paper's values are those of ``../shared/docs/near-method.md`` (Tables 1, 3 and 12 of the NEAR paper).
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict

import numpy as np
from scipy import stats

from near import metrics
from near.report.runs import load_run

# ρ per proxy (NEAR: also τ and the pairwise-order probability); proxies absent here are not in the paper.
PAPER = {
    "nb201-cifar10": {
        "near": {"spearman": 0.88, "kendall": 0.70, "pairwise": 0.85},
        "params": {"spearman": 0.75},
        "flops": {"spearman": 0.75},
        "synflow": {"spearman": 0.77},
        "zico": {"spearman": 0.78},
        "meco_opt": {"spearman": 0.90},
        "reg_swap": {"spearman": 0.88},
        "swap": {"spearman": 0.82},
        "grad_norm": {"spearman": 0.65},
        "snip": {"spearman": 0.64},
        "grasp": {"spearman": 0.55},
        "fisher": {"spearman": 0.55},
        "zen": {"spearman": 0.43},
    },
    "nb101": {
        "near": {"spearman": 0.70, "kendall": 0.52},
        "params": {"spearman": 0.43},
        "zen": {"spearman": 0.64},
        "zico": {"spearman": 0.63},
    },
}

# compute_many shares one pass between these proxies and times it under the first that asks for it
SHARED = [("grad_norm", "snip", "plain", "fisher"), ("jacob_cov", "epe_nas"), ("swap", "reg_swap")]


def spearman_interval(s: np.ndarray, a: np.ndarray, resamples: int) -> tuple[float, float]:
    """95 % paired percentile-bootstrap interval of Spearman ρ over the architectures (NaN scores left out)."""
    keep = ~np.isnan(s)
    s, a = s[keep], a[keep]
    if len(s) < 3 or np.ptp(s) == 0:
        return float("nan"), float("nan")
    result = stats.bootstrap(
        (s, a),
        lambda x, y: stats.spearmanr(x, y).statistic,
        paired=True,
        vectorized=False,
        n_resamples=resamples,
        method="percentile",
        random_state=np.random.default_rng(0),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def correlation_table(accuracy, scores, paper, resamples):
    """One Markdown row per proxy, best ρ first."""
    rows = []
    for name, s in scores.items():
        rho = metrics.spearman(s, accuracy)
        low, high = spearman_interval(s, accuracy, resamples) if resamples else (np.nan, np.nan)
        theirs = paper.get(name, {}).get("spearman")
        diff = rho - theirs if theirs is not None else None
        flag = " **" if diff is not None and abs(diff) > 0.05 else ""
        rows.append((
            rho,
            f"| {name} | {fmt(rho)} | {fmt(low)} – {fmt(high)} | {fmt(metrics.kendall(s, accuracy))} "
            f"| {fmt(metrics.pairwise_order(s, accuracy))} "
            f"| {fmt(metrics.top_k_precision(s, accuracy, fraction=0.1))} | {int(np.isnan(s).sum())} "
            f"| {fmt(theirs, 2)} | {fmt(diff, 2)}{flag} |",
        ))
    header = [
        "| proxy | ρ | ρ 95 % interval | τ | pairwise | top-10 % | NaN | paper ρ | ours − paper |",
        "|:---|---:|:---:|---:|---:|---:|---:|---:|---:|",
    ]
    return header + [line for _, line in sorted(rows, key=lambda r: -np.nan_to_num(r[0], nan=-2))]


def distinct_architectures(run):
    """Accuracy averaged over rows that share an architecture, and each architecture's scores once."""
    with open(run.path / "scores.csv", newline="") as f:
        archs = [row["arch_str"] for row in csv.DictReader(f)]
    groups = defaultdict(list)
    for i, arch in enumerate(archs):
        groups[arch].append(i)
    if len(groups) == len(archs):
        return None
    first = [members[0] for members in groups.values()]
    accuracy = np.array([run.accuracy[members].mean() for members in groups.values()])
    return accuracy, {name: s[first] for name, s in run.scores.items()}


def cost_table(run):
    """Mean seconds and architectures per second per proxy; a shared pass is shown once, for its group."""
    cost = run.settings.get("cost", {})
    groups = [[n for n in group if n in cost] for group in SHARED]
    groups = [g for g in groups if len(g) > 1] + [[n] for n in cost if not any(n in g for g in SHARED if len(g) > 1)]
    rows = []
    for group in groups:
        seconds = sum(cost[name]["seconds"] for name in group) / cost[group[0]]["evaluations"]
        rows.append((seconds, f"| {' + '.join(group)} | {seconds:.3g} | {1 / seconds:.3g} |"))
    lines = ["| proxy (+ those sharing its pass) | s / architecture | architectures / s |", "|:---|---:|---:|"]
    return lines + [line for _, line in sorted(rows, reverse=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a finished near bench output directory")
    parser.add_argument("--paper", choices=sorted(PAPER), required=True)
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (0: no intervals)")
    args = parser.parse_args()
    run = load_run(args.run)
    paper = PAPER[args.paper]
    print(f"{len(run)} rows, {len(run.scores)} proxies, {args.run}\n")
    print("\n".join(correlation_table(run.accuracy, run.scores, paper, args.resamples)))
    distinct = distinct_architectures(run)
    if distinct is not None:
        accuracy, scores = distinct
        print(f"\nOne row per distinct architecture ({len(accuracy)}; accuracy averaged over rows):\n")
        print("\n".join(correlation_table(accuracy, scores, paper, args.resamples)))
    threads = run.settings.get("versions", {}).get("threads", "?")
    print(f"\nCost (run.json: each distinct architecture timed once; torch threads: {threads}):\n")
    print("\n".join(cost_table(run)))


if __name__ == "__main__":
    main()
