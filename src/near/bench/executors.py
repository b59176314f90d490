"""Where the architectures of a ``near bench`` run are scored: in this process, in worker processes, or on Ray.

The driver (:func:`near.bench.run`) hands an executor a work function (picklable, module-level; normally
:func:`~near.bench.scoring.score_task`), the run's :class:`~near.bench.scoring.Job` and its tasks; the
executor yields an :class:`~near.bench.scoring.Outcome` for every task as soon as it is done, and the
driver stores it at once — the results store is the only place results go. Executors never write
anything themselves.

* ``serial`` — one task after the other in this process (no time limit: nothing can stop a task stuck
  in native code from inside the process).
* ``processes`` (default) — worker processes on this machine, each with an equal share of the cores as
  torch threads (no oversubscription). A worker that dies (a segfault, the OOM killer, ``kill -9``) or
  passes the time limit on one architecture is replaced, and that architecture is recorded as failed.
* ``ray`` — tasks on a Ray cluster (:mod:`near.bench.ray_executor`; ``pip install near-nas[ray]``).

Workers ignore SIGINT (the driver decides) and die with the driver, even when it is killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.connection import wait

import torch

from ..errors import ExecutorError, OptionError
from .scoring import Job, Outcome, Task, Work, cpu_count

__all__ = ["EXECUTORS", "ProcessExecutor", "SerialExecutor", "Work", "cpu_count", "make_executor"]

EXECUTORS = ("processes", "serial", "ray")
#: The longest --time-limit (a year, in seconds): a longer or infinite one would overflow the waits; none is no limit.
MAX_TIME_LIMIT = 365 * 24 * 3600.0
#: The longest single wait (the OS refuses waits over ~24 days; a deadline further away is waited for in steps).
_MAX_WAIT = 3600.0
#: How long idle workers get to exit on their own at the end of a run before they are killed.
_EXIT_GRACE = 5.0

def make_executor(
    name: str = "processes",
    *,
    workers: int | None = None,
    time_limit: float | None = None,
    address: str | None = None,
):
    """The executor called ``name`` (one of :data:`EXECUTORS`); bad settings raise :class:`OptionError`."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise OptionError(f"workers must be a positive integer, got {workers!r}")
    if time_limit is not None and (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, (int, float))
        or not 0 < time_limit <= MAX_TIME_LIMIT
    ):
        raise OptionError(
            f"the time limit must be a positive number of seconds up to {MAX_TIME_LIMIT:g} (a year), got "
            f"{time_limit!r}; leave it out for no limit"
        )
    if address is not None and name != "ray":
        raise OptionError(f"a cluster address is for --executor ray, not {name!r}")
    if name == "serial":
        if time_limit is not None:
            raise OptionError(
                "the serial executor cannot enforce a time limit; use --executor processes (the default) or ray"
            )
        if workers not in (None, 1):
            raise OptionError("the serial executor has one worker; use --executor processes for more")
        return SerialExecutor()
    if name == "processes":
        return ProcessExecutor(workers, time_limit)
    if name == "ray":
        from .ray_executor import RayExecutor  # Ray is optional: imported only when asked for

        return RayExecutor(address=address, workers=workers, time_limit=time_limit)
    raise OptionError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")


class SerialExecutor:
    """Every task in this process, one after the other."""

    name = "serial"
    workers = 1

    @property
    def threads(self) -> int:
        return torch.get_num_threads()

    def run(self, work: Work, job: Job, tasks: Iterable[Task]) -> Iterator[Outcome]:
        for task in tasks:
            yield work(job, task)


class ProcessExecutor:
    """Tasks on ``workers`` processes of this machine (default: one per core), each given its share of the
    cores as torch threads; with ``time_limit``, a task running longer is stopped and recorded as failed."""

    name = "processes"

    def __init__(self, workers: int | None = None, time_limit: float | None = None):
        self.workers = workers or cpu_count()
        self.threads = max(1, cpu_count() // self.workers)
        self.time_limit = time_limit

    def run(self, work: Work, job: Job, tasks: Iterable[Task]) -> Iterator[Outcome]:
        pending = deque(tasks)
        context = multiprocessing.get_context("spawn")  # no fork: torch's thread pools do not survive it
        pool = [_Worker(context, work, job, self.threads) for _ in range(min(self.workers, len(pending)))]
        try:
            while pending or any(worker.task for worker in pool):
                for worker in pool:
                    if worker.ready and worker.task is None and pending:
                        worker.start(pending.popleft(), self.time_limit)
                deadlines = [worker.deadline for worker in pool if worker.deadline is not None]
                timeout = min(max(0.0, min(deadlines) - time.monotonic()), _MAX_WAIT) if deadlines else None
                wait([waitable for worker in pool for waitable in worker.waitables], timeout)
                for worker in list(pool):
                    outcome = worker.collect()
                    if worker.broken:  # replaced while there is work left
                        worker.stop()
                        pool.remove(worker)
                        if pending:
                            pool.append(_Worker(context, work, job, self.threads))
                    if outcome is not None:
                        yield outcome
        finally:
            _stop_all(pool)


def _stop_all(pool: list[_Worker]) -> None:
    """End every worker: idle ones by closing their pipe, so that they exit normally and their own clean-up runs
    (a process killed instead leaves the semaphores it made, e.g. tqdm's lock, to the resource tracker, which
    warns about them at the end of the run); busy or stuck ones, and any not gone after :data:`_EXIT_GRACE`, are
    killed."""
    for worker in pool:
        if worker.task is None and not worker.broken:
            worker.close()
    deadline = time.monotonic() + _EXIT_GRACE
    for worker in pool:
        if worker.task is None and not worker.broken:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        worker.stop()


class _Worker:
    """One worker process and the task it is running (driver side)."""

    def __init__(self, context, work: Work, job: Job, threads: int):
        self._conn, child = context.Pipe()
        # the job (images: megabytes) goes through the pipe once the worker is ready, not with the process: its
        # start-up data then fit the pipe's buffer, so a driver killed while the worker imports leaves it whole
        self.process = context.Process(target=_serve, args=(child, work, threads, os.getpid()), daemon=True)
        self._job = job
        with _sigint_ignored():  # inherited through exec: Ctrl-C reaches the driver only, even during start-up
            self.process.start()
        child.close()
        self.ready, self.broken = False, False
        self.task: Task | None = None
        self.deadline: float | None = None
        self._limit: float | None = None

    @property
    def waitables(self) -> list:
        return [] if self.broken else [self._conn, self.process.sentinel]

    def start(self, task: Task, time_limit: float | None) -> None:
        self._conn.send(task)
        self.task, self._limit = task, time_limit
        self.deadline = None if time_limit is None else time.monotonic() + time_limit

    def collect(self) -> Outcome | None:
        """The outcome of the current task if it is over (done, failed, or past its deadline), else None."""
        if self.broken:
            return None
        try:
            message = self._conn.recv() if self._conn.poll() else None
        except (EOFError, OSError):
            message = None
        if message is not None:
            kind, payload = message
            if kind == "ready":
                self.ready = True
                with contextlib.suppress(OSError):  # it died just now: seen on the next round
                    self._conn.send(self._job)
                return None
            if kind == "error":
                raise payload
            self.task, self.deadline = None, None
            return payload
        if not self.process.is_alive():
            died = f"the worker process died ({_exit_text(self.process.exitcode)})"
            if not self.ready:  # before its first task: a broken environment, not one architecture's fault
                raise ExecutorError(f"a worker process could not start: {died}")
            return self._fail(f"{died} while scoring it")
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return self._fail(f"took longer than the time limit of {self._limit:g} s; the worker was stopped")
        return None

    def _fail(self, why: str) -> Outcome | None:
        """Mark the worker for replacement; its task (if any: an idle worker may die too) failed."""
        self.broken = True
        task, self.task, self.deadline = self.task, None, None
        return None if task is None else Outcome.failed(task, why)

    def close(self) -> None:
        """Close the pipe: an idle worker sees the end of its input and exits normally."""
        with contextlib.suppress(OSError):
            self._conn.close()

    def stop(self) -> None:
        """End the process at once (a task in progress is abandoned: the driver decides what it means)."""
        self.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (the driver may be killed with SIGKILL)."""
    if sys.platform != "linux":
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _serve(conn, work: Work, threads: int, driver: int) -> None:
    """A worker's life: receive the job, then score each task received until the pipe closes; errors of the
    setup go back whole.

    The worker runs this only after importing torch (seconds): a driver killed meanwhile is gone before
    :func:`_die_with_parent` can ask to follow it, so the worker checks and exits quietly instead of
    writing to a closed pipe.
    """
    _die_with_parent()
    if os.getppid() != driver:  # the driver died while this worker started
        return
    _no_process_locks()
    torch.set_num_threads(threads)
    try:
        conn.send(("ready", None))
        job: Job = conn.recv()
    except (EOFError, OSError):  # BrokenPipeError included: the driver is gone
        return
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        try:
            message = ("done", work(job, task))
        except Exception as error:
            message = ("error", _picklable(error))
        try:
            conn.send(message)
        except OSError:
            return


def _no_process_locks() -> None:
    """tqdm's default lock is a multiprocessing lock (a named semaphore) for bars shared between processes; a
    worker shows no bars, and a killed worker (a time limit, Ctrl-C) would leave the semaphore behind."""
    with contextlib.suppress(ImportError):
        from tqdm import std

        std.tqdm.set_lock(threading.RLock())


def _picklable(error: Exception) -> Exception:
    """``error`` itself if it survives pickling, else a RuntimeError carrying its type, text and traceback."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        text = "".join(traceback.format_exception(error))
        return RuntimeError(f"a worker raised {type(error).__name__}: {error}\n{text}")
