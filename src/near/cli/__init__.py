"""The ``near`` command: parses arguments, calls the API, prints. No logic of its own; one module per command.

Exit codes: 0 success; 1 a ``NearError`` (data that cannot be read, a model that cannot be scored);
2 a usage error (a bad option, or a SPEC that does not name a callable); 130 Ctrl-C; 143 SIGTERM (``near bench``).
"""

from __future__ import annotations

import click

from .. import __version__
from .analyse import analyse_command
from .bench import bench_command
from .datasets import datasets_command
from .predict import predict_command
from .proxies import proxies_command
from .report import report_command
from .score import score_command
from .search import search_command
from .select import select_command
from .size import size_command

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
INTERRUPTED = 130  # 128 + SIGINT, what shells report for a command stopped by Ctrl-C


class _Group(click.Group):
    """Ctrl-C ends every command with status 130, as shells expect, instead of click's "Aborted!" and 1 (the
    status of a ``NearError``, which a script would then take for bad input). ``near bench`` prints its own
    note (where the finished work is stored) before it exits the same way."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            ctx.exit(INTERRUPTED)


@click.group(cls=_Group, context_settings=CONTEXT)
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


main.add_command(score_command)
main.add_command(size_command)
main.add_command(select_command)
main.add_command(datasets_command)
main.add_command(proxies_command)
main.add_command(report_command)
main.add_command(bench_command)
main.add_command(analyse_command)
main.add_command(search_command)
main.add_command(predict_command)
