"""Pieces that every kind of report uses: run labels, image-name prefixes, and the folded settings.

A benchmark report (:mod:`near.report.content`) and a search report (:mod:`near.report.searches`) say
different things, but they name their runs, prefix their figures and close with how to repeat the run in
the same way.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from .document import Block, Folded, Paragraph, Table

DASH = "—"


class _HasPath(Protocol):
    path: Path


def labels(runs: Sequence[_HasPath]) -> list[str]:
    """Folder names, or the paths as given where two folders share a name."""
    names = [run.path.resolve().name for run in runs]
    return names if len(set(names)) == len(names) else [str(run.path) for run in runs]


def slug(text: str) -> str:
    """``text`` as a safe piece of a file name (figures of several runs never share a name)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.") or "run"


def settings_blocks(settings: Mapping[str, Any], skip: Iterable[str] = (), command_note: str = "") -> list[Block]:
    """The command and ``run.json``'s settings, folded away: how to reproduce a run, not what it found.

    ``skip`` lists the keys shown elsewhere in the report; ``command_note`` is said where ``run.json`` has no
    command (why it cannot be repeated from the command line).
    """
    if not settings:
        return []
    blocks: list[Block] = []
    if command := settings.get("command"):
        blocks += [Paragraph("The command that repeats this run:"), Paragraph(shell_lines(str(command)), code=True)]
    elif command_note:
        blocks.append(Paragraph(command_note))
    shown = {"command", *skip}
    rows = [[key, setting_text(value)] for key, value in settings.items() if key not in shown]
    if rows:
        blocks.append(Table(["setting (run.json)", "value"], rows, numeric=False))
    return [Folded("How to reproduce: the command and the settings (run.json)", tuple(blocks))]


def shell_lines(command: str, width: int = 88) -> str:
    """A long shell command as continued lines (``\\`` at each break, before an option), so it never scrolls."""
    try:
        words = shlex.split(command)
    except ValueError:  # not shell syntax: shown as it is (the page wraps it)
        return command
    lines, line = [], ""
    for word in (shlex.quote(w) for w in words):
        if line and (len(line) + 1 + len(word) > width or (word.startswith("-") and len(line) > width // 2)):
            lines.append(line)
            line = "    " + word
        else:
            line = f"{line} {word}" if line else word
    return " \\\n".join([*lines, line])


def setting_text(value: Any) -> str:
    """Strings as they are, floats to 6 significant digits (a duration, not 596.0098331660001), the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value, ensure_ascii=False, default=str)
