"""The paper's NAS analyses on one ``near bench`` run: exact correlations, top-k, worst predictions (A.6).

    python benchmarks/nas_analyses.py RUN_DIR [--table ../shared/data/nb201/nb201_cifar10.csv] \
        [--proxies near,params] [--worst 100] [--estimate 1000] [--figure out/worst.png]

Reads ``RUN_DIR/scores.csv``; for a run still in progress (no scores.csv yet) ``--table`` reads the
scores stored so far in ``RUN_DIR/results.sqlite`` (read-only) and takes the accuracies from the table.
Prints, per proxy: Spearman ρ, Kendall τ and the pairwise-order probability over the architectures scored;
best / mean accuracy of its top 1, 10 and 100 against the best of the table (NB201 CIFAR-10: 94.37); the
pattern of its ``--worst`` largest rank errors (:func:`near.analysis.error_pattern`, sizes from the
run's ``params``). With ``--estimate N`` (and more than N architectures scored): ρ on the seed-0
sample of N cells (the cells of an ``near bench -n N -s 0`` run) and the spread of ρ over 500 random
subsets of N — how far an N-cell estimate can be from this population's ρ.
"""

from __future__ import annotations

import argparse
import math
import sqlite3
from pathlib import Path

import numpy as np

from near import analysis, bench, metrics, spaces
from near.report.runs import Run, load_run


def stored_run(folder: Path, table_path: Path, space: str, proxies: list[str] | None) -> tuple[Run, list[str]]:
    """The scores stored so far in ``folder/results.sqlite`` (opened read-only), with the table's accuracies."""
    table = bench.read_table(table_path, spaces.get(space))
    accuracy = {row.arch_str: row.accuracy for row in table.rows}
    connection = sqlite3.connect(f"file:{folder / 'results.sqlite'}?mode=ro", uri=True)
    try:
        found = connection.execute("SELECT proxy, COUNT(DISTINCT options) FROM results GROUP BY proxy").fetchall()
        values: dict[str, dict[str, float]] = {}
        for proxy, options in found:
            if proxies and proxy not in proxies:
                continue
            if options > 1:
                raise SystemExit(f"{folder}: {proxy} is stored with {options} option sets; give a finished run")
            query = "SELECT arch, value FROM results WHERE proxy = ? AND failed = 0"
            values[proxy] = {arch: math.nan if v is None else v for arch, v in connection.execute(query, (proxy,))}
    finally:
        connection.close()
    archs = sorted(set.intersection(*(set(v) for v in values.values())) & set(accuracy))
    scores = {proxy: np.array([v[arch] for arch in archs]) for proxy, v in values.items()}
    return Run(folder, np.array([accuracy[a] for a in archs]), scores), archs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--table", type=Path, help="accuracy table: read a run in progress from its results.sqlite")
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--proxies", default=None, help="comma-separated; default: every proxy of the run")
    parser.add_argument("--worst", type=int, default=100)
    parser.add_argument("--estimate", type=int, default=None, help="compare with the seed-0 sample of N cells")
    parser.add_argument("--figure", type=Path, default=None, help="write the A.6 figure (PNG) here")
    args = parser.parse_args()
    wanted = args.proxies.split(",") if args.proxies else None
    if (args.run / "scores.csv").is_file():
        run = load_run(args.run)
        archs = None
    elif args.table:
        run, archs = stored_run(args.run, args.table, args.space, wanted)
    else:
        raise SystemExit(f"{args.run} has no scores.csv yet: give --table to read its results.sqlite")
    names = [p for p in (wanted or run.proxies) if p in run.scores]
    best = float(run.accuracy.max())
    if args.table:
        best = max(row.accuracy for row in bench.read_table(args.table, spaces.get(args.space)).rows)
    print(
        f"{len(run)} architectures; best accuracy in the space (table) / in the run: {best:.2f} / "
        f"{run.accuracy.max():.2f}\n"
    )
    print("| proxy | scored | ρ | τ | pairwise | top-1 | top-10 best / mean | top-100 best / mean |")
    print("|:---|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        s = run.scores[name]
        c = metrics.correlations(s, run.accuracy)
        top = analysis.top_k_accuracy(s, run.accuracy, (1, 10, 100))
        tops = " | ".join(f"{top[k][0]:.2f} / {top[k][1]:.2f}" for k in (10, 100))
        print(
            f"| {name} | {c['n']} | {c['spearman']:.3f} | {c['kendall']:.3f} | {c['pairwise']:.3f} | "
            f"{top[1][0]:.2f} | {tops} |"
        )
    size = run.scores.get("params")
    print()
    for name in names:
        pattern = analysis.error_pattern(run.scores[name], run.accuracy, size=size, k=args.worst)
        print(analysis.describe_errors(pattern, name, "#params"))
        print()
    if args.estimate and len(run) > args.estimate:
        _estimate(args, run, names, archs)
    if args.figure:
        from near.report.analysis import worst_figure

        worst = {n: analysis.worst_predictions(run.scores[n], run.accuracy, args.worst) for n in names}
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        args.figure.write_bytes(worst_figure(run, names, worst))
        print(f"figure: {args.figure}")


def _estimate(args: argparse.Namespace, run: Run, names: list[str], archs: list[str] | None) -> None:
    n = args.estimate
    if archs is None:
        import csv

        with open(args.run / "scores.csv", newline="") as stream:
            archs = [row["arch_str"] for row in csv.DictReader(stream)]
    print(f"ρ on {n}-cell samples of these {len(run)} architectures:")
    seed0 = None
    if args.table:
        chosen = {row.arch_str for row in bench.read_table(args.table, spaces.get(args.space)).sample(n, 0)}
        seed0 = np.array([a in chosen for a in archs])
    for name in names:
        s = run.scores[name]
        spread = analysis.subsample_spread(s, run.accuracy, n, draws=500, seed=0)
        whole = metrics.spearman(s, run.accuracy)
        text = (
            f"  {name}: all {whole:.3f}; 500 random subsets of {n}: mean {np.nanmean(spread):.3f}, "
            f"sd {np.nanstd(spread):.3f}, 2.5–97.5 % {np.nanpercentile(spread, 2.5):.3f}–"
            f"{np.nanpercentile(spread, 97.5):.3f}"
        )
        if seed0 is not None and seed0.sum() >= 2:
            rho = metrics.spearman(s[seed0], run.accuracy[seed0])
            text += f"; the seed-0 sample ({int(seed0.sum())} of its {n} cells here): {rho:.3f}"
        print(text)


if __name__ == "__main__":
    main()
