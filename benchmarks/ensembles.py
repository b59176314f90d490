"""Ensembles and learned predictors on a finished `near bench` run: every table of docs/ensembles.md.

Prints Markdown: single proxies, the training-free ensembles (and the best log-rank set, chosen on one half of
the architectures and measured on the other), the GBT backends at two training sizes, the learning curve
(proxies / proxies + encoding / encoding, k = 16 … 1024, 5 seeds) and the cost-vs-ρ forward selection.
Writes the learning-curve plot to --plot.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/ensembles.py RUN_DIR --plot docs/img/ensembles_curve.png
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from near import ensemble, metrics, spaces
from near.predict import DEFAULT_KS, MIN_TEST, ProxyPredictor, features, learning_curve, split
from near.proxy_sets import cheapest_within, forward_selection
from near.report import load_run
from near.report.ensembles import archs, curve_plot, curve_rows

BACKENDS = [
    ("lightgbm", {"backend": "lightgbm"}),
    ("lightgbm, raw target", {"backend": "lightgbm", "target": "raw"}),
    ("lightgbm, lambdarank", {"backend": "lightgbm", "objective": "ranking"}),
    ("hist (scikit-learn)", {"backend": "hist"}),
    ("xgboost-cpu", {"backend": "xgboost"}),
    ("xgboost-cpu, rank:pairwise", {"backend": "xgboost", "objective": "ranking"}),
]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def pm(mean: float, std: float) -> str:
    return f"{mean:.3f} ± {std:.3f}"


def subset(run_dir: str, n: int | None, distinct: bool) -> Path:
    """A temporary copy of the run folder whose scores.csv keeps its first ``n`` rows (lowest benchmark index)
    and, with ``distinct``, only the first row of each architecture (NB101 tables repeat cells)."""
    folder = Path(tempfile.mkdtemp(prefix="ensembles-"))
    if (Path(run_dir) / "run.json").exists():
        shutil.copy(Path(run_dir) / "run.json", folder / "run.json")
    rows = list(csv.reader(open(Path(run_dir) / "scores.csv", newline="")))
    header, rows = rows[0], rows[1 : None if n is None else n + 1]
    if distinct:
        seen: set[str] = set()
        rows = [row for row in rows if not (row[1] in seen or seen.add(row[1]))]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    (folder / "scores.csv").write_text(out.getvalue())
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--plot", default=None, help="where to write the learning-curve PNG")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--skip-backends", action="store_true")
    parser.add_argument(
        "--first", type=int, default=None, help="use only the N rows of lowest index (scores.csv order)"
    )
    parser.add_argument("--distinct", action="store_true", help="keep one row per architecture (the first)")
    args = parser.parse_args()
    chosen = args.first is not None or args.distinct
    run = load_run(subset(args.run_dir, args.first, args.distinct) if chosen else args.run_dir)
    y, n = run.accuracy, len(run)
    space = run.settings.get("space")
    rows_arch = archs(run)
    encodable = space in spaces.available() and rows_arch is not None
    note = (f" (first {args.first} rows)" if args.first else "") + (
        " (one row per architecture)" if args.distinct else ""
    )
    print(f"# {args.run_dir}{note}: {n} architectures, proxies {', '.join(run.scores)}\n")

    print("## Single proxies and training-free ensembles (Spearman ρ over every architecture)\n")
    rows = [[name, f"{metrics.spearman(s, y):.4f}", f"{metrics.kendall(s, y):.4f}"] for name, s in run.scores.items()]
    for name, values in ensemble.default_ensembles(run.scores).items():
        rows.append([f"**{name}** (all)", f"{metrics.spearman(values, y):.4f}", f"{metrics.kendall(values, y):.4f}"])
    cost = {p: c["seconds"] / c["evaluations"] for p, c in run.cost.items() if c["evaluations"]}
    if not cost and run.seconds:
        cost = {p: float(np.nanmean(s)) for p, s in run.seconds.items()}
    half_a, half_b = split(n, n // 2, seed=0)
    sub = {p: np.asarray(s)[half_a] for p, s in run.scores.items()}
    steps = forward_selection(sub, y[half_a], cost, method="log_rank")
    best = max(steps, key=lambda s: s.spearman)
    chosen = list(best.proxies)
    values = ensemble.log_rank(run.scores, chosen)
    rows.append(
        [
            f"**log_rank {{{', '.join(chosen)}}}** (chosen on half A)",
            f"{metrics.spearman(values[half_b], y[half_b]):.4f} (half B), {metrics.spearman(values, y):.4f} (all)",
            f"{metrics.kendall(values, y):.4f} (all)",
        ]
    )
    print(table(["proxy / ensemble", "Spearman ρ", "Kendall τ"], rows), "\n")

    X_p, _ = features(run.scores)
    X_pe = features(run.scores, archs=rows_arch, space=space)[0] if encodable else None
    top = max(k for k in (1024, 512, 256, 128) if k <= n - MIN_TEST)
    if not args.skip_backends:
        print(f"## GBT backends (features: proxies{' + encoding' if encodable else ''}; {args.seeds} seeds)\n")
        rows = []
        for label, kw in BACKENDS:
            points = learning_curve(X_pe if encodable else X_p, y, [128, top], args.seeds, ProxyPredictor(**kw))
            rows.append(
                [label, *(f"{pm(p.spearman, p.spearman_std)} / {p.top5:.3f} / {p.fit_seconds:.2f}" for p in points)]
            )
        print(table(["backend", "k=128: ρ / top-5% / fit s", f"k={top}: ρ / top-5% / fit s"], rows), "\n")

    print(f"## Learning curve (default ProxyPredictor, {args.seeds} seeds, held-out = the other {n} − k)\n")
    variants = {"proxies": X_p}
    if encodable:
        variants["proxies + encoding"] = X_pe
        variants["encoding"] = features(archs=rows_arch, space=space)[0]
    ks = [k for k in DEFAULT_KS if k <= n - MIN_TEST]
    curves = {}
    started = time.perf_counter()
    for name, X in variants.items():
        curves[name] = learning_curve(X, y, ks, args.seeds, ProxyPredictor(random_state=0))
    rows = curve_rows(curves)
    print(table(["features", "k", "Spearman ρ", "Kendall τ", "top-5%", "fit s"], rows))
    print(f"\n({time.perf_counter() - started:.0f} s for the whole curve)\n")
    if args.plot:
        with open(args.plot, "wb") as stream:
            stream.write(curve_plot(curves))

    print("## Cost vs ρ: greedy forward selection (cost = mean seconds per architecture of the set)\n")
    for method, kw in (("log_rank", {}), ("predictor", {"archs": rows_arch, "space": space} if encodable else {})):
        steps = forward_selection(run.scores, y, cost, method=method, **kw)
        pick = cheapest_within(steps)
        label = "ensemble log_rank, ρ over all" if method == "log_rank" else "predictor, k=128, 3 seeds, held-out ρ"
        print(f"### {label}\n")
        print(
            table(
                ["step", "added", "set cost s/arch", "ρ", "within 0.01 of best, cheapest"],
                [
                    [str(i + 1), s.added, f"{s.seconds:.3f}", f"{s.spearman:.4f}", "←" if s is pick else ""]
                    for i, s in enumerate(steps)
                ],
            ),
            "\n",
        )


if __name__ == "__main__":
    main()
