"""Search NB201 within the architectures a ``near bench`` store has already scored: no network is built.

A stand-in for the full measurement (``search_nb201.py``) on a machine too busy to score thousands of
networks: the space is NB201 restricted to the cells of ``--store`` that hold every proxy asked for
(``StoredNB201``, a user space under the search-space protocol, named ``nb201`` so that the store's setup
matches), so every score is read, not computed. Random sampling of ``--archs`` cells per seed (the
training-free pick: the top by fitness), and few-shot with ``--queries`` validation queries, the test
accuracy of each pick looked up in the test table.

    python benchmarks/search_stored.py --store /work/runs/nb201-c10/results.sqlite --proxies near,synflow \
        --repetitions 8 --archs 400 --seeds 10 --queries 10 --out /tmp/search-stored

The store is copied (SQLite backup) into ``--out``; the original is only read.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sqlite3
import statistics
from pathlib import Path

import near.search as ns
from near.bench.runner import resolve_options
from near.bench.store import options_hash
from near.search.spaces import NB201Space

DATA = Path(os.environ.get("NEAR_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


class StoredNB201(NB201Space):
    """NB201 cells of a fixed list; mutation: one-edge neighbours in the list, else any cell of it."""

    def __init__(self, cells: list[str]) -> None:
        self.cells, self.known = sorted(cells), set(cells)

    def sample(self, rng: random.Random) -> str:
        return rng.choice(self.cells)

    def mutate(self, arch: str, rng: random.Random) -> str:
        for _ in range(50):
            child = super().mutate(arch, rng)
            if child in self.known:
                return child
        return self.sample(rng)


def stored_cells(path: Path, names: list[str], repetitions: int) -> list[str]:
    options = resolve_options(names, None, repetitions)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    sets = [
        {arch for (arch,) in db.execute("SELECT arch FROM results WHERE proxy = ? AND options = ? AND seed = 0 "
                                        "AND NOT failed", (name, options_hash(options[name])))}
        for name in names
    ]  # fmt: skip
    return sorted(set.intersection(*sets))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--images", default=str(DATA / "images" / "cifar10_960.npz"))
    parser.add_argument("--valid-table", default=str(DATA / "nb201" / "nb201_cifar10_valid.csv"))
    parser.add_argument("--test-table", default=str(DATA / "nb201" / "nb201_cifar10.csv"))
    parser.add_argument("--proxies", default="near,synflow")
    parser.add_argument("--combine", default="mean-rank")
    parser.add_argument("--repetitions", type=int, default=8)
    parser.add_argument("--archs", type=int, default=400)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--queries", type=int, default=10)
    parser.add_argument("--predictor", default="gbt", choices=["gbt", "ridge"], help="few-shot query chooser")
    parser.add_argument("--modes", default="free,few", help="training-free and/or few-shot searches")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    names = args.proxies.split(",")
    cells = stored_cells(Path(args.store), names, args.repetitions)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    source, copy = sqlite3.connect(f"file:{args.store}?mode=ro", uri=True), sqlite3.connect(out / "results.sqlite")
    source.backup(copy)
    copy.close()
    with open(args.valid_table, newline="") as handle:
        valid = {row["arch_str"]: float(row["val_accuracy"]) for row in csv.DictReader(handle)}
    best_valid = max(valid[c] for c in cells)
    space = StoredNB201(cells)
    modes = args.modes.split(",")
    summary: dict[str, list[float]] = {mode: [] for mode in modes}
    optimum_hits = 0
    for seed in range(args.seeds):
        for mode in modes:
            extra = (
                {
                    "table": args.valid_table,
                    "query_column": "val_accuracy",
                    "queries": args.queries,
                    "predictor": args.predictor,
                }
                if mode == "few"
                else {}
            )
            result = ns.search(
                space, args.images, names, out_dir=out, seed=seed, strategy="random", max_archs=args.archs,
                combine=args.combine, repetitions=args.repetitions, truth_table=args.test_table, **extra,
            )  # fmt: skip
            assert result.computed == 0, "a score was computed: the space left the store's cells"
            top = result.best[0]
            summary[mode].append(top["truth"])
            if mode == "few":
                optimum_hits += top["accuracy"] == best_valid
            print(json.dumps({"mode": mode, "seed": seed, "arch": top["arch"], "test": top["truth"],
                              "valid": top.get("accuracy"), "scored": result.scored}), flush=True)  # fmt: skip
    report = {
        mode: {"mean": statistics.mean(v), "std": statistics.stdev(v) if len(v) > 1 else 0.0, "seeds": len(v)}
        for mode, v in summary.items()
    }
    report["cells_in_store"] = len(cells)
    if "few" in report:
        report["few"]["store_valid_optimum_queried"] = optimum_hits
        report["few"]["predictor"] = args.predictor
    report["store_best_test"] = max(float(r["test_accuracy"]) for r in csv.DictReader(open(args.test_table))
                                    if r["arch_str"] in space.known)  # fmt: skip
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
