"""How many torch threads train a small MLP fastest (the default of ``--threads`` for ``--verify``).

    python benchmarks/mlp_threads.py [--threads 1 2] [--repeat 3]

Trains, for each thread count, a few epochs of Adam (batch 128) on random data for two MLPs: 30-64-64-1
(a regression MLP, 4,000 samples) and 784-200-200-10 (MNIST-sized, 4,000 samples); prints the median
wall time of ``--repeat`` runs. Small matrices give each thread little work, so extra threads mostly add
synchronisation — and on a machine whose cores are busy, a thread that waits for a core stalls the others.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

SHAPES = {"30-64-64-1": (30, (64, 64), 1), "784-200-200-10": (784, (200, 200), 10)}


def run(shape: tuple, epochs: int, samples: int) -> float:
    inputs, hidden, outputs = shape
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(samples, inputs, generator=g), torch.randn(samples, outputs, generator=g)
    torch.manual_seed(0)
    layers, width = [], inputs
    for h in hidden:
        layers += [nn.Linear(width, h), nn.SiLU()]
        width = h
    model = nn.Sequential(*layers, nn.Linear(width, outputs))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in torch.randperm(samples, generator=g).split(128):
            opt.zero_grad(set_to_none=True)
            nn.functional.mse_loss(model(x[batch]), y[batch]).backward()
            opt.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=4000)
    args = parser.parse_args()
    print("| MLP | " + " | ".join(f"{t} thread{'s' * (t > 1)}" for t in args.threads) + " |")
    print("|---|" + "---|" * len(args.threads))
    for name, shape in SHAPES.items():
        cells = []
        for threads in args.threads:
            torch.set_num_threads(threads)
            cells.append(statistics.median(run(shape, args.epochs, args.samples) for _ in range(args.repeat)))
        print(f"| {name} | " + " | ".join(f"{c:.2f} s" for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
