"""The grading pool: where sandboxed executions run, behind the smallest interface that fits.

The interface is Python's own `concurrent.futures.Executor`: the grader only calls
`executor.submit(execute_job, job)` and reads `future.result()`, and jobs and results are plain picklable
dataclasses (autograde/sandbox.py). The default is a local pool of worker processes, one per core; each
worker is a long-lived Python process (it imports nbgrader once) that starts one fresh sandboxed kernel per
submission. To fan out over several machines, pass any other Executor instead, from an existing engine:
`dask.distributed.Client(...).get_executor()`, `loky`, or `concurrent.futures` over MPI (`mpi4py.futures`);
the workers need factorylab installed and the submissions' files at the same paths (a shared course folder).

Why not several `nbgrader autograde` processes: they contend on the gradebook's SQLite file and each pays
nbgrader's start-up, while the cost that matters, the kernel's start-up and the learner's code, is what the
workers run in parallel here. The gradebook is written by the parent alone, one submission after another.
"""

import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def local_pool(workers: int | None = None) -> Executor:
    """A pool of `workers` processes (default: one per core), started fresh (`spawn`), not forked from a
    parent that holds gradebook connections."""
    return ProcessPoolExecutor(max_workers=workers or default_workers(),
                               mp_context=multiprocessing.get_context("spawn"))
