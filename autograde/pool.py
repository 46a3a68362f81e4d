"""The grading pool: where sandboxed executions run, behind the smallest interface that fits.

The interface is Python's own `concurrent.futures.Executor`: the grader only hands it `execute_job(job)` calls
and reads the results, and jobs and results are plain picklable dataclasses (autograde/sandbox.py). The default
is a local pool of worker processes, one per core; each worker is a long-lived Python process (it imports
nbgrader once) that starts one fresh sandboxed kernel per submission. To fan out over several machines, grade
on a Dask cluster (`factorylab grade --scheduler tcp://host:8786`, `dask_pool`), or pass any other Executor
from an existing engine (`loky`, `mpi4py.futures`); the workers need factorylab installed, bubblewrap, and the
submissions' files at the same paths (a shared course folder).

Why not several `nbgrader autograde` processes: they contend on the gradebook's SQLite file and each pays
nbgrader's start-up, while the cost that matters, the kernel's start-up and the learner's code, is what the
workers run in parallel here. The gradebook is written by the parent alone, one submission after another.

A worker can be lost while it grades (killed, out of memory, its machine gone). That says nothing about the
submission, so `GradingPool` hands the job again instead of failing it: Dask reports the loss as
`KilledWorker` once the task has lost `distributed.scheduler.allowed-failures` workers (it reschedules it by
itself before that), a local pool as `BrokenProcessPool` for every job it held, after which it takes no more
work: a pool the run started itself is then replaced by a fresh one.
"""

import logging
import multiprocessing
import os
import sys
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor

from autograde.errors import GradeError
from autograde.sandbox import ExecutionJob, ExecutionResult, execute_job

REGRADES = 2  # how many times one job is handed again after losing its worker
SCHEDULER_TIMEOUT_S = 15  # connecting to a Dask scheduler, and waiting for its first worker

log = logging.getLogger(__name__)


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


class DaskPool(Executor):
    """The executor of a Dask cluster (`Client.get_executor`), which also closes its client on shutdown.

    Jobs are submitted as impure tasks: two identical jobs are two gradings, and a job handed again after
    its worker was lost is a new task, not the failed one looked up by its key.
    """

    def __init__(self, address: str, *, timeout_s: float = SCHEDULER_TIMEOUT_S):
        from distributed import Client

        try:
            self.client = Client(address, timeout=timeout_s, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise GradeError(f"--scheduler {address}: no Dask scheduler answers there ({error}); start one "
                             "(`dask scheduler`) or check the address, e.g. tcp://host:8786") from error
        try:
            self.client.wait_for_workers(1, timeout=timeout_s)
        except TimeoutError as error:
            self.client.close()
            raise GradeError(f"--scheduler {address}: the scheduler has no worker; start some on the grading "
                             f"machines (`dask worker {address} --nthreads 1`)") from error
        self._executor = self.client.get_executor(pure=False)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._executor.shutdown(wait=wait and not cancel_futures)
        self.client.close()


def dask_pool(address: str, *, timeout_s: float = SCHEDULER_TIMEOUT_S) -> DaskPool:
    """The grading pool of the Dask cluster whose scheduler listens at `address` (e.g. tcp://host:8786)."""
    return DaskPool(address, timeout_s=timeout_s)


def worker_lost(error: BaseException) -> bool:
    """Whether `error` says that the worker running a job was lost, rather than that the job failed."""
    if isinstance(error, BrokenExecutor):
        return True
    distributed = sys.modules.get("distributed")  # only a Dask pool can raise its errors
    return distributed is not None and isinstance(error, distributed.KilledWorker)


class GradingPool:
    """The executor of one grading run: `submit(job)`, then `result(future)`, which hands the job again (up
    to REGRADES times) when its worker was lost, and says how many times it did.

    `executor` is the caller's pool, used as is; without it the run starts its own: on the Dask cluster at
    `scheduler`, else `workers` local processes, replaced when one of them dies.
    """

    def __init__(self, executor: Executor | None = None, *, workers: int | None = None,
                 scheduler: str | None = None):
        if executor is not None and scheduler:
            raise GradeError("grade: give either an executor or a Dask scheduler address, not both")
        self._own = executor is None
        self._workers, self._scheduler = workers, scheduler
        self.executor = executor or self._start()
        self._jobs: dict[Future, ExecutionJob] = {}
        self._again: dict[Future, Future] = {}

    def _start(self) -> Executor:
        return dask_pool(self._scheduler) if self._scheduler else local_pool(self._workers)

    def submit(self, job: ExecutionJob) -> Future:
        future = self.executor.submit(execute_job, job)
        self._jobs[future] = job
        return future

    def result(self, future: Future) -> tuple[ExecutionResult, int]:
        """The job's result and how many times it was handed again; raises what the job raised."""
        lost = 0
        while True:
            try:
                return future.result(), lost
            except Exception as error:
                if not worker_lost(error) or lost == REGRADES:
                    raise
                lost += 1
                future = self._again.get(future) or self._regrade(future, error)

    def _regrade(self, future: Future, error: Exception) -> Future:
        """Hand `future`'s job again; a broken pool of our own is first replaced, and every job it held
        that had not finished is handed to the new one at once, so they still run in parallel."""
        job = self._jobs[future]
        log.warning("the worker grading %s/%s %s.ipynb was lost (%s): grading it again", job.learner, job.lab,
                    job.notebook, type(error).__name__)
        if isinstance(error, BrokenExecutor) and self._own:
            broken, self.executor = self.executor, self._start()
            broken.shutdown(wait=False, cancel_futures=True)
            for old, old_job in list(self._jobs.items()):
                if old not in self._again and not _finished(old):
                    self._again[old] = self.submit(old_job)
            return self._again[future]
        self._again[future] = self.submit(job)
        return self._again[future]

    def shutdown(self) -> None:
        """Stop a pool the run started (its unfinished jobs cancelled); leave the caller's pool running."""
        if self._own:
            self.executor.shutdown(cancel_futures=True)


def _finished(future: Future) -> bool:
    """Done with a result or an error of its own (not cancelled, not lost with its worker)."""
    if not future.done() or future.cancelled():
        return False
    error = future.exception()
    return error is None or not worker_lost(error)
