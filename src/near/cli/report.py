"""``near report``: the report of one or more ``near bench`` runs, or of one or more ``near search`` runs."""

from __future__ import annotations

import click

from ..errors import NearError


@click.command("report")
@click.argument("dirs", nargs=-1, required=True, metavar="DIR [DIR ...]")
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False),
    default=None,
    metavar="OUT",
    help="Folder for the report. Default with one DIR: DIR itself. Required with several.",
)
def report_command(dirs: tuple[str, ...], out: str | None) -> None:
    """Write report.md (figures in report_files/) and a self-contained report.html about `near bench` runs
    or `near search` runs (not both at once).

    One bench DIR: Spearman rho, Kendall tau, pairwise order and top-k per proxy, missing scores, cost,
    proxy-proxy correlations and score-vs-accuracy plots. Several: one combined report, adding the
    average rank of each proxy across benchmarks and relative performance profiles.

    One search DIR: what the search found, its best architectures with their scores (and queried and
    truth accuracies) and its trajectory plot. Several (e.g. one per seed): a row per search and the
    mean ± std of the picks' accuracies, then each search.

    \b
    Examples:
      near report runs/nb201-c10
      near report runs/nb201-c10 runs/nb201-c100 runs/nb201-in16 --out runs/nb201-all
      near report runs/search/seed0 runs/search/seed1 runs/search/seed2 --out runs/search/all
    """
    from ..report import write_report

    try:
        paths = write_report(list(dirs), out)
    except NearError as error:
        raise click.ClickException(str(error)) from None
    for path in paths:
        click.echo(f"report: {path}")
