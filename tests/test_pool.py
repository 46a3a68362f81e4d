"""The grading pool (autograde/pool.py): sandboxed executions on worker processes, handed again when their
worker is lost, never when the job itself failed; a caller's executor is used as is and left running."""

import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import nbformat
import psutil
import pytest
from distributed import KilledWorker

from autograde.errors import GradeError
from autograde.pool import REGRADES, GradingPool, worker_lost
from autograde.sandbox import ExecutionJob, Limits

LIMITS = Limits(cell_timeout_s=10, notebook_timeout_s=20, memory_mb=1024)


def _job(learner: str, source: str = "import time\ntime.sleep(1.5)\nprint('done', 6 * 7)") -> ExecutionJob:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return ExecutionJob(lab="lab_pool", learner=learner, notebook="pool", notebook_json=nbformat.writes(nb),
                        limits=LIMITS)


def _printed(result) -> str:
    nb = nbformat.reads(result.notebook_json, as_version=4)
    return "".join(out.get("text", "") for out in nb.cells[0].outputs)


def test_a_worker_killed_mid_run_loses_no_job():
    """Killing a local worker breaks the whole pool: the run's own pool is replaced and every job it held is
    graded again, in parallel, with the result an undisturbed run gives."""
    before = {child.pid for child in psutil.Process().children()}
    pool = GradingPool(workers=2)
    try:
        futures = [pool.submit(_job(f"learner{index}")) for index in range(4)]
        workers = _new_children(before, count=2)
        victim = _first_running_a_kernel(workers)
        os.kill(victim, signal.SIGKILL)
        results = [pool.result(future) for future in futures]
    finally:
        pool.shutdown()
    assert [_printed(result) for result, _ in results] == ["done 42\n"] * 4
    assert [result.learner for result, _ in results] == [f"learner{index}" for index in range(4)]
    assert all(result.isolated for result, _ in results)
    assert any(lost for _, lost in results), "the killed worker held jobs: they were graded again"
    assert all(lost <= 1 for _, lost in results)


def _new_children(before: set[int], *, count: int, timeout_s: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        new = [child.pid for child in psutil.Process().children() if child.pid not in before]
        if len(new) >= count:
            return new
        time.sleep(0.05)
    raise AssertionError(f"the pool did not start {count} workers within {timeout_s} s")


def _first_running_a_kernel(pids: list[int], timeout_s: float = 30) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for pid in pids:
            if psutil.Process(pid).children(recursive=True):
                return pid
        time.sleep(0.05)
    raise AssertionError(f"no worker started a kernel within {timeout_s} s")


def test_a_job_that_fails_by_itself_is_not_graded_again():
    """An error of the job (here, JSON that is not a notebook) is raised as is, once: only a lost worker
    is a reason to grade again."""
    calls = []

    class Counting(ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            calls.append(args)
            return super().submit(fn, *args, **kwargs)

    with Counting(max_workers=1) as executor:
        pool = GradingPool(executor)
        broken = ExecutionJob(lab="lab_pool", learner="ada", notebook="pool", notebook_json="{not json",
                              limits=LIMITS)
        with pytest.raises(Exception, match=r"(?i)json|notebook") as raised:
            pool.result(pool.submit(broken))
        assert not worker_lost(raised.value)
        assert len(calls) == 1


def test_a_job_losing_its_worker_every_time_is_given_up_after_the_regrades():
    """A job whose every attempt loses its worker (on a caller's Dask-like executor that reports it as
    KilledWorker) is tried 1 + REGRADES times, then its error reaches the grader."""
    attempts = []

    class Losing(ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            attempts.append(args[0].learner)
            return super().submit(_lose_worker)

    with Losing(max_workers=1) as executor:
        pool = GradingPool(executor)
        with pytest.raises(KilledWorker):
            pool.result(pool.submit(_job("bea")))
    assert attempts == ["bea"] * (1 + REGRADES)


def _lose_worker():
    raise KilledWorker("execute_job-1234", "tcp://127.0.0.1:1", 0)


def test_a_callers_broken_pool_is_not_replaced_and_its_error_is_raised():
    """The caller owns its executor: once broken it stays broken, and the job's error says so."""
    before = {child.pid for child in psutil.Process().children()}
    with ProcessPoolExecutor(max_workers=1) as executor:
        pool = GradingPool(executor)
        future = pool.submit(_job("cem"))
        os.kill(_first_running_a_kernel(_new_children(before, count=1)), signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            pool.result(future)
        assert pool.executor is executor


def test_the_losses_a_pool_reports_are_the_workers_not_the_jobs():
    assert worker_lost(BrokenProcessPool("a worker died"))
    assert worker_lost(KilledWorker("key", "tcp://127.0.0.1:1", 3))
    assert not worker_lost(ValueError("the notebook is not JSON"))
    assert not worker_lost(TimeoutError("a cell ran too long"))


def test_an_executor_and_a_scheduler_together_are_refused():
    with ThreadPoolExecutor(max_workers=1) as executor, pytest.raises(GradeError, match="not both"):
        GradingPool(executor, scheduler="tcp://127.0.0.1:8786")
