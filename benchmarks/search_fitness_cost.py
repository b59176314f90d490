"""The search's own cost per scored architecture: the archive's fitness bookkeeping, no network built.

Replays what a regularised-evolution search asks of ``near.search.fitness.Archive`` after every scored
architecture (add it, find the best for the trajectory, read a tournament's fitness), on random proxy values
with a few NaN, and prints the total and per-architecture seconds for each combination. Run it against two
checkouts to compare them (``PYTHONPATH=src``):

    python benchmarks/search_fitness_cost.py --archs 3000 --proxies 2
"""

from __future__ import annotations

import argparse
import json
import random
import time

import numpy as np

from near.search.fitness import COMBINATIONS, Archive


def replay(combine: str, names: list[str], values: np.ndarray, tournament: int, seed: int) -> float:
    """Seconds the archive takes over one search of ``len(values)`` architectures."""
    rng, archive = random.Random(seed), Archive(names, combine)
    keys = [f"arch{i}" for i in range(len(values))]
    start = time.perf_counter()
    for i, key in enumerate(keys):
        archive.add(key, dict(zip(names, values[i])))
        best = archive.best(1)[0]
        archive.fitness(best)
        max(rng.sample(keys[: i + 1], min(tournament, i + 1)), key=archive.fitness)
    archive.best()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", type=int, default=3000)
    parser.add_argument("--proxies", type=int, default=2)
    parser.add_argument("--tournament", type=int, default=5)
    parser.add_argument("--combine", default=",".join(COMBINATIONS + ("2*p0+p1",)))
    args = parser.parse_args()
    names = [f"p{i}" for i in range(args.proxies)]
    values = np.random.default_rng(0).normal(size=(args.archs, args.proxies))
    values[np.random.default_rng(1).random(values.shape) < 0.01] = np.nan  # dead networks
    for combine in args.combine.split(","):
        try:
            seconds = replay(combine, names, values, args.tournament, 0)
        except Exception as error:  # a combination the checkout does not offer
            print(json.dumps({"combine": combine, "error": f"{type(error).__name__}: {error}"}))
            continue
        print(
            json.dumps(
                {
                    "combine": combine,
                    "archs": args.archs,
                    "proxies": args.proxies,
                    "seconds": round(seconds, 2),
                    "ms_per_arch": round(1000 * seconds / args.archs, 3),
                }
            )
        )


if __name__ == "__main__":
    main()
