"""``near analyse``: where each proxy of a ``near bench`` run errs, what a search gets, how good an N-cell
estimate is."""

from __future__ import annotations

import click

from ..errors import NearError


@click.command("analyse")
@click.argument("run_dir", metavar="DIR", type=click.Path(file_okay=False))
@click.option(
    "--proxies", "-p", default=None, metavar="P1,P2", help="Proxies to analyse, comma-separated. Default: every one."
)
@click.option(
    "--worst", type=click.IntRange(min=1), default=100, show_default=True, help="Worst predictions to examine."
)
@click.option(
    "--estimate",
    type=click.IntRange(min=2),
    default=None,
    metavar="N",
    help="Also the spread of Spearman rho over random N-architecture subsets, and rho on the run's N-cell sample.",
)
@click.option(
    "--table",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="The space's accuracy table. Default: the one run.json names, if it exists.",
)
@click.option("--space", default=None, help="The table's search space. Default: the one run.json names.")
@click.option("--figure", type=click.Path(dir_okay=False), default=None, help="Write the worst-predictions PNG here.")
def analyse_command(
    run_dir: str,
    proxies: str | None,
    worst: int,
    estimate: int | None,
    table: str | None,
    space: str | None,
    figure: str | None,
) -> None:
    """The NEAR paper's analyses (appendix A.6) of a finished `near bench` run, for any proxy.

    Per proxy: Spearman rho, Kendall tau, pairwise order, the best and mean accuracy of its top 1, 10 and
    100, and one sentence on its worst predictions (largest |score rank - accuracy rank|): over- or
    underrated, their accuracy and size (#params) percentile, bad networks it scores as good.

    \b
    Examples:
      near analyse runs/nb201-c10 -p near,params --figure runs/nb201-c10/worst.png
      near analyse runs/nb201-all --estimate 1000
    """
    from ..report.analysis import analyse_run

    names = [name.strip() for name in proxies.split(",") if name.strip()] if proxies else None
    try:
        text = analyse_run(run_dir, names, worst=worst, estimate=estimate, table=table, space=space, figure=figure)
    except NearError as error:
        raise click.ClickException(str(error)) from None
    click.echo(text)
    if figure:
        click.echo(f"figure: {figure}")
