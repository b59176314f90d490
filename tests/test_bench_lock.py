"""The run lock: a lock path that cannot be a lock file, or a file system that refuses it, is a named error."""

from __future__ import annotations

import errno
import os

import pytest

from near.bench import lock
from near.bench.lock import LOCKFILE, run_lock
from near.errors import DataError, RunInProgressError


def test_the_lock_is_exclusive_and_names_its_holder(tmp_path):
    with run_lock(tmp_path):
        with pytest.raises(RunInProgressError, match=f"in use by another near bench run \\(pid {os.getpid()}"):
            with run_lock(tmp_path):
                pass
    with run_lock(tmp_path):  # released on exit
        pass


def test_a_lock_path_that_is_a_directory_is_a_data_error(tmp_path):
    (tmp_path / LOCKFILE).mkdir()
    with pytest.raises(DataError, match=r"\.near-bench\.lock is a directory.*remove it .* or give another --out"):
        with run_lock(tmp_path):
            pass


@pytest.mark.parametrize("call", ["open", "ftruncate", "pwrite"])
def test_a_read_only_file_system_is_a_data_error(tmp_path, monkeypatch, call):
    # Root ignores chmod, so the file system's answer (EROFS) is given by the call that would get it.
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(lock.os, call, refuse)
    with pytest.raises(DataError, match=r"cannot write the run's lock file .*Read-only file system; give an --out"):
        with run_lock(tmp_path):
            pytest.fail("the block must not run without the lock")
