"""What every long-running command does at the terminal: warnings on stderr, progress bars only where seen,
SIGTERM unwinding like Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import click


class Terminated(Exception):
    """SIGTERM arrived: unwind like Ctrl-C, so that the workers are stopped and the lock released."""


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` for the block (Python's default would exit without unwinding)."""

    def terminate(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def resumable(out_dir: str | Path) -> Iterator[None]:
    """A run that stores each result as it finishes: SIGTERM unwinds like Ctrl-C, and either ends the command with
    exit code 143 / 130 and a line saying that the same command resumes it."""
    try:
        with sigterm_raises():
            yield
    except (KeyboardInterrupt, Terminated) as stop:
        click.echo(
            f"\ninterrupted: every finished architecture is stored in {Path(out_dir) / 'results.sqlite'}; "
            "run the same command again to resume",
            err=True,
        )
        sys.exit(143 if isinstance(stop, Terminated) else 130)


def stderr_is_terminal() -> bool:
    """Whether a progress bar would be seen (and not end up in a log)."""
    return sys.stderr.isatty()


@contextlib.contextmanager
def warnings_to_stderr(at_once: bool = False) -> Iterator[None]:
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
