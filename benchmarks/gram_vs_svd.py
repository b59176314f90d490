"""How far NEAR's Gram-eigenvalue effective ranks are from the SVD's, and what each costs (README, precision).

Collects every matrix NEAR scores in 2 repetitions of ``--cells`` NB201 cells (built as ``near bench`` builds
them, fed the CIFAR-10 images of ../shared/data), then prints

* the largest relative difference between ``gram_effective_ranks`` and the effective rank of the float64 SVD,
* for contrast, the largest relative change of the SVD's effective rank when the matrix is rounded to float32
  precision once more (each entry times 1 + 6e-8·N(0, 1)): the precision the float32 activations carry,
* the time of both routes per matrix size, on one thread, in stacks of one repetition's matrices of that size
  (the batches NEAR computes).

    PYTHONPATH=src python benchmarks/gram_vs_svd.py [--cells 10] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
import warnings
from collections import defaultdict
from pathlib import Path
from unittest import mock

import torch

import near
import near.spaces
from near import bench
from near.bench import arch_seed
from near.rank import erank_from_singular_values, gram_effective_ranks
from near.rng import isolated_rng

score_module = importlib.import_module("near.score")  # the module; ``near.score`` is the function


def svd_ranks(stack: torch.Tensor) -> torch.Tensor:
    return erank_from_singular_values(torch.linalg.svdvals(stack))


def collect(cells: int, data: Path) -> list[torch.Tensor]:
    """Every matrix NEAR computes an effective rank of, in 2 repetitions of each cell."""
    space = near.spaces.get("nb201")
    rows = bench.read_table(data / "nb201" / "nb201_cifar10.csv", space).sample(cells, 0)
    x = bench.load_images(data / "images" / "cifar10_960.npz").x
    matrices, original = [], score_module._effective_ranks

    def keep(found, *args):
        matrices.extend(found.values())
        return original(found, *args)

    with mock.patch.object(score_module, "_effective_ranks", keep), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cut cells' all-zero matrices
        for row in rows:
            with isolated_rng(arch_seed(0, row.arch_str, "model")):
                net = space.build(row.arch, num_classes=10)
            near.score(net, x, repetitions=2, seed=0)
    return [m.double() for m in matrices if m.abs().amax() > 0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=10)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    torch.set_num_threads(1)
    matrices = collect(args.cells, args.data)
    gram_gap, float32_gap = 0.0, 0.0
    by_size = defaultdict(list)
    generator = torch.Generator().manual_seed(0)
    for matrix in matrices:
        by_size[matrix.shape[0]].append(matrix)
        exact = svd_ranks(matrix[None])
        gram_gap = max(gram_gap, float(((gram_effective_ranks(matrix[None]) - exact).abs() / exact).max()))
        rounded = matrix * (1 + 6e-8 * torch.randn(matrix.shape, generator=generator, dtype=matrix.dtype))
        float32_gap = max(float32_gap, float(((svd_ranks(rounded[None]) - exact).abs() / exact).max()))
    print(f"{len(matrices)} matrices of {args.cells} NB201 cells (2 NEAR repetitions each)")
    print(f"largest relative difference, Gram route vs SVD:          {gram_gap:.1e}")
    print(f"largest relative change of the SVD's, float32 rounding:  {float32_gap:.1e}\n")
    passes = 2 * args.cells
    print(f"{'size':>5} {'per repetition':>15} {'SVD ms':>8} {'Gram ms':>8}")
    for size, group in sorted(by_size.items()):
        stacks = torch.stack(group).chunk(passes)
        times = {}
        for name, route in (("svd", svd_ranks), ("gram", gram_effective_ranks)):
            route(stacks[0])
            times[name] = statistics.median(sum(_seconds(route, stack) for stack in stacks) for _ in range(5)) / passes
        print(f"{size:>5} {len(group) / passes:>15.1f} {times['svd'] * 1e3:8.2f} {times['gram'] * 1e3:8.2f}")


def _seconds(route, stack) -> float:
    start = time.perf_counter()
    route(stack)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
