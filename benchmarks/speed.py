"""Speed and memory of one NEAR repetition relative to a plain forward pass (CPU).

Prints, for an NB201-style cell network (17 cells/blocks) and an MNIST-sized MLP:
* the time of one plain forward pass on 16 samples,
* NEAR with repetitions=1 (a whole call: model copy, layer probe, one scoring pass) ÷ that forward,
* NEAR per repetition in a 16-repetition call ÷ that forward,
* the same per repetition for the authors' algorithm (one sample per forward pass, as re-stated in
  tests/reference.py),
* peak resident memory of a process that runs NEAR vs one that runs the plain forward pass,
  and the bytes NEAR keeps per repetition (its square matrices) vs all activations of the pass.

    python benchmarks/speed.py [--threads 2]

For the per-repetition cost on real NAS-Bench-201 cells (issue 6's ratio), see ``near_speed.py``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from models import mnist_mlp, nb201_like  # noqa: E402

import near  # noqa: E402
from reference import reference_near  # noqa: E402

CASES = {
    "nb201-like CNN (17 cells/blocks)": (nb201_like, lambda n: torch.randn(n, 3, 32, 32)),
    "MLP 784-200-200-10": (mnist_mlp, lambda n: torch.rand(n, 28, 28)),
}


def best_time(fn, repeat: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def peak_rss_mib(case: str, batch: int, what: str) -> float:
    """Peak RSS (MiB) of a fresh process that builds the model and runs NEAR or a plain forward pass once."""
    code = f"""
import resource, sys, torch
sys.path[:0] = {[str(HERE), str(HERE.parent / "tests")]!r}
import near
from speed import CASES
build, data = CASES[{case!r}]
torch.manual_seed(0); net = build(); x = data(512)
if {what!r} == "near":
    near.score(net, x, seed=0)
else:
    with torch.no_grad():
        net(x[:{batch}])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=HERE)
    return int(out.stdout.split()[-1]) / 1024


def activation_bytes(net, x) -> int:
    """Bytes of every scored layer's full output in one forward pass (what a naive capture keeps)."""
    total = 0

    def hook(module, args, output):
        nonlocal total
        output = output[0] if isinstance(output, tuple) else output
        total += output.numel() * output.element_size()

    handles = [
        m.register_forward_hook(hook) for m in net.modules() if hasattr(m, "weight") or isinstance(m, torch.nn.ReLU)
    ]
    with torch.no_grad():
        net(x)
    for h in handles:
        h.remove()
    return total


def measure(case: str, build, data, repetitions: int = 16) -> None:
    torch.manual_seed(0)
    net, x = build(), data(512)
    with torch.no_grad():
        forward = best_time(lambda: net(x[:16]))
    one = best_time(lambda: near.score(net, x, seed=0))
    per_rep = best_time(lambda: near.score(net, x, seed=0, repetitions=repetitions), repeat=3) / repetitions
    rng = np.random.default_rng(0)
    authors = best_time(lambda: reference_near(net, x, rng), repeat=3)
    result = near.score(net, x, seed=0)
    kept = sum(layer.size**2 * 4 for layer in result.layers)
    everything = activation_bytes(net, x[: result.batch_size])
    near_rss, plain_rss = (peak_rss_mib(case, result.batch_size, what) for what in ("near", "forward"))
    print(case)
    print(f"  plain forward, 16 samples          {forward * 1e3:8.1f} ms")
    print(f"  NEAR, repetitions=1 (whole call)   {one / forward:8.2f} x forward ({one * 1e3:.1f} ms)")
    print(
        f"  NEAR, per repetition of {repetitions:<3d}        "
        f"{per_rep / forward:8.2f} x forward ({per_rep * 1e3:.1f} ms)"
    )
    print(f"  authors' algorithm, per repetition {authors / forward:8.2f} x forward ({authors * 1e3:.1f} ms)")
    print(f"  forward batch                      {result.batch_size:8d} samples, {len(result.layers)} matrices")
    print(f"  kept per repetition                {kept / 2**20:8.2f} MiB (all: {everything / 2**20:.2f} MiB)")
    print(f"  peak RSS                           NEAR {near_rss:.0f} MiB, plain forward {plain_rss:.0f} MiB")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads\n")
    for case, (build, data) in CASES.items():
        measure(case, build, data)


if __name__ == "__main__":
    main()
