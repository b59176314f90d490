"""Per-layer NEAR contributions on NAS-Bench-201 cells (paper appendix A.7: which layers matter?).

    python benchmarks/nb201_layers.py --cells 200 --repetitions 2 --out out/nb201_layers.csv [--data ../shared/data]

Every cell is built exactly as ``near bench`` builds it (the seed-0 sample of the NB201 CIFAR-10 table,
weights seeded per architecture, the first 256 CIFAR-10 images of ``cifar10_960.npz``) and scored with
``near.score``; the per-layer effective ranks (mean over the repetitions) are appended to ``--out``, one
row per cell, so an interrupted run resumes where it stopped. With ``--repetitions 8`` a row's total is
the ``near`` score ``near bench -r 8`` stores for that cell.

Then the layers are grouped into the network's 20 positions (stem, 15 cells, 2 reduction blocks, the
last BatchNorm+ReLU, the classifier: :func:`near.analysis.nb201_position`) and
:func:`near.analysis.layer_subset_correlations` prints, for each position, Spearman ρ of NEAR restricted
to that position alone, and the mean ρ of NEAR restricted to random subsets of 6 positions containing it.
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import numpy as np

import near
import near.spaces
from near import bench
from near.bench import arch_seed
from near.rng import isolated_rng


def _done(path: Path) -> set[str]:
    if not path.exists():
        return set()
    with open(path, newline="") as stream:
        return {row["arch_str"] for row in csv.DictReader(stream)}


def compute(args: argparse.Namespace) -> None:
    space = near.spaces.get("nb201")
    rows = bench.read_table(args.data / "nb201" / "nb201_cifar10.csv", space).sample(args.cells, 0)
    x = bench.load_images(args.data / "images" / "cifar10_960.npz").x
    done = _done(args.out)
    todo = [row for row in rows if row.arch_str not in done]
    print(f"{len(rows)} cells, {len(done)} already in {args.out}, {len(todo)} to score", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for count, row in enumerate(todo, start=1):
        with isolated_rng(arch_seed(0, row.arch_str, "model")):
            model = space.build(row.arch)
        result = near.score(model, x, repetitions=args.repetitions, seed=arch_seed(0, row.arch_str, "proxies"))
        layers = {layer.name + ":" + layer.kind: layer.erank for layer in result.layers}
        record = {"arch_str": row.arch_str, "accuracy": row.accuracy, "near": result.mean, "layers": layers}
        with open(args.out, "a", newline="") as stream:  # one JSON-free line per cell: name=value pairs
            stream.write(_line(record, header=stream.tell() == 0))
        if count % 10 == 0 or count == len(todo):
            rate = (time.perf_counter() - start) / count
            print(f"{count}/{len(todo)} cells, {rate:.2f} s per cell", flush=True)


def _line(record: dict, header: bool) -> str:
    layers = ";".join(f"{name}={value!r}" for name, value in record["layers"].items())
    text = "arch_str,accuracy,near,layers\n" if header else ""
    return text + f"{record['arch_str']},{record['accuracy']!r},{record['near']!r},{layers}\n"


def load(path: Path) -> tuple[list[str], np.ndarray, list[dict[str, float]]]:
    """Architectures, accuracies and per-layer eranks (``name:kind`` → erank) as written by :func:`compute`."""
    archs, accuracy, layers = [], [], []
    with open(path, newline="") as stream:
        for row in csv.DictReader(stream):
            archs.append(row["arch_str"])
            accuracy.append(float(row["accuracy"]))
            pairs = (item.rsplit("=", 1) for item in row["layers"].split(";") if item)
            layers.append({name: float(value) for name, value in pairs})
    return archs, np.array(accuracy), layers


def report(args: argparse.Namespace) -> None:
    from near import analysis

    archs, accuracy, layers = load(args.out)
    names, matrix = analysis.contribution_matrix(
        layers, lambda key: analysis.nb201_position(key.split(":")[0]), analysis.NB201_POSITIONS
    )
    total = matrix.sum(axis=1)
    print(f"\n{len(archs)} cells; NEAR (sum of all layers) ρ = {near.metrics.spearman(total, accuracy):.3f}")
    result = analysis.layer_subset_correlations(
        matrix, accuracy, names=names, subset_size=args.subset, subsets=args.subsets, seed=0
    )
    print(f"random subsets of {args.subset} of {len(names)} positions ({args.subsets} subsets):")
    print(
        f"{'position':<12} {'share of NEAR':>13} {'ρ alone':>8} {'mean ρ, subsets with it':>24} {'with − without':>15}"
    )
    for i, name in enumerate(names):
        alone = result.alone[i]
        print(
            f"{name:<12} {result.share[i]:>13.3f} {'—' if math.isnan(alone) else f'{alone:.3f}':>8} "
            f"{result.with_layer[i]:>24.3f} {result.with_layer[i] - result.without_layer[i]:>+15.4f}"
        )
    rho = result.subset_rho
    best = int(np.nanargmax(result.with_layer))
    print(
        f"ρ over the subsets: mean {np.nanmean(rho):.3f}, min {np.nanmin(rho):.3f}, 5–95 % "
        f"{np.nanpercentile(rho, 5):.3f}–{np.nanpercentile(rho, 95):.3f}, max {np.nanmax(rho):.3f}; "
        f"with the best position ({names[best]}): {result.with_layer[best]:.3f}, without it: "
        f"{result.without_layer[best]:.3f}"
    )
    if args.figure:
        from near.report.analysis import layer_figure

        args.figure.parent.mkdir(parents=True, exist_ok=True)
        args.figure.write_bytes(layer_figure(result))
        print(f"figure: {args.figure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--repetitions", type=int, default=2)
    parser.add_argument("--subset", type=int, default=6, help="positions per random subset (paper: 6)")
    parser.add_argument("--subsets", type=int, default=2000, help="random subsets drawn")
    parser.add_argument("--out", type=Path, default=Path("out/nb201_layers.csv"))
    parser.add_argument("--figure", type=Path, default=None, help="write the A.7-style figure (PNG) here")
    parser.add_argument("--report-only", action="store_true", help="analyse --out without scoring more cells")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    if not args.report_only:
        compute(args)
    report(args)


if __name__ == "__main__":
    main()
