"""Every proxy of the zoo on random NAS-Bench-201 cells: cost per proxy and a first look at how well each
predicts the CIFAR-10 test accuracy (a sanity check of signs and faithfulness, not the paper's Table 1 —
that needs ≥ 1000 cells and the benchmark harness).

    python benchmarks/proxies_nb201.py --cells 40 --seed 0 [--data ../shared/data] [--threads 2]

Each cell is built with ``near.spaces.build("nb201", arch)`` (PyTorch's default initialisation, seeded by
the cell's index), fed the first 128 CIFAR-10 images of ``images/cifar10_960.npz`` (normalised with the
CIFAR mean and std) with their labels, and scored by ``near.proxies.compute_many`` with every proxy at its
reference settings (zico: the 128 images split into 2 batches).
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

import near.proxies
import near.spaces

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def cifar_batch(data: Path, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    arrays = np.load(data / "images" / "cifar10_960.npz")
    x = torch.from_numpy(arrays["images"][:n]).float() / 255
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    return x, torch.from_numpy(arrays["labels"][:n]).long()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with open(args.data / "nb201" / "nb201_cifar10.csv") as handle:
        accuracy = {row["arch_str"]: float(row["test_accuracy"]) for row in csv.DictReader(handle)}
    archs = near.spaces.get("nb201").sample(args.cells, seed=args.seed)
    x, y = cifar_batch(args.data, 128)
    names = near.proxies.available()
    scores = {name: [] for name in names}
    seconds = {name: [] for name in names}
    start = time.perf_counter()
    for i, arch in enumerate(archs):
        torch.manual_seed(args.seed + i)
        model = near.spaces.build("nb201", arch, num_classes=10)
        values = near.proxies.compute_many(
            names, model, x, y, seed=args.seed, options={"zico": {"split": 2}}, on_error="nan"
        )
        for name, value in values.items():
            scores[name].append(float(value))
            seconds[name].append(value.seconds)
        print(f"{i + 1}/{len(archs)} cells, {time.perf_counter() - start:.0f} s", flush=True)

    acc = np.array([accuracy[a] for a in archs])
    print(f"\n{len(archs)} random NB201 cells (seed {args.seed}), CIFAR-10 test accuracy, {args.threads} threads\n")
    print("| proxy | Spearman ρ | Kendall τ | NaN | seconds per cell (median) |")
    print("|---|---|---|---|---|")
    for name in names:
        s = np.array(scores[name])
        ok = np.isfinite(s)
        rho = stats.spearmanr(s[ok], acc[ok]).statistic if ok.sum() > 2 else math.nan
        tau = stats.kendalltau(s[ok], acc[ok]).statistic if ok.sum() > 2 else math.nan
        print(f"| {name} | {rho:.3f} | {tau:.3f} | {(~ok).sum()} | {np.median(seconds[name]):.3f} |")


if __name__ == "__main__":
    main()
