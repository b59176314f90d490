"""The paper's NAS analyses on one ``near bench`` run: exact correlations, top-k, worst predictions (A.6).

    python benchmarks/nas_analyses.py RUN_DIR [--table ../shared/data/nb201/nb201_cifar10.csv] \
        [--proxies near,params] [--worst 100] [--estimate 1000] [--figure out/worst.png]

Reads ``RUN_DIR/scores.csv``; for a run still in progress (no scores.csv yet) ``--table`` reads the
scores stored so far in ``RUN_DIR/results.sqlite`` (read-only) and takes the accuracies from the table.
Prints, per proxy: Spearman ρ, Kendall τ and the pairwise-order probability over the architectures scored;
best / mean accuracy of its top 1, 10 and 100 against the best of the table (NB201 CIFAR-10: 94.37); the
pattern of its ``--worst`` largest rank errors (:func:`near.analysis.error_pattern`, sizes from the
run's ``params``; on NB201 also the mean number of each operation in the over- and underrated cells).
With ``--estimate N`` (and more than N architectures scored): ρ on the seed-0 sample of N cells (the
cells of an ``near bench -n N -s 0`` run) and the spread of ρ over 500 random subsets of N — how far an
N-cell estimate can be from this population's ρ.
"""

from __future__ import annotations

import argparse
import csv
import math
import sqlite3
from pathlib import Path

import numpy as np

from near import analysis, bench, spaces
from near.report.analysis import analysis_text
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
    parser.add_argument("--export", type=Path, default=None, help="write the scores read (scores.csv) into this folder")
    args = parser.parse_args()
    wanted = args.proxies.split(",") if args.proxies else None
    if (args.run / "scores.csv").is_file():
        run = load_run(args.run)
        archs = None
    elif args.table:
        run, archs = stored_run(args.run, args.table, args.space, wanted)
    else:
        raise SystemExit(f"{args.run} has no scores.csv yet: give --table to read its results.sqlite")
    if args.export and archs is not None:
        _export(args.export, run, archs)
    names = [p for p in (wanted or run.proxies) if p in run.scores]
    table = bench.read_table(args.table, spaces.get(args.space)) if args.table else None
    best = max(row.accuracy for row in table.rows) if table else None
    sample = None
    if args.estimate and table:  # the cells of a `near bench -n N -s 0` run, as Table.sample draws them
        if archs is None:
            with open(args.run / "scores.csv", newline="") as stream:
                archs = [row["arch_str"] for row in csv.DictReader(stream)]
        chosen = {row.arch_str for row in table.sample(args.estimate, 0)}
        sample = np.array([arch in chosen for arch in archs])
    print(analysis_text(run, names, worst=args.worst, best=best, estimate=args.estimate, estimate_sample=sample))
    if args.space == "nb201":
        if archs is None:
            with open(args.run / "scores.csv", newline="") as stream:
                archs = [row["arch_str"] for row in csv.DictReader(stream)]
        _nb201_operations(run, archs, names, args.worst)
    if args.figure:
        from near.report.analysis import worst_figure

        worst = {n: analysis.worst_predictions(run.scores[n], run.accuracy, args.worst) for n in names}
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        args.figure.write_bytes(worst_figure(run, names, worst))
        print(f"figure: {args.figure}")


def _export(folder: Path, run: Run, archs: list[str]) -> None:
    """A frozen copy of the scores read from a run in progress, as ``near bench`` writes scores.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "scores.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["index", "arch_str", "accuracy", *run.scores])
        for i, arch in enumerate(archs):
            writer.writerow([i, arch, repr(float(run.accuracy[i])), *(repr(float(v[i])) for v in run.scores.values())])
    print(f"scores of {len(archs)} architectures: {folder / 'scores.csv'}")


NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def _nb201_operations(run: Run, archs: list[str], names: list[str], worst: int) -> None:
    """Mean number of each operation (of a cell's 6 edges) among the worst over- and underrated cells."""
    counts = np.array([[arch.count(f"|{op}~") for op in NB201_OPS] for arch in archs])
    print(f"\nMean operations per cell (6 edges): {', '.join(NB201_OPS)}")
    print(f"* all {len(archs)} cells: {' '.join(f'{v:.2f}' for v in counts.mean(axis=0))}")
    for name in names:
        chosen = analysis.worst_predictions(run.scores[name], run.accuracy, worst)
        errors = analysis.rank_errors(run.scores[name], run.accuracy)[chosen]
        for label, part in (("overrated", chosen[errors > 0]), ("underrated", chosen[errors < 0])):
            if part.size:
                mean = " ".join(f"{v:.2f}" for v in counts[part].mean(axis=0))
                print(
                    f"* {name}, {part.size} {label} of its {chosen.size} worst: {mean} "
                    f"(median accuracy {np.median(run.accuracy[part]):.2f})"
                )


if __name__ == "__main__":
    main()
