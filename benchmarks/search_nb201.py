"""Issue 16's measurement: NB201 search over seeds, training-free and few-shot, test accuracy of the pick.

For each seed: a training-free search (``--budget`` seconds of scoring) returns its top architecture; a
few-shot search (same budget, then ``--queries`` queries to the validation column) returns its best-queried
one. The test accuracy of each is looked up in ``--test-table`` (never seen by the search). All seeds share
one store per mode, so scores computed for one seed are reused by the next (the budget counts each
architecture's stored cost, so the reuse does not enlarge a search).

    python benchmarks/search_nb201.py --seeds 10 --budget 600 --queries 10 --out runs/search-c10

Other datasets of the same layout (CIFAR-100, ImageNet16-120):

    python benchmarks/search_nb201.py --valid-table c100_valid.csv --test-table c100.csv --images c100.npz \
        --num-classes 100 --normalize cifar100 --out runs/search-c100

Prints one line per seed and mode, then mean ± std of the test accuracy, and how many few-shot seeds queried
the validation optimum (the top row of the validation table) within the query budget.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
from pathlib import Path

import near.search as ns

DATA = Path(os.environ.get("NEAR_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--images", default=str(DATA / "images" / "cifar10_960.npz"))
    parser.add_argument("--valid-table", default=str(DATA / "nb201" / "nb201_cifar10_valid.csv"))
    parser.add_argument("--valid-column", default="val_accuracy")
    parser.add_argument("--test-table", default=str(DATA / "nb201" / "nb201_cifar10.csv"))
    parser.add_argument("--test-column", default="test_accuracy")
    parser.add_argument("--proxies", default="near,synflow")
    parser.add_argument("--combine", default="mean-rank")
    parser.add_argument("--repetitions", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=float, default=600.0, help="seconds of scoring per search")
    parser.add_argument("--queries", type=int, default=10)
    parser.add_argument("--num-classes", type=int, default=None)
    parser.add_argument("--normalize", default=None)
    parser.add_argument("--modes", default="free,few")
    parser.add_argument("--within-table", action="store_true", help="search only the validation table's rows (NB101)")
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--store", type=Path, default=None,
        help="a near bench results.sqlite of the same setup to start each mode's store from (its scores are "
        "reused at their stored cost, so the budget still counts them)",
    )  # fmt: skip
    args = parser.parse_args()

    with open(args.valid_table, newline="") as handle:
        rows = list(csv.DictReader(handle))
    optimum = max(float(row[args.valid_column]) for row in rows)
    common = dict(
        proxy_names=args.proxies, combine=args.combine, repetitions=args.repetitions, budget=args.budget,
        num_classes=args.num_classes, normalize=args.normalize, truth_table=args.test_table,
        truth_column=args.test_column, within=args.within_table,
    )  # fmt: skip
    summary, source = {}, args.store
    for mode in args.modes.split(","):
        store = Path(args.out) / mode / "results.sqlite"
        if source is not None and not store.exists():  # each mode starts from the scores of the one before
            store.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, store)
        source = store
        tests, hits = [], 0
        for seed in range(args.seeds):
            extra = {"table": args.valid_table} if args.within_table else {}
            if mode == "few":
                extra = dict(table=args.valid_table, query_column=args.valid_column, queries=args.queries)
            result = ns.search(args.space, args.images, out_dir=Path(args.out) / mode, seed=seed, **common, **extra)
            top = result.best[0]
            tests.append(top["truth"])
            if mode == "few":
                hits += any(entry.get("accuracy") == optimum for entry in result.best)
            print(json.dumps({"mode": mode, "seed": seed, "arch": top["arch"], "test": top["truth"],
                              "valid": top.get("accuracy"), "scored": result.scored, "computed": result.computed,
                              "queries": result.queries}), flush=True)  # fmt: skip
        spread = statistics.stdev(tests) if len(tests) > 1 else 0.0
        summary[mode] = {"mean": statistics.mean(tests), "std": spread, "seeds": len(tests)}
        if mode == "few":
            summary[mode]["optimum_queried"] = hits
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
