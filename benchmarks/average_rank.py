"""The average-rank table (NEAR paper, Table 4) over finished ``near bench`` runs, one per benchmark.

    python benchmarks/average_rank.py runs/nb201-c10 runs/nb101-c10 [--labels NB201,NB101] [--metric spearman]

Prints Markdown: each proxy's correlation on each benchmark and its average rank (1 = best), first over
the proxies present on every benchmark (as the paper's table), then over the paper's proxies among them
(:func:`near.analysis.average_rank_table`).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from near import analysis

#: The proxies of the paper's Table 4 that ``near.proxies`` has.
PAPER = ("near", "meco_opt", "zico", "synflow", "params", "flops", "zen", "grad_norm", "snip", "grasp", "fisher")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--labels", default=None, help="comma-separated, one per run; default: folder names")
    parser.add_argument("--metric", default="spearman", choices=("spearman", "kendall"))
    args = parser.parse_args()
    labels = args.labels.split(",") if args.labels else None
    table = analysis.benchmark_correlations(args.runs, labels=labels, metric=args.metric)
    for title, proxies in (("proxies on every benchmark", None), ("the paper's proxies among them", PAPER)):
        ranks = analysis.average_rank_table(table, proxies=proxies)
        print(f"\n{title} ({args.metric}):\n")
        print("| proxy | " + " | ".join(table) + " | average rank |")
        print("|:---|" + "---:|" * (len(table) + 1))
        for proxy, rank in ranks.items():
            values = " | ".join(_fmt(table[bench].get(proxy, math.nan)) for bench in table)
            print(f"| {proxy} | {values} | {rank:.2f} |")


def _fmt(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3f}"


if __name__ == "__main__":
    main()
