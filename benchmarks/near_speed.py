"""NEAR's cost per repetition relative to a plain forward pass, on NAS-Bench-201 cells (issue 6, "one machine").

Every cell is drawn and built as ``near bench`` draws and builds it (the seed-0 sample of the NB201 CIFAR-10
table, weights seeded per architecture), in train mode as built. For each cell it prints:

* a plain forward pass on 16 CIFAR-10 images (``torch.no_grad()``), as the images come (NCHW),
* the same forward pass on channels-last images, the memory format NEAR feeds a CNN on the CPU, and on
  the 10 channels-last images NEAR's own forward pass carries (the classifier's 10 neurons),
* NEAR per repetition: one ``near.score(net, x, repetitions=32, seed=0)`` call ÷ 32,
* its ratio to each forward pass (the target is 1.0 or less),
* the authors' algorithm per repetition (``reset_parameters`` + one sample per forward pass, as re-stated
  in ``tests/reference.py``), for contrast,

then the median and mean ratio over the cells. Times are medians of ``--runs`` runs, interleaved so that
load from other processes hits every quantity alike.

    PYTHONPATH=src python benchmarks/near_speed.py [--cells 20] [--threads 1] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import near
import near.spaces
from near import bench
from near.bench import arch_seed
from near.errors import ZeroMatrixWarning
from near.rng import isolated_rng

sys.path.insert(0, str(Path(__file__).resolve().parent))
from near_vs_authors_nb201 import authors_near  # noqa: E402


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repetitions", type=int, default=32, help="repetitions of the NEAR call (default 32)")
    parser.add_argument("--runs", type=int, default=3, help="runs per quantity; medians are reported")
    parser.add_argument("--authors-repetitions", type=int, default=4)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", ZeroMatrixWarning)  # cells whose 'none' edges cut the graph
    space = near.spaces.get("nb201")
    rows = bench.read_table(args.data / "nb201" / "nb201_cifar10.csv", space).sample(args.cells, 0)
    x = bench.load_images(args.data / "images" / "cifar10_960.npz").x
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {len(rows)} NB201 cells, "
        f"NEAR with {args.repetitions} repetitions, medians of {args.runs} runs\n"
    )
    print(
        f"{'cell':>6} {'forward16 ms':>13} {'channels-last':>14} {'CL on 10':>9} {'NEAR/rep ms':>12} {'ratio':>6} "
        f"{'ratio CL':>9} {'authors/rep ms':>15} {'ratio':>6}"
    )
    ratios, ratios_cl, authors_ratios, rest = [], [], [], []
    x_cl = x.contiguous(memory_format=torch.channels_last)
    for row in rows:
        with isolated_rng(arch_seed(0, row.arch_str, "model")):
            net = space.build(row.arch, num_classes=10)

        def forward(images, samples=16, net=net) -> float:
            """Median seconds of 5 plain forward passes (after a warm-up)."""

            def once():
                with torch.no_grad():
                    net(images[:samples])

            once()
            return statistics.median(seconds(once) for _ in range(5))

        times: dict[str, list[float]] = {"forward": [], "forward_cl": [], "forward_cl10": [], "near": [], "authors": []}
        for _ in range(args.runs):
            times["forward"].append(forward(x))
            times["forward_cl"].append(forward(x_cl))
            times["forward_cl10"].append(forward(x_cl, 10))
            near_call = seconds(lambda net=net: near.score(net, x, repetitions=args.repetitions, seed=0))
            times["near"].append(near_call / args.repetitions)
            model = copy.deepcopy(net)  # the authors' loop re-initialises the model in place
            authors = seconds(lambda model=model: authors_near(model, x[:64], args.authors_repetitions, 0))
            times["authors"].append(authors / args.authors_repetitions)
        plain, plain_cl, plain_cl10, per_rep, by_authors = (
            statistics.median(times[key]) for key in ("forward", "forward_cl", "forward_cl10", "near", "authors")
        )
        ratios.append(per_rep / plain)
        ratios_cl.append(per_rep / plain_cl)
        rest.append((per_rep - plain_cl10) / plain_cl)
        authors_ratios.append(by_authors / plain)
        print(
            f"{row.index:>6} {plain * 1e3:13.1f} {plain_cl * 1e3:14.1f} {plain_cl10 * 1e3:9.1f} {per_rep * 1e3:12.1f} "
            f"{ratios[-1]:6.2f} {ratios_cl[-1]:9.2f} {by_authors * 1e3:15.1f} {authors_ratios[-1]:6.2f}",
            flush=True,
        )
    for name, values in (("forward on 16", ratios), ("channels-last forward on 16", ratios_cl)):
        print(
            f"\nNEAR per repetition ÷ {name}: median {np.median(values):.2f}, mean {np.mean(values):.2f}, "
            f"range {min(values):.2f}–{max(values):.2f}"
        )
    print(
        "NEAR per repetition beyond its own forward pass (channels-last, 10 samples) ÷ channels-last forward on 16: "
        f"median {np.median(rest):.2f}, range {min(rest):.2f}–{max(rest):.2f}"
    )
    print(
        f"authors per repetition ÷ forward on 16: median {np.median(authors_ratios):.2f}, "
        f"mean {np.mean(authors_ratios):.2f}"
    )


if __name__ == "__main__":
    main()
