"""NEAR's C×C feature-map block against the full feature-map matrix (paper appendix A.8, Table 13, Figs. A.8–A.9).

    python benchmarks/submatrix_rank.py --repetitions 20 [--samples 1,10,32] [--figure out/a8.png] [--data DIR]

One Conv2d(3, C, k, padding k // 2) with PyTorch's default initialisation, on CIFAR-10 images (the 960 of
``cifar10_960.npz``, normalised as ``near bench`` does), for every kernel size k = 1…9 and C = 1…13
output channels; for each of 1, 10 and 32 images, :func:`near.analysis.feature_map_ranks` gives the
effective rank of the full ``(images·32·32) × C`` matrix and of NEAR's ``C × C`` block, ``--repetitions``
times (fresh weights, fresh images). Printed, per number of images and per tensor (the conv output =
pre-activation, after a ReLU = post-activation):

* Spearman ρ between the two mean eranks over all 117 (k, C) configurations, and per kernel size over
  the 13 channel counts (the paper's Table 13 reports 0.95–0.99);
* the stricter within-configuration ρ: over the repetitions of one (k, C), does the block's erank follow
  the full matrix's? (median over the configurations with C ≥ 2).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

from near import analysis, bench, metrics
from near.errors import ZeroMatrixWarning

KERNELS = range(1, 10)
CHANNELS = range(1, 14)


def main() -> None:
    default = Path(os.environ.get("NEAR_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=20)
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--samples", default="1,10,32", help="numbers of images, comma-separated")
    parser.add_argument("--figure", type=Path, default=None, help="write the A.8-style figure (PNG) here")
    args = parser.parse_args()
    images = bench.load_images(args.data / "images" / "cifar10_960.npz", num_images=960).x
    warnings.simplefilter("ignore", ZeroMatrixWarning)  # a 1-channel ReLU block can be all zero: erank 0, as NEAR
    start = time.perf_counter()
    results = {}
    for activation in (None, "relu"):
        for samples in (int(n) for n in args.samples.split(",")):
            full = np.zeros((len(KERNELS), len(CHANNELS), args.repetitions))
            block = np.zeros_like(full)
            for i, k in enumerate(KERNELS):
                for j, c in enumerate(CHANNELS):
                    seed = 1000 * samples + 100 * k + c
                    full[i, j], block[i, j] = analysis.feature_map_ranks(
                        images, k, c, samples, repetitions=args.repetitions, activation=activation, seed=seed
                    )
            results[activation, samples] = full, block
    print(f"{time.perf_counter() - start:.0f} s for {args.repetitions} repetitions per configuration\n")
    for (activation, samples), (full, block) in results.items():
        tensor = "post (ReLU)" if activation else "pre (conv)"
        mean_full, mean_block = full.mean(-1), block.mean(-1)
        overall = metrics.spearman(mean_full.ravel(), mean_block.ravel())
        per_kernel = [metrics.spearman(mean_full[i], mean_block[i]) for i in range(len(KERNELS))]
        pairs = [(i, j) for i in range(len(KERNELS)) for j in range(1, len(CHANNELS))]
        within = [metrics.spearman(full[i, j], block[i, j]) for i, j in pairs]
        print(
            f"{tensor:<12} {samples:>2} images: ρ over the 117 configurations {overall:.3f}; per kernel size "
            f"{min(per_kernel):.3f}–{max(per_kernel):.3f}; within a configuration (median over C ≥ 2) "
            f"{np.nanmedian(within):.3f}; mean erank full / block at C = 13: "
            f"{mean_full[:, -1].mean():.2f} / {mean_block[:, -1].mean():.2f}"
        )
        print("    per kernel size 1…9: " + " ".join(f"{rho:.3f}" for rho in per_kernel))
    if args.figure:
        from near.report.analysis import submatrix_figure

        args.figure.parent.mkdir(parents=True, exist_ok=True)
        full, block = results[None, max(samples for _, samples in results)]
        args.figure.write_bytes(submatrix_figure(list(KERNELS), list(CHANNELS), full.mean(-1), block.mean(-1)))
        print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
