"""Grading on a Dask cluster (`factorylab grade --scheduler`): the grades the local pool gives, the gradebook
written by the grading process alone, and no submission lost with a worker killed mid-run."""

import os
import shutil
import signal
import threading
import time

import dask
import psutil
import pytest
from distributed import Client, LocalCluster
from grading_fixtures import FAST_LIMITS, LAB, RIGHT_COUNTS, RIGHT_RATE, WRONG_RATE, answer, released_notebook, submit
from nbgrader.api import Gradebook

from autograde.course import Course
from autograde.errors import GradeError
from autograde.grade import grade
from autograde.pool import dask_pool
from factorylab.cli import main

ANSWERS = {
    "ada": {"rate_function": RIGHT_RATE, "rate_counts": RIGHT_COUNTS, "rate_explain": "It resets at shift change."},
    "bea": {"rate_function": WRONG_RATE, "rate_counts": "counts = [1, 2]\n"},
    "cem": {"rate_function": RIGHT_RATE},
    "dan": {"rate_counts": RIGHT_COUNTS},
    "eve": {"rate_function": "def mean_rate(counts, period_s):\n    raise ValueError('not yet')\n"},
    "fay": {"rate_function": RIGHT_RATE, "rate_counts": RIGHT_COUNTS},
}


def _cohort(course: Course) -> None:
    released = released_notebook(course)
    for learner, sources in ANSWERS.items():
        submit(course, learner, answer(released, **sources))


def _rows(course: Course) -> list[tuple]:
    """Every cell grade of the gradebook, comparable across courses."""
    with Gradebook(course.db_url) as gradebook:
        return sorted((student.id, grade.name, grade.auto_score, grade.needs_manual_grade, grade.failed_tests)
                      for student in gradebook.students
                      for notebook in gradebook.find_submission(LAB, student.id).notebooks
                      for grade in notebook.grades)


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes of one thread each. With no allowed failures, a task whose worker dies comes back
    to the grader as KilledWorker at once (Dask would otherwise reschedule it itself, up to three times), so
    what the kill test sees is the grader's own regrading."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local


@pytest.fixture(scope="module")
def local_rows(released_course, tmp_path_factory) -> list[tuple]:
    """The cohort's grades from the local pool, the reference."""
    course = Course.at(tmp_path_factory.mktemp("local") / "course")
    shutil.copytree(released_course.root, course.root)
    _cohort(course)
    outcomes = grade(course_dir=course.root, limits=FAST_LIMITS, progress=False)
    assert all(outcome.status in ("ok", "flagged") for outcome in outcomes), outcomes
    return _rows(course)


def test_the_command_line_grades_on_the_cluster_as_the_local_pool_does(cluster, local_rows, course_copy, capsys):
    _cohort(course_copy)
    status = main(["grade", "--course", str(course_copy.root), "--scheduler", cluster.scheduler_address,
                   "--cell-timeout", str(FAST_LIMITS.cell_timeout_s),
                   "--notebook-timeout", str(FAST_LIMITS.notebook_timeout_s),
                   "--memory-mb", str(FAST_LIMITS.memory_mb)])
    assert status == 0, capsys.readouterr()
    assert "6 submission(s)" in capsys.readouterr().out
    assert _rows(course_copy) == local_rows
    assert {row[0] for row in local_rows} == set(ANSWERS)
    assert any(row[2] == 0 for row in local_rows) and any(row[2] and row[2] > 0 for row in local_rows)


def test_a_worker_killed_mid_run_loses_no_submission(cluster, local_rows, course_copy):
    _cohort(course_copy)
    with Client(cluster.scheduler_address) as client:
        pids = client.run(os.getpid)
    outcomes, errors = [], []

    def run() -> None:
        try:
            outcomes.extend(grade(course_dir=course_copy.root, scheduler=cluster.scheduler_address,
                                  limits=FAST_LIMITS, progress=False))
        except Exception as error:  # handed to the test's thread
            errors.append(error)

    grading = threading.Thread(target=run)
    grading.start()
    victim = _worker_running_a_kernel(pids.values(), timeout_s=60)
    os.kill(victim, signal.SIGKILL)
    grading.join(timeout=240)
    assert not grading.is_alive() and not errors, errors
    assert len(outcomes) == len(ANSWERS)
    assert all(outcome.status != "error" for outcome in outcomes), [o.messages for o in outcomes]
    regraded = [o for o in outcomes if any("graded again after its grading worker was lost" in m for m in o.messages)]
    assert regraded, "the killed worker was grading a notebook: that notebook is graded again"
    assert _rows(course_copy) == local_rows


def _worker_running_a_kernel(pids, *, timeout_s: float) -> int:
    """The first of the worker processes `pids` to run a sandboxed kernel (a child process)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for pid in pids:
            if psutil.pid_exists(pid) and psutil.Process(pid).children(recursive=True):
                return pid
        time.sleep(0.05)
    raise AssertionError(f"no worker started a kernel within {timeout_s} s")


def test_an_address_without_a_scheduler_is_a_one_line_error():
    from simulators.broker import free_port

    with pytest.raises(GradeError, match=r"--scheduler tcp://127\.0\.0\.1:\d+: no Dask scheduler answers there"):
        dask_pool(f"tcp://127.0.0.1:{free_port()}", timeout_s=2)
