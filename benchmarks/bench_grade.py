"""Grading speed: `factorylab grade` against sequential `nbgrader autograde` on the same synthetic cohort.

A cohort of LEARNERS learners x LABS labs (copies of the tests' lab) is graded twice from the same
submissions: by factorylab's pool, and by nbgrader's API one submission after the other. Prints the wall
times, the ratio, the per-notebook cost over a bare kernel start, and whether the gradebooks agree.
Usage: python benchmarks/bench_grade.py [--learners 30] [--labs 3]
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel
from nbgrader.api import Grade, Gradebook
from nbgrader.apps import NbGraderAPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from grading_fixtures import lab_notebook

from autograde.cohort import build_synthetic_cohort
from autograde.course import Course, nbgrader_config
from autograde.grade import grade
from autograde.release import release


def _labs(root: Path, count: int) -> list[str]:
    labs = [f"lab_bench{index}" for index in range(1, count + 1)]
    for lab in labs:
        (root / lab).mkdir(parents=True)
        nbformat.write(lab_notebook(), root / lab / f"{lab}.ipynb")
        (root / lab / "counts.txt").write_text("1 2 3 4\n")
    return labs


def _rows(course: Course) -> list[tuple]:
    with Gradebook(course.db_url) as gradebook:
        return sorted((g.notebook.assignment.name, g.student.id, g.notebook.name, g.name, g.auto_score,
                       g.needs_manual_grade) for g in gradebook.db.query(Grade).all())


def _bare_kernel_s(repeats: int = 5) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        km, kc = start_new_kernel(kernel_name="python3")
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return (time.perf_counter() - started) / repeats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--labs", type=int, default=3)
    args = parser.parse_args()
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        labs = _labs(root / "labs", args.labs)
        ours = Course.at(root / "ours")
        release(labs_dir=root / "labs", course_dir=ours.root, check=False)
        for lab in labs:
            build_synthetic_cohort(course_dir=ours.root, lab=lab, learners=args.learners, seed=1)
        theirs = Course.at(root / "theirs")
        shutil.copytree(ours.root, theirs.root)
        notebooks = args.learners * args.labs

        started = time.perf_counter()
        grade(course_dir=ours.root, labs_dir=root / "labs", progress=False)
        ours_s = time.perf_counter() - started

        api = NbGraderAPI(config=nbgrader_config(theirs))
        started = time.perf_counter()
        refused = set()  # nbgrader stops on invalid JSON; factorylab records zeros: compare the others
        for lab in labs:
            for learner in theirs.submitters(lab):
                if not api.autograde(lab, learner)["success"]:
                    refused.add(learner)
        theirs_s = time.perf_counter() - started

        kernel_s = _bare_kernel_s()
        same = [r for r in _rows(ours) if r[1] not in refused] == [r for r in _rows(theirs) if r[1] not in refused]
    print(f"cohort: {args.learners} learners x {args.labs} labs = {notebooks} notebooks, {os.cpu_count()} cores")
    print(f"nbgrader autograde, sequential: {theirs_s:7.1f} s  ({theirs_s / notebooks:.2f} s/notebook)")
    print(f"factorylab grade, pool:         {ours_s:7.1f} s  ({ours_s / notebooks:.2f} s/notebook)")
    print(f"speed-up: {theirs_s / ours_s:.2f}x   bare kernel start+stop: {kernel_s:.2f} s   "
          f"nbgrader overhead over it: {theirs_s / notebooks - kernel_s:.2f} s/notebook")
    print(f"identical grades: {same} (on the {notebooks - len(refused) * args.labs} notebooks nbgrader could grade)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
