"""Work functions for the executor tests: they run in real worker processes (spawned; tests/ is on their path)
and misbehave on purpose on NB201's all-`none` cell, scoring every other architecture for real."""

from __future__ import annotations

import csv
import os
import signal
import time
from pathlib import Path

import pytest

from near.bench.scoring import score_task
from near.errors import OptionError

#: The proxies of the executor tests (conftest.py's job_and_tasks).
PROXIES = ["params", "nwot", "near"]
#: The architecture the functions below misbehave on (in tests/bench_data.py's NB201_ROWS).
VICTIM = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def die_on_victim(job, task):
    """Kill this worker process (as the OOM killer or a segfault would) when given the victim."""
    if task.arch_str == VICTIM:
        os.kill(os.getpid(), signal.SIGKILL)
    return score_task(job, task)


def hang_on_victim(job, task):
    """Never finish the victim (as a deadlock in native code would)."""
    if task.arch_str == VICTIM:
        time.sleep(3600)
    return score_task(job, task)


def setup_error_on_victim(job, task):
    """A mistake in the run's setup, discovered by a worker."""
    if task.arch_str == VICTIM:
        raise OptionError("near: batchnorm must be one of batch, sample, running; got 'wrong'")
    return score_task(job, task)


def values(outcome):
    """Proxy → value of an outcome."""
    return {name: value for name, (value, _, _) in outcome.values.items()}


def assert_same_scores(csv_a, csv_b):
    """Two scores.csv files hold the same rows and columns, and the same values up to float rounding.

    Runs with other torch thread counts (the serial executor uses every core, a worker one) differ in the
    last digits: BatchNorm on channels-last maps splits its sums among the threads.
    """
    rows_a, rows_b = (list(csv.reader(Path(path).read_text().splitlines())) for path in (csv_a, csv_b))
    assert len(rows_a) == len(rows_b)
    for row_a, row_b in zip(rows_a, rows_b):
        assert [_number_or_text(cell) for cell in row_a] == [_number_or_text(cell, approx=True) for cell in row_b]


def _number_or_text(cell, approx=False):
    try:
        number = float(cell)
    except ValueError:
        return cell
    return pytest.approx(number, rel=1e-5, nan_ok=True) if approx else number
