"""Grading on Dask: `factorylab grade --scheduler` on a two-worker local cluster against the local pool.

A synthetic cohort of LEARNERS learners x LABS labs (copies of the tests' lab, as in bench_grade.py) is graded
from the same submissions by the local pool of two worker processes (the baseline) and on a Dask
`LocalCluster` of two single-threaded worker processes, through its scheduler's address as a trainer would
give it; four runs, local, Dask, Dask, local, each from a fresh copy with its own cold variant cache, so that
the load of a shared machine, which drifts, weighs on both pools alike. Both run every kernel in the bubblewrap
sandbox on each learner's secret variant, and the gradebook is written by this process alone. The cluster's
own start-up is left out: a training centre's cluster is running before grading starts. Prints each pool's
mean wall time, their ratio, the cost per notebook (wall and worker time), and whether the gradebooks agree
row for row; then the grading process's own cost per notebook, the last local run's results replayed to it
at once (what no number of workers can make faster: that process alone writes the gradebook).
Usage: python benchmarks/bench_dask.py [--learners 200] [--labs 3] [--cell-timeout 5]
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import Executor, Future
from pathlib import Path

from nbgrader.api import Grade, Gradebook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_grade import _labs

from autograde.cohort import build_synthetic_cohort
from autograde.course import Course
from autograde.grade import grade
from autograde.pool import local_pool
from autograde.release import release
from autograde.sandbox import DEFAULT_LIMITS, Limits

WORKERS = 2
CACHE_ENV = "FACTORYLAB_GRADER_CACHE"  # where workers prepare the learners' variants (autograde/variants.py)
ORDER = ("local", "dask", "dask", "local")


def _rows(course: Course) -> list[tuple]:
    with Gradebook(course.db_url) as gradebook:
        return sorted((g.notebook.assignment.name, g.student.id, g.notebook.name, g.name, g.auto_score,
                       g.needs_manual_grade) for g in gradebook.db.query(Grade).all())


def _timed(course: Course, labs_dir: Path, limits: Limits, **pool) -> tuple[float, float]:
    """Wall seconds of grading `course`, and the seconds its submissions took in the workers, summed."""
    started = time.perf_counter()
    outcomes = grade(course_dir=course.root, labs_dir=labs_dir, limits=limits, progress=False, **pool)
    return time.perf_counter() - started, sum(outcome.duration_s for outcome in outcomes)


class _Recording(Executor):
    """The local pool, keeping every job's future by (lab, learner, notebook) for `_Replaying`."""

    def __init__(self):
        self.pool, self.futures = local_pool(WORKERS), {}

    def submit(self, fn, /, job, **kwargs) -> Future:
        self.futures[job.lab, job.learner, job.notebook] = self.pool.submit(fn, job, **kwargs)
        return self.futures[job.lab, job.learner, job.notebook]

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)


class _Replaying(Executor):
    """Hands back the results a `_Recording` run computed, at once: grading then costs only what the grading
    process does itself (staging, nbgrader's sanitizing and scoring, the gradebook), the ceiling a cluster of any
    size cannot lift, since that process writes the gradebook alone."""

    def __init__(self, recorded: dict):
        self.recorded = recorded

    def submit(self, fn, /, job, **kwargs) -> Future:
        future = Future()
        future.set_result(self.recorded[job.lab, job.learner, job.notebook].result())
        return future


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--labs", type=int, default=3)
    parser.add_argument("--cell-timeout", type=int, default=5,
                        help="seconds per cell; the cohort's infinite loops each cost that (default: %(default)s)")
    args = parser.parse_args()
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    warnings.filterwarnings("ignore")
    limits = Limits(cell_timeout_s=args.cell_timeout, notebook_timeout_s=DEFAULT_LIMITS.notebook_timeout_s,
                    memory_mb=DEFAULT_LIMITS.memory_mb)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        labs = _labs(root / "labs", args.labs)  # sets the verdicts' path the cluster's workers inherit
        base = Course.at(root / "base")
        release(labs_dir=root / "labs", course_dir=base.root, check=False)
        for lab in labs:
            build_synthetic_cohort(course_dir=base.root, lab=lab, learners=args.learners, seed=1)
        notebooks = args.learners * args.labs
        totals = {"local": [0.0, 0.0], "dask": [0.0, 0.0]}
        cluster_s, rows = 0.0, []
        for run, pool in enumerate(ORDER):  # A B B A: a load that drifts during the run weighs on both alike
            course = Course.at(root / f"run{run}")
            shutil.copytree(base.root, course.root)
            os.environ[CACHE_ENV] = str(root / f"cache{run}")  # each run prepares its variants cold
            if pool == "local":
                recording = _Recording()
                wall_s, work_s = _timed(course, root / "labs", limits, executor=recording)
                recording.shutdown()
            else:
                from distributed import LocalCluster

                started = time.perf_counter()
                with LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
                    cluster_s += time.perf_counter() - started
                    wall_s, work_s = _timed(course, root / "labs", limits, scheduler=cluster.scheduler_address)
            totals[pool][0] += wall_s / 2
            totals[pool][1] += work_s / 2
            rows.append(_rows(course))
        writer = Course.at(root / "writer")
        shutil.copytree(base.root, writer.root)
        writer_s, _ = _timed(writer, root / "labs", limits, executor=_Replaying(recording.futures))
        same = all(graded == rows[0] for graded in [*rows, _rows(writer)])
    (local_s, local_work_s), (dask_s, dask_work_s) = totals["local"], totals["dask"]
    print(f"cohort: {args.learners} learners x {args.labs} labs = {notebooks} notebooks, {os.cpu_count()} cores, "
          f"cell timeout {args.cell_timeout} s; each pool graded it twice, in the order {' '.join(ORDER)}")
    print(f"{'pool (mean of its two runs)':30} {'wall s':>8} {'s/notebook':>11} {'worker s/notebook':>18}")
    for name, wall_s, work_s in (("local pool, 2 processes", local_s, local_work_s),
                                 ("Dask LocalCluster, 2 workers", dask_s, dask_work_s)):
        print(f"{name:30} {wall_s:8.1f} {wall_s / notebooks:11.2f} {work_s / notebooks:18.2f}")
    print(f"{'grading process alone':30} {writer_s:8.1f} {writer_s / notebooks:11.2f}  (the workers' results replayed)")
    print(f"Dask / local wall time: {dask_s / local_s:.2f} (the cluster's start-up, {cluster_s / 2:.1f} s, left out; "
          f"the local pool's start-up is in its time)   identical grades: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
