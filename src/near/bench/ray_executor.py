"""``near bench --executor ray``: the architectures of a run as tasks on a Ray cluster.

Only this module imports Ray, and only :func:`~near.bench.executors.make_executor` imports it, when the
``ray`` executor is asked for: nothing else in ``near`` needs Ray (``pip install 'near-nas[ray]'`` adds it).

Without an address (and without ``RAY_ADDRESS`` set, as ``ray job submit`` does), a local Ray instance is
started for the run and shut down after it. With one — ``auto`` on a node of a running cluster, or the head
node's ``host:port`` — the run connects to that cluster and only disconnects at the end. Every node must have
``near`` installed, the same version: the tasks import it there. Ray already initialised by the caller is
used as it is and left running.

Each task takes one CPU and runs torch on one thread. It is a streaming generator that reports once when
its work starts and then its outcome, so the time limit counts from the start of the work, not from the
submission (a task may wait in Ray's queue, or for a fresh worker to import torch). Ray Client (``ray://``)
cannot stream a task's results, so those addresses are refused.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import torch

from ..errors import ExecutorError, OptionError
from .scoring import SETUP_ERRORS, Job, Outcome, Task, Work, cpu_count

try:
    import ray
    from ray import exceptions as ray_errors
except ImportError as error:
    raise OptionError("the ray executor needs Ray: pip install 'near-nas[ray]'") from error

__all__ = ["RayExecutor"]

#: What a task yields when its work starts, before its outcome.
_STARTED = "started"
#: The longest one wait on Ray lasts (a task's deadline, when sooner, ends it).
_POLL_SECONDS = 1.0
#: How long the head node of a cluster has to accept a connection before its address counts as unreachable.
_CONNECT_SECONDS = 10.0
#: What a cluster address should be.
_HEAD = "give the head node's host:port (6379 unless `ray start --head` was given another --port)"


class RayExecutor:
    """Tasks on the Ray cluster at ``address`` (default: a local instance started for the run), at most
    ``workers`` at once (default: the cluster's CPUs); with ``time_limit``, a task running longer is stopped
    (its worker process is killed) and recorded as failed.

    ``workers`` stays ``None`` until given: the cluster's size is known only once connected, in :meth:`run`.
    """

    name = "ray"
    threads = 1  # torch threads per task: a task has one CPU

    def __init__(self, address: str | None = None, workers: int | None = None, time_limit: float | None = None):
        self.address = _cluster_address(address)
        self.workers = workers
        self.time_limit = time_limit

    def run(self, work: Work, job: Job, tasks: Iterable[Task]) -> Iterator[Outcome]:
        pending = deque(tasks)
        with _connected(self.address, self.workers) as cpus, _signals_through_ray():
            yield from self._schedule(work, job, pending, self.workers or cpus)

    def _schedule(self, work: Work, job: Job, pending: deque[Task], workers: int) -> Iterator[Outcome]:
        """Keep ``workers`` tasks submitted; yield each outcome as it arrives and each task past the time limit
        as failed. Whatever is still running when this ends (in any way) is cancelled."""
        job_ref = ray.put(job)  # sent once, shared by every task
        running: dict[Any, Task] = {}  # streaming generator → its task
        started: dict[Any, float] = {}  # streaming generator → when its work started (monotonic clock)
        try:
            while pending or running:
                while pending and len(running) < workers:
                    task = pending.popleft()
                    running[_score.remote(work, job_ref, task)] = task
                ready, _ = ray.wait(list(running), num_returns=1, timeout=self._timeout(started))
                for generator in ready:
                    try:
                        value = ray.get(next(generator))
                    except ray_errors.RayError as error:
                        value = _failure(running[generator], error, generator in started)
                    if isinstance(value, Outcome):
                        del running[generator]
                        started.pop(generator, None)
                        yield value
                    else:
                        started[generator] = time.monotonic()
                for generator in self._late(started):
                    ray.cancel(generator, force=True)
                    del started[generator]
                    task = running.pop(generator)
                    yield Outcome.failed(
                        task, f"took longer than the time limit of {self.time_limit:g} s; the worker was stopped"
                    )
        finally:
            for generator in running:
                with contextlib.suppress(Exception):  # already finished or gone with its worker
                    ray.cancel(generator, force=True)

    def _timeout(self, started: dict[Any, float]) -> float:
        """Seconds to wait for the next report: until the first deadline, and never long."""
        if self.time_limit is None or not started:
            return _POLL_SECONDS
        return max(0.0, min(_POLL_SECONDS, min(started.values()) + self.time_limit - time.monotonic()))

    def _late(self, started: dict[Any, float]) -> list[Any]:
        if self.time_limit is None:
            return []
        now = time.monotonic()
        return [generator for generator, since in started.items() if now - since >= self.time_limit]


@ray.remote(num_cpus=1, max_retries=0, num_returns="streaming")
def _score(work: Work, job: Job, task: Task) -> Iterator[str | Outcome]:
    """One task on a Ray worker: one CPU, so one torch thread; says when its work starts, then its outcome."""
    torch.set_num_threads(1)
    yield _STARTED
    yield work(job, task)


def _failure(task: Task, error: Exception, started: bool) -> Outcome:
    """The outcome of a task Ray reports ``error`` for; raises instead when the error stops the run: an error
    of the run's setup, or a task that could not even start (its worker cannot load ``near`` or the job)."""
    raised = isinstance(error, ray_errors.RayTaskError)  # by Python code in the task, not by Ray
    cause = error.cause if raised else error
    if isinstance(cause, SETUP_ERRORS):
        raise cause
    if isinstance(error, ray_errors.RuntimeEnvSetupError) or (raised and not started):
        raise ExecutorError(
            f"a Ray task could not start: {_text(cause)}; every node of the cluster needs near-nas installed, "
            "the same version as here"
        ) from error
    if raised:  # the work function raised (score_task records such errors itself)
        return Outcome.failed(task, _text(cause))
    return Outcome.failed(task, f"the Ray worker failed while scoring it ({_text(error)})")


def _text(error: BaseException) -> str:
    """``Type: message`` on one line; for a Ray system error, of the error inside it (e.g. an import's)."""
    if isinstance(error, ray_errors.RaySystemError) and isinstance(error.client_exc, BaseException):
        error = error.client_exc
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


@contextlib.contextmanager
def _signals_through_ray() -> Iterator[None]:
    """Let the exception a signal handler raises (``near bench`` turns SIGTERM into one) out of Ray's blocking
    calls as itself: Ray passes on KeyboardInterrupt and SystemExit, but wraps any other in a SystemError."""
    try:
        yield
    except SystemError as error:
        if error.__cause__ is None or "returned a result with an exception set" not in str(error):
            raise
        raise error.__cause__ from None


def _cpus() -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _cluster_address(address: str | None) -> str | None:
    """The cluster to connect to: ``address``, else ``RAY_ADDRESS`` (as ``ray job submit`` sets it), else None
    (a local instance). An address that cannot work is refused now: ``ray.init`` would wait minutes on one that
    nothing answers on."""
    given = f"{address!r}" if address else f"{os.environ.get('RAY_ADDRESS')!r} (RAY_ADDRESS)"
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is None:
        return None
    if address.startswith("ray://"):
        raise OptionError(
            f"cannot use the Ray cluster at {given}: Ray Client (ray://) cannot stream results; run near bench on a "
            f"node of the cluster with the address auto (e.g. through `ray job submit`), or {_HEAD}"
        )
    host, _, port = address.rpartition(":")
    if host and port.isdigit():  # else "auto", or a form that ray.init judges
        try:
            socket.create_connection((host, int(port)), timeout=_CONNECT_SECONDS).close()
        except OSError as error:
            raise OptionError(
                f"cannot reach a Ray cluster at {given}: {error.strerror or error}; {_HEAD}, or auto on a node of "
                "the cluster, and check that the cluster is up and the port open"
            ) from None
    return address


@contextlib.contextmanager
def _connected(address: str | None, workers: int | None) -> Iterator[int]:
    """Ray for the block: as the caller initialised it, else a local instance of ``workers`` CPUs (default:
    this machine's) or the cluster at ``address``, shut down or disconnected after it. Yields its CPUs."""
    if ray.is_initialized():
        yield _cpus()
        return
    settings: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    handler = signal.getsignal(signal.SIGTERM)
    try:
        if address is None:
            ray.init(address="local", num_cpus=workers or cpu_count(), include_dashboard=False, **settings)
        else:
            ray.init(address=address, **settings)
    except (ConnectionError, ValueError) as error:
        raise OptionError(f"cannot connect to the Ray cluster at {address!r}: {error}") from None
    finally:  # put back the SIGTERM handler ray.init replaced: near bench unwinds on SIGTERM as on Ctrl-C
        if handler is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, handler)
    try:
        yield _cpus()
    finally:
        ray.shutdown()  # a local instance stops; a cluster is only disconnected from
