"""``near select``: rank activation × initialisation choices for an MLP."""

from __future__ import annotations

import json

import click

from ..errors import NearError
from ..mlp.build import resolve_activation, resolve_init
from ..mlp.selection import BAD_BELOW, DEFAULT_ACTIVATIONS, DEFAULT_INITS, select
from ._console import stderr_is_terminal, warnings_to_stderr
from ._options import (
    DATA_OPTION,
    JSON_OPTION,
    OUTPUTS_OPTION,
    SEEDS_OPTION,
    TARGET_OPTION,
    THREADS_OPTION,
    int_list,
    load_data_or_exit,
    name_list,
    plot_destination,
    torch_threads,
)


@click.command("select")
@DATA_OPTION
@TARGET_OPTION
@click.option(
    "--hidden",
    callback=int_list(),
    default="200,200",
    show_default=True,
    metavar="H1,H2,…",
    help="Hidden layer widths of the MLP (each needs that many samples).",
)
@click.option(
    "--activations",
    callback=name_list(resolve_activation),
    default=",".join(DEFAULT_ACTIVATIONS),
    show_default=True,
    metavar="A1,A2,…",
    help="Activation names.",
)
@click.option(
    "--inits",
    callback=name_list(resolve_init),
    default=",".join(DEFAULT_INITS),
    show_default=True,
    metavar="I1,I2,…",
    help="Initialisation names (uniform = U(0, 1)).",
)
@click.option("--repetitions", "-r", type=click.IntRange(min=1), default=8, show_default=True)
@click.option(
    "--seed",
    "-s",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="The same seed (sample draws) for every cell.",
)
@OUTPUTS_OPTION
@click.option(
    "--bad-below",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=BAD_BELOW,
    show_default=True,
    help="Flag cells below this fraction of the best mean NEAR (and > 3 std below it).",
)
@click.option("--verify", is_flag=True, help="Also train every cell and report test loss/accuracy and Spearman rho.")
@SEEDS_OPTION
@THREADS_OPTION
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False),
    callback=plot_destination,
    default=None,
    metavar="PNG",
    help="With --verify: write NEAR vs test loss to this PNG.",
)
@JSON_OPTION
def select_command(
    data_spec,
    target,
    hidden,
    activations,
    inits,
    repetitions,
    seed,
    outputs,
    bad_below,
    verify,
    training_seeds,
    threads,
    plot_path,
    as_json,
) -> None:
    """Rank activation functions x weight initialisations of an MLP on DATA by NEAR.

    Rank 1 = highest mean NEAR. Cells far below the best (see --bad-below) are flagged as clearly
    bad: NEAR reliably singles those out, not the fine order among close cells.

    \b
    Examples:
      near select --data digits --hidden 64,64 --activations relu,tanh,tanhshrink --inits kaiming_uniform,uniform
      near select --data mnist.npz --hidden 200,200 --verify --seeds 0,1,2,3,4 --json
    """
    if plot_path and not verify:
        raise click.UsageError("--plot draws NEAR against the trained test loss; add --verify (or drop --plot)")
    data = load_data_or_exit(data_spec, verify, target)
    try:
        with warnings_to_stderr(), torch_threads(threads if verify else None):
            result = select(
                data.x,
                hidden,
                activations=activations,
                inits=inits,
                outputs=outputs,
                labels=data.y,
                repetitions=repetitions,
                seed=seed,
                bad_below=bad_below,
                verify=verify,
                training_seeds=training_seeds,
                progress=stderr_is_terminal(),
            )
            plots = [str(result.plot(plot_path))] if plot_path else []
    except NearError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps({"data": data_spec, **result.to_dict(), "plots": plots}))
        return
    click.echo(f"Activation x initialisation on {data_spec} ({len(data)} samples)")
    click.echo(result.table())
    for path in plots:
        click.echo(f"plot: {path}")
