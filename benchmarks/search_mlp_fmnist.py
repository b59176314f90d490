"""NEAR's pick from the MLP search space against training the alternatives, on Fashion-MNIST (issue 16).

A training-free search (``near.search``, space ``mlp``: 1–4 hidden layers of 16–512 units, every activation
and initialisation) scores ``--archs`` networks with NEAR on 512 training images. Then the pick (NEAR's
top architecture) and ``--compare`` others spread evenly over the archive's NEAR ranking are trained on the
full training set with the protocol of ``mlp_fmnist_tables.py`` (Adam, early stopping on 5,000 held-out
images, official test split, one thread), ``--seeds`` seeds each:

    python benchmarks/search_mlp_fmnist.py --archs 100 --compare 8 --seeds 0 1 --out runs/search-mlp-fmnist

Prints one JSON line per trained network (NEAR rank, parameters, test accuracy/loss), then the pick's place
among the trained networks and Spearman rho of NEAR (and of #parameters) against mean test accuracy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlp_fmnist_tables import tensors, train  # noqa: E402  (the same data and training protocol)
from mlp_sizing import FMNIST  # noqa: E402

import near.search as ns  # noqa: E402
from near.metrics import spearman  # noqa: E402
from near.search.spaces import MLPSpace  # noqa: E402


def parse_key(key: str) -> tuple:
    """``"128-64/relu/xavier_uniform"`` back to the space's ``((128, 64), "relu", "xavier_uniform")``."""
    widths, activation, init = key.split("/")
    return tuple(int(w) for w in widths.split("-")), activation, init


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", type=int, default=100, help="architectures the search scores")
    parser.add_argument("--compare", type=int, default=8, help="other architectures trained beside the pick")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--search-seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)

    result = ns.search(
        "mlp", str(FMNIST), "near", out_dir=args.out, seed=args.search_seed, max_archs=args.archs,
        num_images=512, normalize="none", top=args.archs,
    )  # fmt: skip
    ranked = [entry for entry in result.best if np.isfinite(entry["fitness"])]  # best first
    picks = np.unique(np.linspace(0, len(ranked) - 1, args.compare + 1).round().astype(int))
    x, y, xt, yt = tensors()
    space = MLPSpace(input_shape=(1, 28, 28))
    rows = []
    for rank in picks:
        entry = ranked[rank]
        arch = parse_key(entry["arch"])
        runs = []
        for seed in args.seeds:
            torch.manual_seed(seed)
            runs.append(train(space.build(arch, 10), x, y, xt, yt, seed, args.epochs))
        model = space.build(arch, 10)
        row = {
            "arch": entry["arch"], "near_rank": int(rank) + 1, "near": entry["scores"]["near"],
            "parameters": sum(p.numel() for p in model.parameters()),
            "test_accuracy": float(np.mean([r["test_accuracy"] for r in runs])),
            "test_loss": float(np.mean([r["test_loss"] for r in runs])), "runs": runs,
        }  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
    accuracy = [r["test_accuracy"] for r in rows]
    summary = {
        "scored": result.scored,
        "search_seconds": result.seconds,
        "pick": rows[0]["arch"],
        "pick_accuracy": rows[0]["test_accuracy"],
        "pick_place": 1 + sum(a > rows[0]["test_accuracy"] for a in accuracy),
        "trained": len(rows),
        "best_trained": max(rows, key=lambda r: r["test_accuracy"])["arch"],
        "spearman_near": spearman([r["near"] for r in rows], accuracy),
        "spearman_params": spearman([r["parameters"] for r in rows], accuracy),
    }
    print(json.dumps(summary, indent=1))
    (args.out / "trained.json").write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
