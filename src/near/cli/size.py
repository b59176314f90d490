"""``near size``: estimate MLP hidden-layer widths (the paper's rule, or the half-gain rule where it degenerates)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import NearError
from ..inits import INIT_NAMES
from ..mlp.activations import ACTIVATIONS
from ..mlp.build import resolve_activation, resolve_init
from ..mlp.powerlaw import DEFAULT_THRESHOLD
from ..mlp.sizing import DEFAULT_REPETITIONS, PARTS, RULES, estimate_layer_sizes, verify_sizes
from ._console import stderr_is_terminal, warnings_to_stderr
from ._options import (
    DATA_OPTION,
    JSON_OPTION,
    OUTPUTS_OPTION,
    SEEDS_OPTION,
    TARGET_OPTION,
    THREADS_OPTION,
    float_list,
    int_list,
    load_data_or_exit,
    plot_destination,
    single_name,
    torch_threads,
)


@click.command("size")
@DATA_OPTION
@TARGET_OPTION
@click.option("--hidden-layers", "-k", type=click.IntRange(min=1), required=True, help="Number of hidden layers.")
@click.option(
    "--widths",
    callback=int_list(),
    metavar="W1,W2,…",
    help="Candidate widths (>= 4, each at most the number of samples). Default: 8,16,…,min(1024, samples).",
)
@click.option(
    "--threshold",
    "-t",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Slope fraction t defining the width s* = t^(1/(γ-1)); smaller gives wider layers.",
)
@click.option(
    "--repetitions",
    "-r",
    type=click.IntRange(min=1),
    default=DEFAULT_REPETITIONS,
    show_default=True,
    help="Fresh weights and samples per candidate width; relative scores are their mean.",
)
@click.option("--seed", "-s", type=click.IntRange(min=0), default=0, show_default=True, help="Makes it reproducible.")
@click.option(
    "--activation",
    callback=single_name(resolve_activation),
    default="silu",
    show_default=True,
    help=f"One of {', '.join(ACTIVATIONS)}.",
)
@click.option(
    "--init",
    callback=single_name(resolve_init),
    default="default",
    show_default=True,
    help=f"One of {', '.join(INIT_NAMES)}.",
)
@click.option(
    "--part",
    type=click.Choice(PARTS),
    default="both",
    show_default=True,
    help="Matrices of the sized layer that count: pre- and post-activation, or one of them.",
)
@click.option(
    "--rule",
    type=click.Choice(RULES),
    default="auto",
    show_default=True,
    help="paper: s* = t^(1/(γ-1)); gain: where the layer's effective rank gained per neuron has halved; "
    "auto: the paper's rule unless its fit degenerates (γ ≈ 0 gives s* ≈ 1/t for any data).",
)
@OUTPUTS_OPTION
@click.option(
    "--plot",
    "plot_dir",
    type=click.Path(file_okay=False),
    callback=plot_destination,
    default=None,
    metavar="DIR",
    help="Write layer1.png … (relative score, fit, estimate) into DIR.",
)
@click.option("--verify", is_flag=True, help="Train MLPs with widths around the estimate and report test loss.")
@click.option(
    "--factors",
    callback=float_list,
    default="0.25,0.5,1,2,4",
    show_default=True,
    metavar="F1,F2,…",
    help="With --verify: the hidden widths trained are the estimate times each factor.",
)
@SEEDS_OPTION
@THREADS_OPTION
@JSON_OPTION
def size_command(
    data_spec,
    target,
    hidden_layers,
    widths,
    threshold,
    repetitions,
    seed,
    activation,
    init,
    part,
    rule,
    outputs,
    plot_dir,
    verify,
    factors,
    training_seeds,
    threads,
    as_json,
) -> None:
    """Estimate the hidden-layer widths of an MLP on DATA, layer by layer, from NEAR.

    Per layer (earlier layers fixed at their estimates): relative NEAR score = the layer's score per
    neuron and per matrix (pre- and post-activation) for each candidate width, a fit a + b·s^c with
    (1, 1) prepended, and the width where the fitted slope has fallen to the threshold fraction of its
    value at width 1. Where that fit degenerates (γ ≈ 0: the answer is 1/t whatever the data), the
    half-gain width instead: where the layer's effective rank gained per added neuron has halved. Each
    layer says which rule gave its size and an 80 % bootstrap interval over the repetitions.

    \b
    Examples:
      near size --data digits --hidden-layers 2
      near size --data mnist.npz -k 2 --widths 16,32,64,128,256,512 --plot plots/ --json
      near size --data digits -k 2 --verify --seeds 0,1,2
      near size --data descriptors.csv --target energy -k 3 --verify
    """
    data = load_data_or_exit(data_spec, verify, target)
    outputs = outputs or data.num_outputs or 10
    progress = stderr_is_terminal()
    try:
        with warnings_to_stderr():
            result = estimate_layer_sizes(
                data.x,
                hidden_layers,
                outputs=outputs,
                widths=widths,
                threshold=threshold,
                repetitions=repetitions,
                seed=seed,
                activation=activation,
                init=init,
                part=part,
                progress=progress,
                rule=rule,
            )
            plots = [str(p) for p in result.plot(plot_dir)] if plot_dir else []
            verification = None
            if verify:
                with torch_threads(threads):
                    verification = verify_sizes(
                        result, data.x, data.y, factors=factors, seeds=training_seeds, progress=progress
                    )
                if plot_dir:
                    plots.append(str(verification.plot(Path(plot_dir) / "loss_vs_parameters.png")))
    except NearError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        out = {"data": data_spec, **result.to_dict(), "plots": plots}
        if verification is not None:
            out["verification"] = verification.to_dict()
        click.echo(json.dumps(out))
        return
    click.echo(f"Layer sizes on {data_spec} ({len(data)} samples), {result.seconds:.1f} s")
    click.echo(result.table())
    click.echo(f"estimated sizes: {','.join(map(str, result.sizes))}")
    if verification is not None:
        click.echo(verification.table())
    for path in plots:
        click.echo(f"plot: {path}")
