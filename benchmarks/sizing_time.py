"""CPU time of sizing a 2-hidden-layer MLP on MNIST with the defaults, on one torch thread.

    python benchmarks/sizing_time.py

CPU seconds of one thread depend less than wall time on what else a shared VM runs (the
reason the docs quote this figure). Data: ../shared/data/images/mnist_5k.npz (or $NEAR_SHARED_DATA).
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import torch

import near
from near.data import load_data

SHARED = Path(os.environ.get("NEAR_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def main() -> None:
    torch.set_num_threads(1)
    x = load_data(str(SHARED / "images" / "mnist_5k.npz")).x
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", near.SizingWarning)  # gamma ~ 0 on MNIST: the timing is the point here
        near.estimate_layer_sizes(x[:300], 1, widths=(8, 16, 32, 64), repetitions=1, seed=0)  # warm-up
        cpu, wall = time.process_time(), time.perf_counter()
        result = near.estimate_layer_sizes(x, 2, seed=0)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"sizes {result.sizes}: {cpu:.1f} s CPU on 1 thread ({wall:.1f} s wall), torch {torch.__version__}")


if __name__ == "__main__":
    main()
