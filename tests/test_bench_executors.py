"""Executors of near bench, with real worker processes: the same scores as in-process, and a worker that dies,
hangs or finds a setup error on one architecture is handled as the docs say — tested by really killing them."""

from __future__ import annotations

import math
import sqlite3
import time

import pytest

from bench_work import PROXIES, VICTIM, assert_same_scores, die_on_victim, hang_on_victim, setup_error_on_victim, values
from near.bench import make_executor, run
from near.bench.executors import MAX_TIME_LIMIT, ProcessExecutor
from near.errors import OptionError


def test_worker_processes_give_the_scores_of_the_serial_run(files, tmp_path):
    table, images = files
    common = dict(seed=1, out_dir=tmp_path / "serial")
    serial = run("nb201", table, images, PROXIES, executor="serial", **common)
    common["out_dir"] = tmp_path / "processes"
    # the longest time limit: its deadlines are far beyond what one wait may take (about 24 days)
    common["time_limit"] = MAX_TIME_LIMIT
    parallel = run("nb201", table, images, PROXIES, executor="processes", workers=2, **common)
    assert_same_scores(tmp_path / "processes/scores.csv", tmp_path / "serial/scores.csv")
    assert parallel.computed == serial.computed == 18 and parallel.failed == 0


def test_a_worker_killed_on_one_architecture_fails_it_and_the_others_are_scored(job_and_tasks, serial):
    job, tasks = job_and_tasks
    outcomes = {o.task.arch_str: o for o in ProcessExecutor(workers=2).run(die_on_victim, job, tasks)}
    assert sorted(outcomes) == sorted(serial)  # every task once, the victim included
    victim = outcomes.pop(VICTIM)
    assert victim.failure == "failed: the worker process died (killed by SIGKILL) while scoring it"
    assert all(math.isnan(v) and reason == victim.failure for v, reason, _ in victim.values.values())
    for arch, outcome in outcomes.items():  # the tasks after the crash ran on a replacement worker
        assert outcome.failure is None
        assert values(outcome) == pytest.approx(values(serial[arch]), nan_ok=True)


def test_a_hung_architecture_is_stopped_at_the_time_limit(job_and_tasks, serial):
    job, tasks = job_and_tasks
    start = time.monotonic()
    outcomes = {o.task.arch_str: o for o in ProcessExecutor(workers=2, time_limit=4).run(hang_on_victim, job, tasks)}
    assert time.monotonic() - start < 60  # not the hour the victim would take
    assert outcomes[VICTIM].failure == "failed: took longer than the time limit of 4 s; the worker was stopped"
    assert all(o.failure is None for arch, o in outcomes.items() if arch != VICTIM)
    assert len(outcomes) == len(serial)


def test_a_setup_error_found_by_a_worker_stops_the_run(job_and_tasks):
    job, tasks = job_and_tasks
    with pytest.raises(OptionError, match="batchnorm must be one of"):
        list(ProcessExecutor(workers=1).run(setup_error_on_victim, job, tasks))


def test_a_bad_option_value_stops_a_parallel_run_with_its_message(files, tmp_path):
    with pytest.raises(OptionError, match="near: batchnorm"):
        run("nb201", *files, ["near"], out_dir=tmp_path, options={"near": {"batchnorm": "wrong"}})


def test_failures_are_results_a_rerun_keeps_until_asked_to_retry(files, tmp_path):
    table, images = files
    common = dict(seed=1, sample=2, out_dir=tmp_path, workers=2)
    failed = run("nb201", table, images, ["params"], time_limit=1e-3, **common)  # no architecture can make it
    assert failed.failed == 2 and all(math.isnan(v) for v in failed.scores["params"])
    reasons = failed.correlations["proxies"]["params"]["nan_reasons"]
    assert reasons == {"failed: took longer than the time limit of 0.001 s; the worker was stopped": 2}
    with sqlite3.connect(tmp_path / "results.sqlite") as db:
        assert db.execute("SELECT COUNT(*), SUM(failed) FROM results").fetchone() == (2, 2)
    kept = run("nb201", table, images, ["params"], **common)
    assert (kept.computed, kept.reused, kept.failed) == (0, 2, 2)  # still failed, not tried again
    retried = run("nb201", table, images, ["params"], retry_failed=True, **common)
    assert (retried.computed, retried.failed) == (2, 0) and not any(map(math.isnan, retried.scores["params"]))
    with sqlite3.connect(tmp_path / "results.sqlite") as db:
        assert db.execute("SELECT COUNT(*), SUM(failed) FROM results").fetchone() == (2, 0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "threads"}, "unknown executor 'threads'; choose one of processes, serial, ray"),
        ({"name": "serial", "time_limit": 5}, "the serial executor cannot enforce a time limit"),
        ({"workers": 0}, "workers must be a positive integer, got 0"),
        ({"time_limit": -1}, r"time limit must be a positive number of seconds up to 3.1536e\+07 \(a year\), got -1"),
        ({"time_limit": math.inf}, "got inf; leave it out for no limit"),
        ({"time_limit": 1e300}, "got 1e[+]300; leave it out for no limit"),
        ({"time_limit": math.nan}, "got nan"),
        ({"address": "auto"}, "a cluster address is for --executor ray, not 'processes'"),
    ],
)
def test_bad_executor_settings_are_refused_with_what_to_change(options, message):
    with pytest.raises(OptionError, match=message):
        make_executor(**options)  # (run() checks them before anything is written)
