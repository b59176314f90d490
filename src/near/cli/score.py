"""``near score``: NEAR of a user's model on data."""

from __future__ import annotations

import contextlib
import json
import sys

import click
import torch

from ..bench.images import channel_statistics, normalize_channels
from ..errors import ModelError, NearError, OptionError
from ..inits import INIT_NAMES
from ..options import BATCHNORM_MODES
from ..score import score
from ..spec import bind_data, load_factory
from ._console import stderr_is_terminal, warnings_to_stderr
from ._options import NORMALIZE_OPTION, TARGET_OPTION, device, load_data_or_exit


@click.command("score")
@click.argument("spec", metavar="SPEC")
@click.option(
    "--data",
    "-d",
    "data_spec",
    required=True,
    metavar="DATA",
    help="A built-in dataset (see `near datasets`), a .npz, .npy, .csv or IDX file, or a dataset folder "
    "(docs/formats.md); its labels only set the output width (num_classes): the number of classes, or of "
    "regression targets per sample.",
)
@TARGET_OPTION
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
@NORMALIZE_OPTION
@click.option("--device", callback=device, metavar="DEV", help="Where to run, e.g. cpu or cuda:0. Default: cpu.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object (score, per-layer ranks, seed) and nothing else."
)
def score_command(
    spec: str,
    data_spec: str,
    target: str | None,
    repetitions: int,
    seed: int | None,
    batchnorm: str,
    init: str | None,
    shuffle: bool,
    reinit: bool,
    layers: tuple[str, ...],
    exclude: tuple[str, ...],
    normalize: str | None,
    device: str | None,
    as_json: bool,
) -> None:
    """Score the model built by SPEC on samples from DATA.

    SPEC names a function that returns an nn.Module: `package.module:function` or
    `path/to/file.py:function`. If it has parameters `input_shape` and/or `num_classes`, they are
    filled in from the data (shape of one sample; number of classes, or of regression targets, as `near size`
    and `near select` size their output layer). It is called once per
    repetition, so every repetition scores a freshly initialised model.

    Images (N×C×H×W data in [0, 1]; uint8 files are scaled there) are normalised per channel exactly as
    `near bench` normalises its images (--normalize), so a network sees the inputs it is trained on.

    \b
    Examples:
      near score near.models:mlp --data digits -r 8 --seed 0
      near score near.models:cnn --data cifar10_960.npz --batchnorm sample
      near score near.models:cnn --data images.npz --normalize sample
      near score nets.py:wide --data x.npy --exclude '*.head' --json
    """
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the result, whatever user code prints
        try:
            factory = load_factory(spec)
        except ModelError as error:
            raise click.BadParameter(str(error), param_hint="SPEC") from None
        data = load_data_or_exit(data_spec, False, target)
        try:
            inputs, normalized = _normalized_images(data.x, normalize, data_spec)
        except NearError as error:
            raise click.ClickException(str(error)) from None
        try:
            model = bind_data(factory, data.input_shape, data.num_outputs)
        except ModelError as error:
            raise click.BadParameter(str(error), param_hint="SPEC") from None
        try:
            with warnings_to_stderr():
                result = score(
                    model,
                    inputs,
                    repetitions=repetitions,
                    seed=seed,
                    batchnorm=batchnorm,
                    init=init,
                    shuffle=shuffle,
                    reinit=reinit,
                    layers=list(layers) or None,
                    exclude=list(exclude),
                    device=device,
                    progress=not as_json and stderr_is_terminal(),
                )
        except NearError as error:
            raise click.ClickException(str(error)) from None

    if as_json:
        click.echo(json.dumps({"model": spec, "data": data_spec, "normalize": normalized, **result.to_dict()}))
        return
    shape = "x".join(map(str, data.input_shape))
    images = f", images normalised: {normalized}" if normalized != "none" else ""
    click.echo(
        f"NEAR of {spec} on {data_spec} ({len(data)} samples of {shape}{images}), "
        f"{result.repetitions} repetition{'s' * (result.repetitions != 1)}, seed {result.seed}"
    )
    click.echo(result.table())


def _normalized_images(x: torch.Tensor, normalize: str | None, name: str) -> tuple[torch.Tensor, str]:
    """``x`` normalised per channel as ``near bench`` does, and the normalisation's name (``"none"`` if not).

    Only images are normalised: N×C×H×W data in [0, 1] (what uint8 files become). Other data is the user's own
    preprocessing and is kept, unless ``normalize`` asks for a normalisation it cannot take.
    """
    if normalize == "none":
        return x, "none"
    is_image = x.ndim == 4 and float(x.min()) >= 0 and float(x.max()) <= 1
    if not is_image:
        if normalize is None:
            return x, "none"
        raise OptionError(
            f"--normalize {normalize}: {name} is not images in [0, 1] (shape {tuple(x.shape)}, values "
            f"{float(x.min()):g} to {float(x.max()):g}); normalise only N×C×H×W images (uint8 or floats in [0, 1]), "
            "or leave --normalize out"
        )
    normalize, mean, std = channel_statistics(x, normalize, name)
    return normalize_channels(x, mean, std), normalize
