"""What the proxies' input validation costs on `near bench`'s hot path: one `compute_many` per NB201 cell.

Times, on the bench's own inputs (the 960 CIFAR-10 images of ../shared/data, 10 classes), (a) the boundary
alone — building the ProxyContext, which checks the inputs (dense, real, finite), plus the labels' check —
and (b) whole `compute_many` calls for a few NB201 cells, each the fastest of several rounds. Run it once
with this tree's ``src`` and once with another's to compare:

    PYTHONPATH=src python benchmarks/proxy_validation_cost.py [--proxies near,nwot,params] [--cells 4]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

import near.proxies as proxies
from near import spaces
from near.bench import load_images, read_table

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("NEAR_SHARED_DATA", ROOT.parent / "shared" / "data"))


def fastest(function, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proxies", default="near,nwot,params")
    parser.add_argument("--cells", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    images = load_images(DATA / "images" / "cifar10_960.npz")
    rows = read_table(DATA / "nb201" / "nb201_cifar10.csv", "nb201").sample(args.cells, 0)
    names = args.proxies.split(",")

    def boundary() -> None:
        context = proxies.ProxyContext(torch.nn.Linear(1, 1), images.x, images.y)
        context.batches  # noqa: B018  (the labels' check, where this version has one)

    check = fastest(boundary, 50)
    print(f"inputs {tuple(images.x.shape)} {images.x.dtype}; boundary (context + labels): {check * 1e3:.3f} ms")
    space = spaces.get("nb201")
    for row in rows:
        model = space.build(row.arch, num_classes=10)

        def one(model=model) -> None:
            proxies.compute_many(names, model, images.x, images.y, on_error="nan")

        whole = fastest(one, args.rounds)
        print(f"{row.arch_str}: compute_many {whole * 1e3:.1f} ms; the boundary is {100 * check / whole:.2f} % of it")


if __name__ == "__main__":
    main()
