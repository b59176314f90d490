"""near bench on Ray, with a real local Ray instance (no mocks): the scores of the serial run, and a worker that
dies, hangs or finds a setup error on one architecture handled as with worker processes. Nothing else in
near imports Ray."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import ray  # no skip without Ray: CI installs near-nas[ray], and these tests must run there
import torch

import near
from bench_work import PROXIES, VICTIM, assert_same_scores, die_on_victim, hang_on_victim, setup_error_on_victim, values
from near.bench import make_executor, run
from near.bench.ray_executor import RayExecutor
from near.bench.scoring import Task
from near.errors import ExecutorError, OptionError
from ray_work import SLOW_SECONDS, slow

CPUS = 2
#: Where the workers import near and the work functions from: the driver's near (this checkout) and tests/.
PYTHONPATH = os.pathsep.join([str(Path(near.__file__).parents[1]), str(Path(__file__).parent)])


@pytest.fixture(scope="module", autouse=True)
def cluster():
    """One local Ray instance for the whole module (starting one takes seconds); the executor uses it and
    leaves it running, as it does with any Ray the caller initialised."""
    handler, threads = signal.getsignal(signal.SIGTERM), torch.get_num_threads()
    torch.set_num_threads(1)  # the serial runs here share the CPUs with Ray's workers: no oversubscription
    ray.init(
        address="local",
        num_cpus=CPUS,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": PYTHONPATH}},
    )
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
    signal.signal(signal.SIGTERM, handler)
    torch.set_num_threads(threads)


def assert_all_cpus_free():
    """Every worker of a stopped task was killed: its CPU is back (Ray frees it within moments)."""
    deadline = time.monotonic() + 20
    while ray.available_resources().get("CPU", 0) < CPUS and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ray.available_resources().get("CPU", 0) == CPUS


def test_ray_gives_the_scores_of_the_serial_run(files, tmp_path):
    common = dict(seed=1, out_dir=tmp_path / "serial")
    serial = run("nb201", *files, PROXIES, executor="serial", **common)
    common["out_dir"] = tmp_path / "ray"
    on_ray = run("nb201", *files, PROXIES, executor="ray", **common)
    assert_same_scores(tmp_path / "ray/scores.csv", tmp_path / "serial/scores.csv")
    assert on_ray.computed == serial.computed == 18 and on_ray.failed == 0
    executor = json.loads((tmp_path / "ray/run.json").read_text())["executor"]
    assert executor == {"name": "ray", "workers": None, "threads": 1, "time_limit": None}  # workers: the cluster's
    assert ray.is_initialized()  # the caller's Ray is left as it was


def test_a_worker_killed_on_one_architecture_fails_it_and_the_others_are_scored(job_and_tasks, serial):
    job, tasks = job_and_tasks
    outcomes = {o.task.arch_str: o for o in RayExecutor(workers=CPUS).run(die_on_victim, job, tasks)}
    assert sorted(outcomes) == sorted(serial)  # every task once, the victim included
    victim = outcomes.pop(VICTIM)
    assert victim.failure.startswith("failed: the Ray worker failed while scoring it (WorkerCrashedError: ")
    assert all(math.isnan(v) and reason == victim.failure for v, reason, _ in victim.values.values())
    for arch, outcome in outcomes.items():
        assert outcome.failure is None
        assert values(outcome) == pytest.approx(values(serial[arch]), nan_ok=True)


def test_a_hung_architecture_is_stopped_at_the_time_limit_and_its_worker_killed(job_and_tasks, serial):
    job, tasks = job_and_tasks
    start = time.monotonic()
    outcomes = {o.task.arch_str: o for o in RayExecutor(workers=CPUS, time_limit=3).run(hang_on_victim, job, tasks)}
    assert time.monotonic() - start < 60  # not the hour the victim would take
    assert outcomes[VICTIM].failure == "failed: took longer than the time limit of 3 s; the worker was stopped"
    assert all(o.failure is None for arch, o in outcomes.items() if arch != VICTIM)
    assert len(outcomes) == len(serial)
    assert_all_cpus_free()


def test_the_time_limit_counts_from_the_start_of_the_work_not_from_the_queue(job_and_tasks):
    job, tasks = job_and_tasks
    tasks = [Task(task.arch_str, task.arch, ("params",)) for task in tasks]  # a task takes SLOW_SECONDS, no more
    limit = 2.5 * SLOW_SECONDS  # each task keeps to it; the third in line for a CPU would not, counted from submission
    executor = RayExecutor(workers=len(tasks), time_limit=limit)  # all submitted at once, for CPUS slots
    outcomes = list(executor.run(slow, job, tasks))
    assert len(outcomes) == len(tasks) and all(o.failure is None for o in outcomes)


class Stop(Exception):
    """What a SIGTERM handler raises (near bench's turns SIGTERM into an exception, to unwind as on Ctrl-C)."""


def test_an_exception_raised_by_a_signal_handler_stops_the_run_as_itself(job_and_tasks):
    job, tasks = job_and_tasks
    victim = [task for task in tasks if task.arch_str == VICTIM]  # hangs: the driver is waiting on Ray

    def stop(signum, frame):
        raise Stop

    previous = signal.signal(signal.SIGTERM, stop)
    timer = threading.Timer(2, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        timer.start()
        with pytest.raises(Stop):  # Ray would wrap it in a SystemError
            list(RayExecutor(workers=1).run(hang_on_victim, job, victim))
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous)
    assert_all_cpus_free()  # the hung task was stopped on the way out


def test_a_setup_error_found_by_a_worker_stops_the_run_and_the_rest_is_cancelled(job_and_tasks):
    job, tasks = job_and_tasks
    with pytest.raises(OptionError, match="batchnorm must be one of"):
        list(RayExecutor(workers=1).run(setup_error_on_victim, job, tasks))
    assert_all_cpus_free()


def test_a_task_that_cannot_load_its_work_stops_the_run(job_and_tasks, tmp_path, monkeypatch):
    job, tasks = job_and_tasks
    (tmp_path / "near_test_driver_only.py").write_text("def work(job, task):\n    raise AssertionError\n")
    monkeypatch.syspath_prepend(tmp_path)  # on the driver's path only, as near is on a node's that lacks it
    from near_test_driver_only import work

    with pytest.raises(ExecutorError) as error:
        list(RayExecutor(workers=1).run(work, job, tasks))
    assert str(error.value) == (
        "a Ray task could not start: ModuleNotFoundError: No module named 'near_test_driver_only'; "
        "every node of the cluster needs near-nas installed, the same version as here"
    )


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("ray://head:10001", "cannot use the Ray cluster at 'ray://head:10001': Ray Client (ray://) cannot stream"),
        ("127.0.0.1:1", "cannot reach a Ray cluster at '127.0.0.1:1': Connection refused; give the head node's"),
    ],
)
def test_an_address_that_cannot_work_is_refused_before_the_run(address, message):
    with pytest.raises(OptionError) as error:
        make_executor("ray", address=address)
    assert str(error.value).startswith(message)


def test_without_an_address_the_cluster_is_the_one_in_ray_address(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")  # as `ray job submit` sets it (to a cluster that is up)
    with pytest.raises(OptionError, match=r"^cannot reach a Ray cluster at '127.0.0.1:1' \(RAY_ADDRESS\): "):
        make_executor("ray")


def test_without_ray_the_executor_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where Ray is not installed
    monkeypatch.delitem(sys.modules, "near.bench.ray_executor")
    with pytest.raises(OptionError, match=r"^the ray executor needs Ray: pip install 'near-nas\[ray\]'$"):
        make_executor("ray")


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter with this checkout's near; its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([PYTHONPATH, os.environ.get("PYTHONPATH", "")])}
    env.pop("RAY_ADDRESS", None)  # which would be the cluster to use when no address is given
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_run_connects_to_a_cluster_and_leaves_it_running(cluster, files):
    code = f"""
        import ray
        from near.bench import run
        result = run("nb201", {str(files[0])!r}, {str(files[1])!r}, ["params"], out_dir={str(files[0].parent)!r},
                     executor="ray", address={cluster!r}, sample=2)
        print(result.computed, ray.is_initialized())
    """
    assert run_python(code).split() == ["2", "False"]  # scored on the cluster, then disconnected
    assert ray.get(ray.put(1)) == 1 and ray.cluster_resources()["CPU"] == CPUS  # the cluster is still up


def test_a_local_instance_started_for_a_run_is_shut_down_also_when_the_run_stops_early(files):
    code = f"""
        import ray
        from near.bench import load_images, read_table, resolve_options
        from near.bench.ray_executor import RayExecutor
        from near.bench.scoring import Job, Task, score_task
        table, images = read_table({str(files[0])!r}, "nb201"), load_images({str(files[1])!r})
        job = Job("nb201", images, resolve_options(["params"]), 1, 10, "cpu")
        tasks = [Task(row.arch_str, row.arch, ("params",)) for row in table.rows]
        outcomes = RayExecutor(workers=1).run(score_task, job, tasks)
        first = next(outcomes)
        running = ray.is_initialized()
        outcomes.close()  # as when the driver stops early: Ctrl-C, SIGTERM, an error storing a result
        print(first.failure, running, ray.is_initialized())
    """
    assert run_python(code).split() == ["None", "True", "False"]


def test_nothing_but_the_ray_executor_imports_ray(files, tmp_path):
    code = f"""
        import sys
        import near, near.bench, near.cli
        from near.bench import run
        run("nb201", {str(files[0])!r}, {str(files[1])!r}, ["params"], out_dir={str(tmp_path)!r}, executor="serial")
        print("ray" in sys.modules)
    """
    assert run_python(code).split() == ["False"]
