"""Executors: serial, local processes, Dask. Same tasks → same results, whatever runs them.

Every executor streams results back as runs finish and keeps at most ``2 × workers`` tasks in
flight (Dask: 2 × the worker threads connected, if more, re-read as workers join), so the
executor's memory in the parent does not grow with the number of runs. Results are handed to a
callback (which writes them to the store); order of completion does not matter because the
final tables are assembled by run id.

Dask is optional (``pip install reformsim[dask]``): ``dask="local"`` starts a
``LocalCluster(n_workers=workers, threads_per_worker=1)``; ``dask="tcp://HOST:PORT"`` joins a
running scheduler (see ``docs/experiments.md`` for ``dask scheduler`` / ``dask worker`` and a
dask-jobqueue SLURM recipe). Lost workers' tasks are re-run elsewhere by the scheduler.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from reformsim.experiment.runner import RunTask, run_task
from reformsim.experiment.store import ExperimentError

OnResult = Callable[[dict[str, Any]], None]


def default_workers() -> int:
    """Worker count when none is given: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_serial(tasks: Iterable[RunTask], on_result: OnResult) -> None:
    """Run tasks one after another in this process."""
    for task in tasks:
        on_result(run_task(task))


def run_processes(tasks: Iterable[RunTask], on_result: OnResult, workers: int) -> None:
    """Run tasks in a pool of ``workers`` spawned processes (one thread each)."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                             initializer=_single_thread) as pool:
        _drain(lambda t: pool.submit(run_task, t), iter(tasks), on_result, 2 * workers)


def _single_thread() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _drain(submit: Callable[[RunTask], Future], tasks: Iterator[RunTask], on_result: OnResult,
           window: int) -> None:
    pending: set[Future] = set()
    for task in tasks:
        pending.add(submit(task))
        if len(pending) >= window:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                on_result(fut.result())
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for fut in done:
            on_result(fut.result())


def run_dask(tasks: Iterable[RunTask], on_result: OnResult, workers: int, address: str) -> None:
    """Run tasks on Dask: a fresh LocalCluster (``address="local"``) or a running scheduler."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ExperimentError(
            "--dask: expected the optional Dask extra to be installed "
            "(pip install 'reformsim[dask]'), got no module 'dask.distributed'"
        ) from None
    cluster = None
    if address == "local":
        import dask

        # Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in each worker (and in this process's
        # environment). That switches off glibc's adaptive mmap threshold: every numpy temporary
        # above 128 KiB becomes a fresh mmap with page faults, and N Street runs took ~1/3 longer
        # on 2 workers (docs/experiments.md, Dask). Runs keep no data between tasks, so keep glibc's
        # default; results do not depend on it.
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ExperimentError(
                f"--dask: expected a reachable Dask scheduler, got no answer from {address} ({exc})"
            ) from None
    try:
        # Keep 2 tasks per worker thread in flight. Workers may join after the start (SLURM jobs
        # still queued, ``cluster.scale`` or ``adapt``), so the window is re-read every few
        # seconds and grows with the cluster; it never shrinks.
        window = 2 * max(workers, _dask_threads(client))
        checked = time.monotonic()
        it = iter(tasks)
        ac = as_completed()
        for task in _take(it, window):
            ac.add(client.submit(run_task, task, pure=False, retries=3))
        for fut in ac:
            on_result(fut.result())
            fut.release()
            if time.monotonic() - checked > _DASK_RECHECK_S:
                window = max(window, 2 * _dask_threads(client))
                checked = time.monotonic()
            for task in _take(it, max(window - ac.count(), 0)):
                ac.add(client.submit(run_task, task, pure=False, retries=3))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


_DASK_RECHECK_S = 5.0


def _dask_threads(client: Any) -> int:
    """Worker threads connected to the scheduler now (one per single-threaded worker)."""
    return sum(client.nthreads().values())


def _take(it: Iterator[RunTask], n: int) -> list[RunTask]:
    out = []
    for _ in range(n):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out


def execute(tasks: list[RunTask], on_result: OnResult, *, executor: str = "processes",
            workers: int | None = None, dask: str | None = None) -> None:
    """Dispatch ``tasks`` to the chosen executor.

    Parameters
    ----------
    executor
        ``"serial"``, ``"processes"`` or ``"dask"`` (implied when ``dask`` is given).
    workers
        Processes or Dask workers (default: CPUs available).
    dask
        ``"local"`` or a scheduler address such as ``"tcp://127.0.0.1:8786"``.
    """
    workers = workers or default_workers()
    if dask is not None or executor == "dask":
        run_dask(tasks, on_result, workers, dask or "local")
    elif executor == "serial" or len(tasks) <= 1:
        run_serial(tasks, on_result)
    elif executor == "processes":
        run_processes(tasks, on_result, workers)
    else:
        raise ExperimentError(f"executor: expected 'serial', 'processes' or 'dask', got {executor!r}")
    sys.stderr.flush()
