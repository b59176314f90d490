"""NEAR as computed here against the authors' algorithm, on the same NAS-Bench-201 cells.

    python benchmarks/near_vs_authors_nb201.py --cells 150 --repetitions 3 [--data ../shared/data]

Every cell is built exactly as ``near bench`` builds it (the seed-0 sample of the NB201 CIFAR-10 table,
weights seeded per architecture) and scored three ways on the first 64 CIFAR-10 images: the authors'
algorithm as re-stated in ``tests/reference.py`` (one sample per forward pass in train mode, their block
rule, float32 effective ranks; ``reset_parameters`` between repetitions, the first on the built weights),
``near.score`` with its defaults (BatchNorm on the forward batch's statistics) and ``near.score`` with
``batchnorm="sample"`` (each sample's own statistics, as one sample per forward). Prints Spearman ρ and
Kendall τ of each with the test accuracy, and how closely the scores agree with the authors'.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

import near
import near.spaces
from near import bench, metrics
from near.bench import arch_seed
from near.rng import isolated_rng

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference import reference_near  # noqa: E402  (the test suite's statement of the authors' algorithm)


def authors_near(model: torch.nn.Module, x: torch.Tensor, repetitions: int, seed: int) -> float:
    """The authors' ``get_near_score``: the built weights first, then PyTorch's ``reset_parameters`` each time."""
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    values = []
    with isolated_rng(seed), torch.no_grad():
        model.train()
        for repetition in range(repetitions):
            if repetition:
                for module in model.modules():
                    if hasattr(module, "reset_parameters"):
                        module.reset_parameters()
            values.append(reference_near(model, x[torch.randperm(len(x), generator=generator)], rng))
    return float(np.mean(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=150)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    space = near.spaces.get("nb201")
    rows = bench.read_table(args.data / "nb201" / "nb201_cifar10.csv", space).sample(args.cells, 0)
    x = bench.load_images(args.data / "images" / "cifar10_960.npz").x[:64]

    def build(row):
        with isolated_rng(arch_seed(0, row.arch_str, "model")):
            return space.build(row.arch, num_classes=10)

    scores: dict[str, list[float]] = {"authors": [], "near (batch)": [], "near (sample)": []}
    start = time.perf_counter()
    for i, row in enumerate(rows):
        scores["authors"].append(authors_near(build(row), x, args.repetitions, i))
        model = build(row)
        scores["near (batch)"].append(near.score(model, x, repetitions=args.repetitions, seed=i).mean)
        scores["near (sample)"].append(
            near.score(model, x, repetitions=args.repetitions, seed=i, batchnorm="sample").mean
        )
        print(f"\r{i + 1}/{len(rows)} cells, {time.perf_counter() - start:.0f} s", end="", file=sys.stderr)
    print(file=sys.stderr)
    accuracy = [row.accuracy for row in rows]
    print(f"{len(rows)} NB201 cells, {args.repetitions} repetitions, 64 CIFAR-10 images")
    print("| scores | Spearman ρ | Kendall τ | ρ with the authors' scores |\n|---|---|---|---|")
    for name, values in scores.items():
        print(
            f"| {name} | {metrics.spearman(values, accuracy):.3f} | {metrics.kendall(values, accuracy):.3f} "
            f"| {metrics.spearman(values, scores['authors']):.3f} |"
        )


if __name__ == "__main__":
    main()
