"""``near datasets``: list the built-in datasets."""

from __future__ import annotations

import click

from ..data import BUILTIN_DATASETS


@click.command("datasets")
def datasets_command() -> None:
    """List the built-in datasets (.npz, .npy, .csv and IDX files and dataset folders work too: docs/formats.md)."""
    width = max(map(len, BUILTIN_DATASETS))
    for name, description in BUILTIN_DATASETS.items():
        click.echo(f"{name:<{width}}  {description}")
