"""Writing files whole or not at all: every output of ``near`` goes through here.

A file is written to a temporary name beside its destination and renamed into place (``os.replace``
is atomic on one file system), so a reader never sees half of it and a failure leaves what was there.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["new_folder", "write_atomic"]


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, newlines as given) to ``path`` through a temporary file and a rename.

    Raises the ``OSError`` of a failed write, after removing the temporary file; callers turn it into an
    error that names their argument.
    """
    path = Path(path)
    content = data.encode("utf-8") if isinstance(data, str) else data
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")  # opened as usual: umask applies
    try:
        with open(temporary, "xb") as stream:
            stream.write(content)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return path


@contextlib.contextmanager
def new_folder(folder: str | os.PathLike, written: list[Path] | None = None) -> Iterator[Path]:
    """Create ``folder`` (and its parents) for the block. If the block fails, delete the files it listed in
    ``written``, then the folders created here that are left empty (deepest first): no trace remains.

    The ``OSError`` of a folder that cannot be created is raised from the ``with`` statement.
    """
    folder = Path(folder)
    created = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
    try:
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
    except BaseException:
        for path in written or ():
            with contextlib.suppress(OSError):
                path.unlink()
        for path in created:
            with contextlib.suppress(OSError):
                path.rmdir()  # only if left empty
        raise
