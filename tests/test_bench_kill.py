"""Killing `near bench` (SIGINT, SIGTERM, SIGKILL) at any moment loses nothing: the store stays whole, no worker
outlives the run, and the same command finishes the run without recomputing what was stored. A second run on the
same directory is refused while the first holds it. Real processes, really killed."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from near.bench import run
from near.errors import RunInProgressError

PROXIES = "params,nwot,near"
REPETITIONS = 12  # makes one architecture take a fraction of a second, so that a kill lands mid-run
VALUES = 6 * 3  # architectures × proxies


@pytest.fixture(scope="module")
def reference(files, tmp_path_factory):
    """scores.csv of the same run made in one go, in this process."""
    out = tmp_path_factory.mktemp("reference")
    run("nb201", *files, PROXIES, out_dir=out, seed=1, repetitions=REPETITIONS, executor="serial")
    return (out / "scores.csv").read_bytes()


def command(files, out: Path) -> list[str]:
    table, images = files
    return [
        *(sys.executable, "-m", "near", "bench", "nb201", "-t", str(table), "-i", str(images), "-p", PROXIES),
        *("-s", "1", "-r", str(REPETITIONS), "-o", str(out), "--workers", "1"),
    ]


def start(files, out: Path) -> subprocess.Popen:
    """`near bench` in a new process, with SIGINT handled as in a terminal (even if this process ignores it)."""
    return subprocess.Popen(
        command(files, out),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def stored(out: Path) -> tuple[int, int]:
    """(results, distinct architectures) in the store; (0, 0) before it exists."""
    if not (out / "results.sqlite").exists():
        return 0, 0
    with sqlite3.connect(f"file:{out / 'results.sqlite'}?mode=ro", uri=True, timeout=30) as db:
        try:
            return db.execute("SELECT COUNT(*), COUNT(DISTINCT arch) FROM results").fetchone()
        except sqlite3.OperationalError:  # the tables are being created
            return 0, 0


def wait_for(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(word) for word in path.read_text().split()] if path.exists() else []


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z")
    except FileNotFoundError:
        return True


def check_store(out: Path) -> int:
    """The store is whole: integrity ok, each architecture with all its proxies or none; returns the values."""
    with sqlite3.connect(out / "results.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'results'").fetchone():
            return 0  # killed between creating the file and its tables (a loaded machine starts slowly)
        per_arch = db.execute("SELECT COUNT(*) FROM results GROUP BY arch, seed").fetchall()
    assert all(count == (3,) for count in per_arch)
    return 3 * len(per_arch)


def finish(files, out: Path, reference: bytes) -> None:
    """Run the same command to the end: it computes exactly what was missing and writes the reference scores."""
    before = check_store(out)
    done = subprocess.run(command(files, out), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resource_tracker" not in done.stderr and "leaked" not in done.stderr, done.stderr
    record = json.loads((out / "run.json").read_text())
    assert (record["computed"], record["reused"]) == (VALUES - before, before)
    assert (out / "scores.csv").read_bytes() == reference
    assert check_store(out) == VALUES


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -9)])
def test_a_run_killed_mid_way_resumes_without_recomputing(files, reference, tmp_path, sig, code):
    bench = start(files, tmp_path)
    wait_for(lambda: stored(tmp_path)[1] >= 1 and children(bench.pid))
    workers = children(bench.pid)
    bench.send_signal(sig)
    bench.wait(60)
    assert bench.returncode == code, bench.stderr.read()
    if sig != signal.SIGKILL:
        assert "run the same command again to resume" in bench.stderr.read()
    wait_for(lambda: all(map(gone, workers)), timeout=30)  # no worker outlives the run, even after SIGKILL
    assert stored(tmp_path)[1] < 6, "the run ended before the signal; make it slower"
    finish(files, tmp_path, reference)


def test_sigkill_at_any_moment_then_rerun_completes_the_same_run(files, reference, tmp_path):
    for delay in (0.1, 1.5, 3.0, 4.5):  # start-up, the worker starting, mid-run, …
        bench = start(files, tmp_path)
        time.sleep(delay)
        bench.kill()
        bench.wait(60)
        if (tmp_path / "results.sqlite").exists():
            check_store(tmp_path)
    finish(files, tmp_path, reference)


def test_a_second_run_on_the_same_directory_is_refused_and_the_first_is_unharmed(files, reference, tmp_path):
    bench = start(files, tmp_path)
    wait_for(lambda: stored(tmp_path)[1] >= 1)
    with pytest.raises(RunInProgressError, match=rf"is in use by another near bench run \(pid {bench.pid} on "):
        run("nb201", *files, PROXIES, out_dir=tmp_path, seed=1, repetitions=REPETITIONS, executor="serial")
    assert bench.wait(300) == 0, bench.stderr.read()
    assert (tmp_path / "scores.csv").read_bytes() == reference
    assert check_store(tmp_path) == VALUES


def workers_of(pid: int) -> list[int]:
    """The driver's worker processes (spawned children; not multiprocessing's resource tracker)."""
    found = []
    for child in children(pid):
        with contextlib.suppress(FileNotFoundError):
            words = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if any(b"spawn_main" in word for word in words) and not any(b"resource_tracker" in w for w in words):
                found.append(child)
    return found


def test_a_driver_killed_while_its_workers_import_torch_takes_them_along_quietly(files, tmp_path):
    bench = start(files, tmp_path)
    wait_for(lambda: workers_of(bench.pid), timeout=60)
    workers = workers_of(bench.pid)
    time.sleep(0.5)  # past its first microseconds (the driver writing its start-up data), well within its imports
    assert not any(map(gone, workers))
    bench.kill()  # the worker is still importing torch: it has not had the chance to ask to die with the driver
    bench.wait(60)
    started = time.monotonic()
    wait_for(lambda: all(map(gone, workers)), timeout=60)
    lingered = time.monotonic() - started  # the rest of the worker's start-up (imports), not a run's length
    stderr = bench.stderr.read()  # complete: the workers, which shared it, are gone
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert lingered < 30, lingered
    assert stored(tmp_path) == (0, 0)  # killed before any architecture was scored


def test_a_complete_processes_run_leaves_no_semaphores_to_warn_about(files, tmp_path):
    done = subprocess.run([*command(files, tmp_path)[:-2], "--workers", "2"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resource_tracker" not in done.stderr and "leaked" not in done.stderr, done.stderr
