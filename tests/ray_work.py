"""Work functions for the Ray executor tests (the others are in bench_work.py); Ray workers import them from
tests/, which the tests' Ray instance puts on their path."""

from __future__ import annotations

import time

from near.bench.scoring import score_task

#: How long :func:`slow` takes per architecture, on top of scoring it.
SLOW_SECONDS = 1.0


def slow(job, task):
    """Score the architecture after a pause: several of these queued behind each other outlast a time limit
    that each alone keeps to."""
    time.sleep(SLOW_SECONDS)
    return score_task(job, task)
