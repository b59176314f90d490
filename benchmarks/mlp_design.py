"""MLP design without training, and the training that checks it (docs/mlp-design.md).

    python benchmarks/mlp_design.py speed  [--threads 2]      # sizing speed, before/after the shared forward passes
    python benchmarks/mlp_design.py table8 [--seeds 5]        # activation x init grid, NEAR vs trained test loss
    python benchmarks/mlp_design.py table6 [--seeds 5]        # estimated sizes, then widths around them trained
    python benchmarks/mlp_design.py all

Data: ../shared/data/images/mnist_5k.npz (or $NEAR_SHARED_DATA/images/mnist_5k.npz), never copied here.
Results: JSON and PNGs under docs/img/ (override with --out); markdown tables on stdout.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

import near
from near.data import load_data
from near.mlp import sizing
from near.mlp.build import build_mlp, resolve_init
from near.mlp.plots import plot_near_vs_loss
from near.mlp.sizing import SizingWarning, default_widths, layer_relative_scores, verify_sizes

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEAR_SHARED_DATA", ROOT.parent / "shared" / "data"))
MNIST = SHARED / "images" / "mnist_5k.npz"


def mnist():
    if not MNIST.is_file():
        sys.exit(f"{MNIST} not found: set NEAR_SHARED_DATA to the folder holding images/mnist_5k.npz")
    return load_data(str(MNIST))


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def naive_sizing(x: torch.Tensor, hidden_layers: int, repetitions: int) -> list[np.ndarray]:
    """The straightforward way: one near.score call per layer and candidate width, on the whole MLP
    (every width builds its own network and runs its own forward passes)."""
    widths = default_widths(len(x))
    fixed, out = [], []
    for layer in range(1, hidden_layers + 1):
        rel = []
        for s in widths:
            factory = functools.partial(build_mlp, x[0].numel(), (*fixed, s), 10, nn.SiLU)
            names = [str(2 * layer - 1), str(2 * layer)]
            result = near.score(factory, x, repetitions=repetitions, seed=0, layers=names)
            rel.append(result.mean / (2 * s))
        fixed.append(200)  # the fixed width does not change the cost much; the estimate itself is not the point
        out.append(np.array(rel))
    return out


def speed(args) -> dict:
    x = mnist().x
    r = sizing.DEFAULT_REPETITIONS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SizingWarning)
        after, result = timed(lambda: near.estimate_layer_sizes(x, 2, seed=0), args.repeat)
        _, init_fn = resolve_init(None)
        flat = x.flatten(1)
        built, _ = timed(
            lambda: [
                layer_relative_scores(
                    flat,
                    fixed,
                    default_widths(len(x)),
                    activation=nn.SiLU,
                    init=init_fn,
                    sliceable=False,
                    repetitions=r,
                    seed=0,
                    layer=k + 1,
                )
                for k, fixed in enumerate([(), (200,)])
            ],
            args.repeat,
        )
        before, _ = timed(lambda: naive_sizing(x, 2, r), 1)
    out = {
        "command": "near.estimate_layer_sizes(mnist_5k, 2) (defaults: widths 8..1024, 8 repetitions, silu)",
        "sizes": list(result.sizes),
        "seconds_shared_forward_sliced_widths": after,
        "seconds_shared_forward_each_width_built": built,
        "seconds_one_near_score_call_per_width": before,
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(out, indent=2))
    print(
        "\n| method | seconds |\n|---|---|\n"
        f"| near.estimate_layer_sizes (shared forward, sliced widths) | {after:.2f} |\n"
        f"| shared forward, every width built | {built:.2f} |\n"
        f"| one near.score call per width | {before:.2f} |"
    )
    return out


TABLE8_ACTIVATIONS = ("silu", "relu", "tanh", "tanhshrink")
TABLE8_INITS = ("kaiming_uniform", "xavier_uniform", "uniform")


def table8(args) -> dict:
    data = mnist()
    start = time.perf_counter()
    result = near.select(
        data.x,
        (200, 200),
        activations=TABLE8_ACTIVATIONS,
        inits=TABLE8_INITS,
        labels=data.y,
        repetitions=args.repetitions,
        seed=0,
        verify=True,
        training_seeds=range(args.seeds),
        progress=True,
    )
    seconds = time.perf_counter() - start
    out = {"seconds": seconds, **result.to_dict()}
    (args.out / "table8.json").write_text(json.dumps(out, indent=1))
    rows = sorted(result.rows, key=lambda r: float(np.mean(r.test_loss)))
    plot_near_vs_loss(
        [r.mean for r in rows],
        [float(np.mean(r.test_loss)) for r in rows],
        [f"{r.activation}/{r.init}" for r in rows],
        [r.bad for r in rows],
        args.out / "table8_near_vs_loss.png",
    )
    print(f"\n{seconds:.0f} s\n")
    print("| σ, init | test loss | test accuracy | NEAR | NEAR rank | flagged |\n|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.activation}, {r.init} | {np.mean(r.test_loss):.3f} ± {np.std(r.test_loss, ddof=1):.3f} | "
            f"{np.mean(r.test_accuracy):.3f} ± {np.std(r.test_accuracy, ddof=1):.3f} | {r.mean:.1f} ± {r.std:.1f} | "
            f"{r.rank} | {'clearly bad' if r.bad else ''} |"
        )
    print(f"\nSpearman: {result.spearman}")
    return out


def table6(args) -> dict:
    data = mnist()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SizingWarning)
        sizing = near.estimate_layer_sizes(
            data.x, 2, outputs=10, seed=0, repetitions=args.size_repetitions, rule="paper"
        )
    sizing_seconds = time.perf_counter() - start
    sizing.plot(args.out)
    for path in args.out.glob("layer*.png"):
        path.rename(args.out / f"table6_{path.name}")
    s1, s2 = sizing.sizes
    joint = [(max(1, round(s1 * f)), max(1, round(s2 * f))) for f in (0.125, 0.25, 0.5, 1, 2, 4)]
    lopsided = [(s1, s2 // 2), (s1 // 2, s2), (2 * s1, s2), (s1, 2 * s2)]
    start = time.perf_counter()
    check = verify_sizes(
        sizing, data.x, data.y, hidden=joint + lopsided, seeds=range(args.seeds), repetitions=8, progress=True
    )
    train_seconds = time.perf_counter() - start
    check.plot(args.out / "table6_loss_vs_parameters.png")
    out = {
        "sizing_seconds": sizing_seconds,
        "training_seconds": train_seconds,
        "sizing": sizing.to_dict(),
        "sizing_warnings": [str(w.message) for w in caught],
        "verification": check.to_dict(),
    }
    (args.out / "table6.json").write_text(json.dumps(out, indent=1))
    print(sizing.table())
    print(f"\nsizing {sizing_seconds:.1f} s, training {train_seconds:.0f} s\n")
    print("| hidden widths | parameters | NEAR | test loss | test accuracy |\n|---|---|---|---|---|")
    for row in sorted(check.rows, key=lambda r: r.parameters):
        d = row.to_dict()
        star = " (estimate)" if row.hidden == check.estimate else ""
        print(
            f"| {row.label}{star} | {row.parameters:,} | {d['near']:.1f} ± {d['near_std']:.1f} | "
            f"{d['test_loss']:.3f} ± {d['test_loss_std']:.3f} | "
            f"{d['test_accuracy']:.3f} ± {d['test_accuracy_std']:.3f} |"
        )
    print(f"\nSpearman: {check.spearman}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", choices=["speed", "table8", "table6", "all"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=5, help="training seeds (table8, table6)")
    parser.add_argument("--repetitions", type=int, default=32, help="NEAR repetitions per cell (table8)")
    parser.add_argument("--size-repetitions", type=int, default=sizing.DEFAULT_REPETITIONS)
    parser.add_argument("--repeat", type=int, default=3, help="timing repeats (speed)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, near {near.__version__}")
    for name in ("speed", "table8", "table6") if args.experiment == "all" else (args.experiment,):
        print(f"\n## {name}\n")
        globals()[name](args)


if __name__ == "__main__":
    main()
