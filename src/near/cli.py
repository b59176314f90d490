"""The ``near`` command: parses arguments, calls the API, prints. No logic of its own.

Exit codes: 0 success; 1 a ``NearError`` (data that cannot be read, a model that cannot be scored);
2 a usage error (a bad option, or a SPEC that does not name a callable).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import click
import torch

from . import __version__
from .activations import ACTIVATIONS
from .bench.images import NORMALIZATIONS
from .bench.tables import ACCURACY_COLUMNS
from .data import BUILTIN_DATASETS, load_data
from .errors import ModelError, NearError
from .inits import INIT_NAMES
from .options import BATCHNORM_MODES
from .score import score
from .selection import BAD_BELOW, DEFAULT_ACTIVATIONS, DEFAULT_INITS, resolve_activation, resolve_init, select
from .sizing import DEFAULT_REPETITIONS, DEFAULT_THRESHOLD, PARTS, estimate_layer_sizes, verify_sizes
from .spec import bind_data, load_factory

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", "-V", prog_name="near", message="%(prog)s %(version)s")
def main() -> None:
    """NEAR: score an untrained network by the effective rank of its activations.

    A higher score predicts a network that will train to a better accuracy, without training it.

    \b
    Quick start:
      near datasets
      near score near.models:mlp --data digits --repetitions 8
      near score my_models.py:build --data images.npz --json
      near size --data digits --hidden-layers 2
      near select --data digits --hidden 64,64 --inits kaiming_uniform,uniform
    """


def _device(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError) as error:
        raise click.BadParameter(f"{value!r} is not a torch device ({error})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise click.BadParameter(f"{value!r}: CUDA is not available on this machine")
    return value


@main.command("score")
@click.argument("spec", metavar="SPEC")
@click.option(
    "--data",
    "-d",
    "data_spec",
    required=True,
    metavar="DATA",
    help="A built-in dataset (see `near datasets`) or a .npz, .npy or .csv file; its labels only set num_classes.",
)
@click.option(
    "--repetitions",
    "-r",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Independent repetitions (fresh weights and samples); the score is their mean. The paper uses 32.",
)
@click.option(
    "--seed",
    "-s",
    type=click.IntRange(min=0),
    default=None,
    help="Makes the score reproducible. Default: drawn at random, and printed.",
)
@click.option(
    "--batchnorm",
    type=click.Choice(BATCHNORM_MODES),
    default="batch",
    show_default=True,
    help="BatchNorm statistics: of the forward batch, of each sample alone, or the running ones.",
)
@click.option(
    "--init",
    type=click.Choice(INIT_NAMES),
    default=None,
    help="Weight initialisation applied to every repetition's model. Default: the factory's own.",
)
@click.option(
    "--shuffle/--no-shuffle",
    default=True,
    show_default=True,
    help="Draw random samples each repetition; --no-shuffle takes the first ones in order.",
)
@click.option(
    "--reinit/--no-reinit",
    default=True,
    show_default=True,
    help="Build a fresh model each repetition; --no-reinit builds one and only redraws the samples.",
)
@click.option(
    "--layers",
    "layers",
    multiple=True,
    metavar="PATTERN",
    help="Score only layers whose name matches this glob (repeatable).",
)
@click.option(
    "--exclude",
    "exclude",
    multiple=True,
    metavar="PATTERN",
    help="Do not score layers whose name matches this glob (repeatable).",
)
@click.option("--device", callback=_device, metavar="DEV", help="Where to run, e.g. cpu or cuda:0. Default: cpu.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object (score, per-layer ranks, seed) and nothing else."
)
def score_command(
    spec: str,
    data_spec: str,
    repetitions: int,
    seed: int | None,
    batchnorm: str,
    init: str | None,
    shuffle: bool,
    reinit: bool,
    layers: tuple[str, ...],
    exclude: tuple[str, ...],
    device: str | None,
    as_json: bool,
) -> None:
    """Score the model built by SPEC on samples from DATA.

    SPEC names a function that returns an nn.Module: `package.module:function` or
    `path/to/file.py:function`. If it has parameters `input_shape` and/or `num_classes`, they are
    filled in from the data (shape of one sample; number of classes). It is called once per
    repetition, so every repetition scores a freshly initialised model.

    \b
    Examples:
      near score near.models:mlp --data digits -r 8 --seed 0
      near score near.models:cnn --data cifar10_960.npz --batchnorm sample
      near score nets.py:wide --data x.npy --exclude '*.head' --json
    """
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the result, whatever user code prints
        try:
            factory = load_factory(spec)
        except ModelError as error:
            raise click.BadParameter(str(error), param_hint="SPEC") from None
        try:
            data = load_data(data_spec)
        except NearError as error:
            raise click.ClickException(str(error)) from None
        try:
            model = bind_data(factory, data.input_shape, data.num_classes)
        except ModelError as error:
            raise click.BadParameter(str(error), param_hint="SPEC") from None
        try:
            with _warnings_to_stderr():
                result = score(
                    model,
                    data.x,
                    repetitions=repetitions,
                    seed=seed,
                    batchnorm=batchnorm,
                    init=init,
                    shuffle=shuffle,
                    reinit=reinit,
                    layers=list(layers) or None,
                    exclude=list(exclude),
                    device=device,
                    progress=not as_json and _stderr_is_terminal(),
                )
        except NearError as error:
            raise click.ClickException(str(error)) from None

    if as_json:
        click.echo(json.dumps({"model": spec, "data": data_spec, **result.to_dict()}))
        return
    shape = "x".join(map(str, data.input_shape))
    click.echo(
        f"NEAR of {spec} on {data_spec} ({len(data)} samples of {shape}), "
        f"{result.repetitions} repetition{'s' * (result.repetitions != 1)}, seed {result.seed}"
    )
    click.echo(result.table())


def _int_list(minimum: int = 1):
    """A callback: ``"8,16,32"`` → ``(8, 16, 32)``; anything else is a usage error naming the option."""

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
        if value is None:
            return None
        try:
            numbers = tuple(int(part) for part in value.split(",") if part.strip())
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a comma-separated list of integers, e.g. 8,16,32") from None
        if not numbers or min(numbers) < minimum:
            raise click.BadParameter(f"{value!r}: give integers of at least {minimum}, separated by commas")
        return numbers

    return callback


def _float_list(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        numbers = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers, e.g. 0.5,1,2") from None
    if not numbers or min(numbers) <= 0:
        raise click.BadParameter(f"{value!r}: give positive numbers, e.g. 0.5,1,2")
    return numbers


def _names(resolve):
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        names = tuple(part.strip().lower() for part in value.split(",") if part.strip())
        try:
            for name in names:
                resolve(name)
        except NearError as error:
            raise click.BadParameter(str(error)) from None
        if not names or len(set(names)) != len(names):
            raise click.BadParameter(f"{value!r}: give distinct names separated by commas")
        return names

    return callback


def _single_name(resolve):
    names = _names(resolve)

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        checked = names(ctx, param, value)
        if checked is not None and len(checked) != 1:
            raise click.BadParameter(f"{value!r}: give one name")
        return None if checked is None else checked[0]

    return callback


def _plot_destination(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Reject a plot destination that cannot be written before anything is computed (not after minutes of
    training): the nearest existing folder on its path must be a writable directory."""
    if value is None:
        return None
    path = Path(value).absolute()
    existing = next(p for p in (path.parent, *path.parent.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        what = "a file, not a folder" if not existing.is_dir() else "not writable"
        raise click.BadParameter(f"{value!r} cannot be written: {existing} is {what}; choose another place")
    return value


def _load(data_spec: str, needs_labels: bool):
    try:
        data = load_data(data_spec)
    except NearError as error:
        raise click.ClickException(str(error)) from None
    if needs_labels and data.y is None:
        raise click.ClickException(
            f"--verify trains the networks and needs labels (classes or regression targets), but {data_spec} has "
            "none; use a .npz with 'labels'/'y' or a .csv with a label column"
        )
    return data


_DATA_OPTION = click.option(
    "--data",
    "-d",
    "data_spec",
    required=True,
    metavar="DATA",
    help="A built-in dataset (see `near datasets`) or a .npz, .npy or .csv file.",
)
_OUTPUTS_OPTION = click.option(
    "--outputs",
    type=click.IntRange(min=1),
    default=None,
    help="Output layer width. Default: classes in DATA (regression targets: their number per sample), else 10.",
)
_SEEDS_OPTION = click.option(
    "--seeds",
    "training_seeds",
    callback=_int_list(0),
    default="0,1,2",
    show_default=True,
    metavar="S1,S2,…",
    help="Training seeds for --verify (non-negative integers).",
)
_JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print one JSON object and nothing else.")


@main.command("size")
@_DATA_OPTION
@click.option("--hidden-layers", "-k", type=click.IntRange(min=1), required=True, help="Number of hidden layers.")
@click.option(
    "--widths",
    callback=_int_list(),
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
    callback=_single_name(resolve_activation),
    default="silu",
    show_default=True,
    help=f"One of {', '.join(ACTIVATIONS)}.",
)
@click.option(
    "--init",
    callback=_single_name(resolve_init),
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
@_OUTPUTS_OPTION
@click.option(
    "--plot",
    "plot_dir",
    type=click.Path(file_okay=False),
    callback=_plot_destination,
    default=None,
    metavar="DIR",
    help="Write layer1.png … (relative score, fit, estimate) into DIR.",
)
@click.option("--verify", is_flag=True, help="Train MLPs with widths around the estimate and report test loss.")
@click.option(
    "--factors",
    callback=_float_list,
    default="0.25,0.5,1,2,4",
    show_default=True,
    metavar="F1,F2,…",
    help="With --verify: the hidden widths trained are the estimate times each factor.",
)
@_SEEDS_OPTION
@_JSON_OPTION
def size_command(
    data_spec,
    hidden_layers,
    widths,
    threshold,
    repetitions,
    seed,
    activation,
    init,
    part,
    outputs,
    plot_dir,
    verify,
    factors,
    training_seeds,
    as_json,
) -> None:
    """Estimate the hidden-layer widths of an MLP on DATA, layer by layer, from NEAR.

    Per layer (earlier layers fixed at their estimates): relative NEAR score = the layer's score per
    neuron and per matrix (pre- and post-activation) for each candidate width, a fit a + b·s^c with
    (1, 1) prepended, and the width where the fitted slope has fallen to the threshold fraction of its
    value at width 1.

    \b
    Examples:
      near size --data digits --hidden-layers 2
      near size --data mnist.npz -k 2 --widths 16,32,64,128,256,512 --plot plots/ --json
      near size --data digits -k 2 --verify --seeds 0,1,2
    """
    data = _load(data_spec, verify)
    outputs = outputs or data.num_outputs or 10
    progress = _stderr_is_terminal()
    try:
        with _warnings_to_stderr():
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
            )
            plots = [str(p) for p in result.plot(plot_dir)] if plot_dir else []
            verification = None
            if verify:
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


@main.command("select")
@_DATA_OPTION
@click.option(
    "--hidden",
    callback=_int_list(),
    default="200,200",
    show_default=True,
    metavar="H1,H2,…",
    help="Hidden layer widths of the MLP (each needs that many samples).",
)
@click.option(
    "--activations",
    callback=_names(resolve_activation),
    default=",".join(DEFAULT_ACTIVATIONS),
    show_default=True,
    metavar="A1,A2,…",
    help="Activation names.",
)
@click.option(
    "--inits",
    callback=_names(resolve_init),
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
@_OUTPUTS_OPTION
@click.option(
    "--bad-below",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=BAD_BELOW,
    show_default=True,
    help="Flag cells below this fraction of the best mean NEAR (and > 3 std below it).",
)
@click.option("--verify", is_flag=True, help="Also train every cell and report test loss/accuracy and Spearman rho.")
@_SEEDS_OPTION
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False),
    callback=_plot_destination,
    default=None,
    metavar="PNG",
    help="With --verify: write NEAR vs test loss to this PNG.",
)
@_JSON_OPTION
def select_command(
    data_spec,
    hidden,
    activations,
    inits,
    repetitions,
    seed,
    outputs,
    bad_below,
    verify,
    training_seeds,
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
    data = _load(data_spec, verify)
    try:
        with _warnings_to_stderr():
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
                progress=_stderr_is_terminal(),
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


@main.command("datasets")
def datasets_command() -> None:
    """List the built-in datasets (any .npz, .npy or .csv file works too)."""
    width = max(map(len, BUILTIN_DATASETS))
    for name, description in BUILTIN_DATASETS.items():
        click.echo(f"{name:<{width}}  {description}")


@main.command("proxies")
@_JSON_OPTION
def proxies_command(as_json: bool) -> None:
    """List the zero-cost proxies of near.proxies: labels needed, data used, activations, summary."""
    from . import proxies

    infos = [proxies.info(name) for name in proxies.available()]
    if as_json:
        fields = ("needs_labels", "uses_data", "activations", "sign", "reference", "options", "summary")
        click.echo(json.dumps({"proxies": [{"name": i.name} | {f: getattr(i, f) for f in fields} for i in infos]}))
        return
    width = max(len(i.name) for i in infos)
    click.echo(f"{'proxy':<{width}}  labels  data  summary")
    yes_no = {True: "yes", False: "no"}
    for i in infos:
        click.echo(f"{i.name:<{width}}  {yes_no[i.needs_labels]:<6}  {yes_no[i.uses_data]:<4}  {i.summary}")


@main.command("report")
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
    """Write report.md (figures in report_files/) and a self-contained report.html about `near bench` runs.

    One DIR: Spearman rho, Kendall tau, pairwise order and top-k per proxy, missing scores, cost,
    proxy-proxy correlations and score-vs-accuracy plots. Several DIRs: one combined report, adding the
    average rank of each proxy across benchmarks and relative performance profiles.

    \b
    Examples:
      near report runs/nb201-c10
      near report runs/nb201-c10 runs/nb201-c100 runs/nb201-in16 --out runs/nb201-all
    """
    from .report import write_report

    try:
        paths = write_report(list(dirs), out)
    except NearError as error:
        raise click.ClickException(str(error)) from None
    for path in paths:
        click.echo(f"report: {path}")


def _space(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from . import spaces

    try:
        return spaces.get(value).name
    except NearError as error:
        raise click.BadParameter(str(error)) from None


def _proxy_list(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    from .bench import resolve_proxies

    try:
        return resolve_proxies(value)
    except NearError as error:
        raise click.BadParameter(str(error)) from None


def _proxy_options(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict[str, dict]:
    """``("zico.split=2", "near.batchnorm=sample")`` → ``{"zico": {"split": 2}, "near": {"batchnorm": "sample"}}``;
    a value is read as JSON when it parses as JSON, else kept as a string."""
    options: dict[str, dict] = {}
    for item in value:
        target, sep, text = item.partition("=")
        proxy, dot, key = target.strip().partition(".")
        if not (sep and dot and proxy and key):
            raise click.BadParameter(f"{item!r} is not PROXY.OPTION=VALUE, e.g. zico.split=2 or near.batchnorm=sample")
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = text
        options.setdefault(proxy, {})[key.strip()] = parsed
    return options


@main.command("bench")
@click.argument("space", callback=_space, metavar="SPACE")
@click.option("--table", "-t", required=True, type=click.Path(dir_okay=False), help="Ground-truth CSV of SPACE.")
@click.option("--images", "-i", required=True, metavar="NPZ", help="Images (N×3×H×W uint8) and labels, an .npz.")
@click.option(
    "--proxies",
    "-p",
    "proxy_names",
    required=True,
    callback=_proxy_list,
    metavar="P1,P2,…",
    help="Proxies to compute (see `near proxies`), or 'all'.",
)
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option(
    "--sample",
    "-n",
    type=click.IntRange(min=1),
    default=None,
    help="Architectures drawn from the table by --seed. Default: every row.",
)
@click.option(
    "--seed", "-s", type=click.IntRange(min=0), default=0, show_default=True, help="Sample, weights, proxies."
)
@click.option(
    "--repetitions",
    "-r",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="NEAR's repetitions (fresh weights and samples each); the paper uses 32.",
)
@click.option(
    "--num-classes", type=click.IntRange(min=1), default=None, help="Classifier width. Default: max label + 1 in NPZ."
)
@click.option(
    "--num-images",
    type=click.IntRange(min=1),
    default=None,
    help="Images given to every architecture (the first ones of NPZ). Default: 256, or all when fewer.",
)
@click.option(
    "--normalize",
    type=click.Choice(NORMALIZATIONS),
    default=None,
    help="Per-channel statistics applied after scaling to [0, 1]. Default: cifar10 for 3 channels, else sample.",
)
@click.option(
    "--accuracy-column",
    default=None,
    metavar="COLUMN",
    help=f"Table column with the accuracy. Default: the one of {', '.join(ACCURACY_COLUMNS)} present.",
)
@click.option(
    "--option",
    "proxy_options",
    multiple=True,
    callback=_proxy_options,
    metavar="PROXY.OPTION=VALUE",
    help="A proxy option, e.g. near.batchnorm=sample or nwot.batch_size=64 (repeatable).",
)
@click.option(
    "--device", callback=_device, metavar="DEV", help="Where the proxies run, e.g. cuda:0. Default: cuda if present."
)
@click.option("--timings", is_flag=True, help="Add <proxy>_seconds columns to scores.csv.")
@click.option(
    "--executor",
    type=click.Choice(["processes", "serial", "ray"]),
    default="processes",
    show_default=True,
    help="Where architectures are scored: worker processes, this process, or a Ray cluster (near-nas[ray]).",
)
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (ray: tasks at once). Default: one per core (ray: the cluster's CPUs).",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Stop an architecture after this long and record it as failed (processes and ray). Default: none.",
)
@click.option(
    "--address",
    default=None,
    metavar="ADDR",
    help="Ray cluster: auto, or the head node's host:port. Default: $RAY_ADDRESS, else a local instance.",
)
@click.option("--retry-failed", is_flag=True, help="Score again the architectures an earlier run recorded as failed.")
def bench_command(
    space: str,
    table: str,
    images: str,
    proxy_names: list[str],
    out_dir: str,
    sample: int | None,
    seed: int,
    repetitions: int,
    num_classes: int | None,
    num_images: int | None,
    normalize: str | None,
    accuracy_column: str | None,
    proxy_options: dict[str, dict],
    device: str | None,
    timings: bool,
    executor: str,
    workers: int | None,
    time_limit: float | None,
    address: str | None,
    retry_failed: bool,
) -> None:
    """Score architectures of a NAS benchmark with zero-cost proxies and correlate them with their accuracy.

    SPACE is nb201, nats-sss or nb101. Architectures are scored in parallel (--executor) and every
    finished one is stored at once in OUT/results.sqlite: a run stopped in any way (Ctrl-C, kill)
    loses nothing, and the same command resumes it. An architecture whose worker crashes or passes
    --time-limit is recorded as failed and the run goes on. One run at a time per OUT. When all
    are scored, OUT/scores.csv, OUT/correlations.json, OUT/run.json and the report (OUT/report.md,
    OUT/report.html: see `near report`) are written.

    \b
    Examples:
      near bench nb201 -t nb201_cifar10.csv -i cifar10_960.npz -p near,params,flops -n 1000 -r 32 -o runs/c10
      near bench nb201 -t c100.csv -i c100.npz -p all -n 200 --num-classes 100 --normalize cifar100 -o runs/c100
      near bench nb101 -t nb101_500.csv -i cifar10_960.npz -p near,params,zen -o runs/nb101
    """
    from .bench import run

    try:
        with _warnings_to_stderr(at_once=True), _sigterm_raises():
            result = run(
                space,
                table,
                images,
                proxy_names,
                out_dir=out_dir,
                sample=sample,
                seed=seed,
                repetitions=repetitions,
                num_classes=num_classes,
                options=proxy_options,
                num_images=num_images,
                normalize=normalize,
                accuracy_column=accuracy_column,
                device=device,
                timings=timings,
                progress=_stderr_is_terminal(),
                executor=executor,
                workers=workers,
                time_limit=time_limit,
                address=address,
                retry_failed=retry_failed,
            )
    except NearError as error:
        raise click.ClickException(str(error)) from None
    except (KeyboardInterrupt, _Terminated) as stop:
        click.echo(
            f"\ninterrupted: every finished architecture is stored in {Path(out_dir) / 'results.sqlite'}; "
            "run the same command again to resume",
            err=True,
        )
        sys.exit(143 if isinstance(stop, _Terminated) else 130)
    for category, found in result.warnings.items():
        click.echo(f"Warning: {found['count']} × {category}, e.g.: {found['example']}", err=True)
    click.echo(
        f"{space}: {len(result.rows)} architectures, seed {seed}; {result.computed} proxy values computed, "
        f"{result.reused} reused, {result.seconds:.1f} s"
    )
    if result.failed:
        click.echo(
            f"{result.failed} architecture(s) recorded as failed (worker crashed, time limit or error; the reasons "
            "are in correlations.json's nan_reasons and the report); --retry-failed scores them again",
            err=True,
        )
    width = max(len(name) for name in result.scores)
    click.echo(f"{'proxy':<{width}}  spearman  kendall  pairwise  top10%  NaN")
    for name, values in result.correlations["proxies"].items():
        numbers = (values["spearman"], values["kendall"], values["pairwise"], values["top_k"]["top10%"])
        cells = "  ".join(f"{v:>{w}.3f}" for v, w in zip(numbers, (8, 7, 8, 6)))
        click.echo(f"{name:<{width}}  {cells}  {values['n_nan']:>3}")
    for path in result.files:
        click.echo(f"wrote {path}")


class _Terminated(Exception):
    """SIGTERM arrived: unwind like Ctrl-C, so that the workers are stopped and the lock released."""


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into :class:`_Terminated` for the block (Python's default would exit without unwinding)."""

    def terminate(signum, frame):
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stderr_is_terminal() -> bool:
    """Whether a progress bar would be seen (and not end up in a log)."""
    return sys.stderr.isatty()


@contextlib.contextmanager
def _warnings_to_stderr(at_once: bool = False) -> Iterator[None]:
    """Show warnings as one line each, without the source line Python adds: at the end of the block (after
    any progress bar), or ``at_once`` (what a long run must say before it starts)."""

    def show(message, *args, **kwargs) -> None:
        click.echo(f"Warning: {message}", err=True)

    with warnings.catch_warnings(record=not at_once) as caught:
        if at_once:
            warnings.showwarning = show
        try:
            yield
        finally:
            for warning in caught or ():
                show(warning.message)
