"""``near search``: parse the options, call :func:`near.search.search`, print the best architectures."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import NearError
from ..search import COMBINATIONS, STRATEGIES
from ._console import resumable, stderr_is_terminal
from ._options import JSON_OPTION, NORMALIZE_OPTION, device, proxy_options

__all__ = ["search_command"]


@click.command("search")
@click.argument("space", metavar="SPACE")
@click.option("--images", "-i", required=True, metavar="NPZ", help="Images (N×C×H×W uint8) and labels, an .npz.")
@click.option("--proxies", "-p", "proxy_names", required=True, metavar="P1,P2,…", help="Fitness proxies.")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--seed", "-s", type=int, default=0, show_default=True, help="Steers the strategy.")
@click.option("--budget", type=float, default=None, metavar="SECONDS", help="Seconds of scoring the search may spend.")
@click.option("--max-archs", type=int, default=None, metavar="N", help="Distinct architectures the search may score.")
@click.option("--strategy", type=click.Choice(list(STRATEGIES)), default="evolution", show_default=True)
@click.option("--population", type=int, default=20, show_default=True, help="Evolution: population size.")
@click.option("--sample-size", type=int, default=None, help="Evolution: tournament size. Default: min(5, population).")
@click.option("--combine", default="mean-rank", show_default=True, metavar="HOW",
              help=f"How several proxies make one fitness (near.ensemble): {', '.join(COMBINATIONS)}, "
              "or a weighted sum of the proxies' ranks like 2*near+params.")  # fmt: skip
@click.option("--table", "-t", default=None, metavar="CSV", help="Few-shot: a table the search may query.")
@click.option("--query-column", default=None, metavar="COL", help="Few-shot: the column it may query.")
@click.option("--evaluate", default=None, metavar="FILE.py:FUNC", help="Few-shot: a function arch -> accuracy.")
@click.option("--queries", "-q", type=int, default=None, metavar="Q", help="Few-shot: the query budget.")
@click.option("--within-table", "within", is_flag=True,
              help="Search only the architectures of --table (with or without queries).")  # fmt: skip
@click.option("--truth-table", default=None, metavar="CSV", help="Report this table's accuracy of the results only.")
@click.option("--truth-column", default="test_accuracy", show_default=True, metavar="COL")
@click.option("--num-classes", type=int, default=None, help="Classifier width. Default: max label + 1 in NPZ.")
@click.option("--num-images", type=int, default=None, help="Images given to every network. Default: 256.")
@NORMALIZE_OPTION
@click.option("--repetitions", "-r", type=int, default=1, show_default=True, help="NEAR's repetitions.")
@click.option("--option", "options", multiple=True, callback=proxy_options, metavar="PROXY.OPTION=VALUE",
              help="A proxy option (repeatable).")  # fmt: skip
@click.option("--top", type=int, default=10, show_default=True, help="How many architectures to list.")
@click.option("--device", callback=device, metavar="DEV", help="Where the proxies run. Default: cuda if present.")
@JSON_OPTION
def search_command(space: str, images: str, proxy_names: str, out_dir: str, as_json: bool, **settings) -> None:
    """Search SPACE for the architectures the proxies like best (optionally spending a few real queries).

    SPACE is nb201, nats-sss, nb101, mlp or path/to/space.py:MySpace (see docs/search.md). Every scored
    architecture is stored in OUT/results.sqlite: a stopped search resumes with the same command, and a
    search with other settings reuses the scores. OUT also gets best.json, trajectory.csv/.png, run.json.

    \b
    Examples:
      near search nb201 -i cifar10_960.npz -p near,params --max-archs 300 -o runs/s1
      near search nb201 -i cifar10_960.npz -p near --budget 120 -t nb201_cifar10_valid.csv \\
          --query-column val_accuracy -q 10 --truth-table nb201_cifar10.csv -o runs/fs1 --json
    """
    from ..search import search

    try:
        with resumable(out_dir):
            result = search(
                space, images, proxy_names, out_dir=out_dir, progress=stderr_is_terminal() and not as_json, **settings
            )
    except NearError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(result.to_json()))
        return
    click.echo(
        f"{result.scored} architectures scored ({result.computed} computed, {result.reused} from the store, "
        f"{result.failed} failed), {result.queries} queries; stopped: {result.stopped}; {result.seconds:.1f} s"
    )
    for rank, entry in enumerate(result.best, start=1):
        extra = "".join(f"  {name}={entry[name]}" for name in ("accuracy", "truth") if name in entry)
        scores = " ".join(f"{name}={value:.6g}" if value is not None else f"{name}=nan"
                          for name, value in entry["scores"].items())  # fmt: skip
        click.echo(f"{rank:>3}. {entry['arch']}  {scores}{extra}")
    click.echo(f"trajectory: {Path(out_dir) / 'trajectory.csv'} and trajectory.png")
