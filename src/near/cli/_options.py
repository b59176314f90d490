"""Option callbacks and options shared by several ``near`` commands."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import click
import torch

from ..bench.images import NORMALIZATIONS
from ..data import load_data
from ..errors import NearError
from ..formats.csvfile import LABEL_COLUMNS


def device(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError) as error:
        raise click.BadParameter(f"{value!r} is not a torch device ({error})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise click.BadParameter(f"{value!r}: CUDA is not available on this machine")
    return value


def int_list(minimum: int = 1):
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


def float_list(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        numbers = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers, e.g. 0.5,1,2") from None
    if not numbers or min(numbers) <= 0:
        raise click.BadParameter(f"{value!r}: give positive numbers, e.g. 0.5,1,2")
    return numbers


def name_list(resolve):
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


def single_name(resolve):
    names = name_list(resolve)

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        checked = names(ctx, param, value)
        if checked is not None and len(checked) != 1:
            raise click.BadParameter(f"{value!r}: give one name")
        return None if checked is None else checked[0]

    return callback


def plot_destination(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
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


def load_data_or_exit(data_spec: str, needs_labels: bool, target: str | None = None):
    """The data, or a usage message: a named target that is not there, labels missing where they are needed
    (naming the CSV's columns), and a note on stderr when a CSV header names no target at all (every column
    is then read as a feature, which is rarely what a table with a target column means)."""
    try:
        data = load_data(data_spec, target=target)
    except NearError as error:
        raise click.ClickException(str(error)) from None
    if data.y is None and data.columns is not None:
        message = (
            f"{data_spec} has no target column: none of its columns ({', '.join(data.columns)}) is named "
            f"{', '.join(LABEL_COLUMNS)}; name the target with --target COLUMN (several: --target A,B)"
        )
        if needs_labels:
            raise click.ClickException(f"--verify trains the networks and needs labels, but {message}")
        click.echo(f"note: {message}. All {len(data.columns)} columns are read as features.", err=True)
    elif needs_labels and data.y is None:
        raise click.ClickException(
            f"--verify trains the networks and needs labels (classes or regression targets), but {data_spec} has "
            "none; use a .npz with 'labels'/'y', a .csv with a label column (or --target COLUMN) or a labelled "
            "dataset folder"
        )
    return data


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch CPU threads (``None``: leave them), restoring the number after."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


DATA_OPTION = click.option(
    "--data",
    "-d",
    "data_spec",
    required=True,
    metavar="DATA",
    help="A built-in dataset (see `near datasets`), a .npz, .npy, .csv or IDX file, or a dataset folder "
    "(MNIST-style IDX, CIFAR, ImageNet16, images; docs/formats.md).",
)


NORMALIZE_OPTION = click.option(
    "--normalize",
    type=click.Choice(NORMALIZATIONS),
    default=None,
    help="Per-channel normalisation of N×C×H×W images after scaling to [0, 1], as the networks are trained: "
    "published statistics (cifar10, cifar100, imagenet16-120), the data's own (sample) or none (kept in [0, 1]). "
    "Default: cifar10 for 3 channels, else sample.",
)


OUTPUTS_OPTION = click.option(
    "--outputs",
    type=click.IntRange(min=1),
    default=None,
    help="Output layer width. Default: classes in DATA (regression targets: their number per sample), else 10.",
)


SEEDS_OPTION = click.option(
    "--seeds",
    "training_seeds",
    callback=int_list(0),
    default="0,1,2",
    show_default=True,
    metavar="S1,S2,…",
    help="Training seeds for --verify (non-negative integers).",
)


TARGET_OPTION = click.option(
    "--target",
    metavar="COLUMN",
    default=None,
    help="The target (label) column of a .csv, or the labels array of a .npz; several columns A,B make one "
    "regression target each. Default: a column named label, labels, y, target or class.",
)


#: Training small MLPs is fastest on one thread: measured in docs/mlp-sizing.md (benchmarks/mlp_threads.py).
DEFAULT_TRAINING_THREADS = 1

THREADS_OPTION = click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=DEFAULT_TRAINING_THREADS,
    show_default=True,
    help="Torch CPU threads for --verify's training. One is fastest for small MLPs, more so on a busy machine.",
)


JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print one JSON object and nothing else.")


def proxy_options(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict[str, dict]:
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
