"""Throughput of `near bench`: NB201 architectures scored per minute, at 1 and at 32 NEAR repetitions.

Each measurement is one complete `near bench` command in a fresh process and a fresh output directory (so
nothing is reused): the wall time includes starting Python, the workers and writing the report. Cells are
drawn from the real NB201 CIFAR-10 table and scored on the 960 CIFAR-10 images of ../shared/data.

    python benchmarks/bench_throughput.py [--cells 60] [--repetitions 1 32] [--executors processes serial]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def measure(executor: str, repetitions: int, cells: int, proxies: str, workers: int | None) -> tuple[float, dict]:
    """Wall seconds of one `near bench` command, and its run.json."""
    with tempfile.TemporaryDirectory() as out:
        words = [
            *(sys.executable, "-m", "near", "bench", "nb201", "-t", str(DATA / "nb201/nb201_cifar10.csv")),
            *("-i", str(DATA / "images/cifar10_960.npz"), "-p", proxies, "-n", str(cells), "-s", "0"),
            *("-r", str(repetitions), "-o", out, "--executor", executor),
            *(("--workers", str(workers)) if workers else ()),
        ]
        start = time.perf_counter()
        subprocess.run(words, check=True, capture_output=True)
        seconds = time.perf_counter() - start
        return seconds, json.loads((Path(out) / "run.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=60)
    parser.add_argument("--repetitions", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--executors", nargs="+", default=["processes", "serial"])
    parser.add_argument("--proxies", default="near")
    parser.add_argument("--workers", type=int, default=None, help="For the processes executor; default one per core.")
    args = parser.parse_args()
    print(f"near bench nb201, {args.cells} cells, proxies {args.proxies}")
    print(f"{'executor':<10} {'workers':>7} {'threads':>7} {'reps':>5} {'seconds':>8} {'arch/min':>9}")
    for repetitions in args.repetitions:
        for executor in args.executors:
            seconds, record = measure(executor, repetitions, args.cells, args.proxies, args.workers)
            used = record["executor"]
            print(
                f"{executor:<10} {used['workers']:>7} {used['threads']!s:>7} {repetitions:>5} {seconds:>8.1f} "
                f"{60 * args.cells / seconds:>9.1f}"
            )


if __name__ == "__main__":
    main()
