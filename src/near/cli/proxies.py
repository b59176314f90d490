"""``near proxies``: list the zero-cost proxies."""

from __future__ import annotations

import json

import click

from ._options import (
    JSON_OPTION,
)


@click.command("proxies")
@JSON_OPTION
def proxies_command(as_json: bool) -> None:
    """List the zero-cost proxies of near.proxies: labels needed, data used, activations, summary."""
    from .. import proxies

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
