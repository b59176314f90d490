"""One ``near bench`` run per directory at a time: an exclusive lock on ``DIR/.near-bench.lock``.

The lock is an ``flock`` on an open file, so the kernel releases it however the run ends — SIGKILL
included — and there is never a stale lock to delete by hand. The file names the holder (pid, host,
start time) for the message a second run gets. Workers never hold it: only the driver writes the
directory. (Without ``fcntl``, i.e. on Windows, there is no lock.)
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from ..errors import DataError, RunInProgressError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["LOCKFILE", "run_lock"]

LOCKFILE = ".near-bench.lock"


@contextlib.contextmanager
def run_lock(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir``'s lock for the ``with`` block; raise :class:`RunInProgressError` if another run has it."""
    path = out_dir / LOCKFILE
    if path.is_dir():
        raise DataError(
            f"{path} is a directory, but near bench keeps its lock in a file of that name; remove it (it holds "
            "nothing near wrote) or give another --out"
        )
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise DataError(_unwritable(path, error)) from None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 300).decode(errors="replace").strip() or "holder unknown"
                raise RunInProgressError(
                    f"{out_dir} is in use by another near bench run ({holder}); wait until it ends, or give "
                    "another --out"
                ) from None
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, started {started}".encode(), 0)
        except OSError as error:
            raise DataError(_unwritable(path, error)) from None
        yield
    finally:
        os.close(fd)


def _unwritable(path: Path, error: OSError) -> str:
    return (
        f"cannot write the run's lock file {path}: {error.strerror or error}; give an --out on a writable "
        "file system (the results stored there so far are kept)"
    )
