"""Fixtures shared by the test files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared benchmark data folder (never copied into the repository); fails, not skips, when missing."""
    folder = Path(os.environ.get("NEAR_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    if not folder.is_dir():
        pytest.fail(
            f"shared data folder {folder} not found: set NEAR_SHARED_DATA to the folder holding images/, nb201/ …",
            pytrace=False,
        )
    return folder


@pytest.fixture(scope="session")
def files(tmp_path_factory) -> tuple[Path, Path]:
    """tests/bench_data.py's six NB201 cells and 24 small labelled images, as files: (table.csv, images.npz)."""
    from bench_data import write_images, write_table

    folder = tmp_path_factory.mktemp("nb201-inputs")
    return write_table(folder / "table.csv"), write_images(folder / "images.npz")


@pytest.fixture(scope="session")
def job_and_tasks(files):
    """The executors' view of those files with params, nwot and near (seed 1): a Job and one Task per cell."""
    from bench_work import PROXIES
    from near.bench import load_images, read_table, resolve_options
    from near.bench.scoring import Job, Task

    table, images = read_table(files[0], "nb201"), load_images(files[1])
    job = Job("nb201", images, resolve_options(PROXIES), 1, 10, "cpu")
    return job, [Task(row.arch_str, row.arch, tuple(PROXIES)) for row in table.rows]


@pytest.fixture(scope="session")
def serial(job_and_tasks):
    """Every task's outcome, computed in this process (what any executor must reproduce)."""
    from near.bench.scoring import score_task

    job, tasks = job_and_tasks
    return {task.arch_str: score_task(job, task) for task in tasks}
