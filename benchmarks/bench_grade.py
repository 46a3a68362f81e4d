"""Grading speed: `factorylab grade` against sequential `nbgrader autograde` on the same synthetic cohort.

A cohort of LEARNERS learners x LABS labs (copies of the tests' lab) is graded twice from the same
submissions: by factorylab's pool (each kernel in the bubblewrap sandbox, on the learner's secret variant), and
by nbgrader's API one submission after the other (its own kernel, unconfined, on the practice variant). Both
judge the evidence with the same verdicts (`JudgeEvidence` after nbgrader's `Execute`), so the grades can be
compared: the test lab's right answers are right and its wrong ones wrong on every variant. Prints the wall
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
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from grading_fixtures import lab_notebook

import autograde.verdicts
from autograde.cohort import build_synthetic_cohort
from autograde.course import Course, nbgrader_config
from autograde.grade import grade
from autograde.preprocessors.judge import JudgeEvidence
from autograde.release import release
from autograde.secret import course_secret, variant_seed
from autograde.variants import Variant, prepare_variant
from autograde.verdicts import VERDICTS_PATH_ENV, lab_verdicts
from simulators.seeding import VARIANT_ENV


def _labs(root: Path, count: int) -> list[str]:
    """`count` copies of the tests' lab, each judged by the tests' lab_rate verdicts (found by the grader's
    workers through FACTORYLAB_VERDICTS_PATH)."""
    labs = [f"lab_bench{index}" for index in range(1, count + 1)]
    verdicts = root / "verdicts"
    verdicts.mkdir(parents=True)
    for lab in labs:
        (root / lab).mkdir(parents=True)
        nbformat.write(lab_notebook(), root / lab / f"{lab}.ipynb")
        (root / lab / "counts.txt").write_text("1 2 3 4\n")
        (verdicts / f"{lab}.py").write_text("from autograde.verdicts.lab_rate import VERDICTS  # noqa: F401\n")
    folders = [str(Path(__file__).resolve().parents[1] / "tests" / "verdicts"), str(verdicts)]
    os.environ[VERDICTS_PATH_ENV] = os.pathsep.join(folders)  # the workers' search path
    autograde.verdicts.__path__.extend(folders)  # this process's (the package is already imported)
    return labs


def _nbgrader_autograde(course: Course, lab: str, learner: str) -> bool:
    """nbgrader's autograde of one submission, its pipeline judging the evidence right after its own Execute,
    its kernel (which inherits this process's environment) reading the learner's variant folder."""
    variant = Variant(lab, learner, variant_seed(course_secret(course.root), lab, learner))
    os.environ[VARIANT_ENV] = str(prepare_variant(variant))
    config = nbgrader_config(course)
    steps = []
    for step in Autograde.class_traits()["autograde_preprocessors"].default():
        steps.append(step)
        if step is Execute:
            steps.append(JudgeEvidence)
    config.Autograde.autograde_preprocessors = steps
    config.JudgeEvidence.verdicts = lab_verdicts(lab)
    config.JudgeEvidence.variant = variant
    return NbGraderAPI(config=config).autograde(lab, learner)["success"]


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
    parser.add_argument("--workers", type=int, help="grading workers (default: one per core)")
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
        grade(course_dir=ours.root, labs_dir=root / "labs", progress=False, workers=args.workers)
        ours_s = time.perf_counter() - started

        started = time.perf_counter()
        refused = set()  # nbgrader stops on invalid JSON; factorylab records zeros: compare the others
        for lab in labs:
            for learner in theirs.submitters(lab):
                if not _nbgrader_autograde(theirs, lab, learner):
                    refused.add(learner)
        theirs_s = time.perf_counter() - started

        kernel_s = _bare_kernel_s()
        mine, nbgraders = ([r for r in _rows(course) if r[1] not in refused] for course in (ours, theirs))
        same = mine == nbgraders
        for row in sorted(set(mine) ^ set(nbgraders)):
            print(("factorylab " if row in mine else "nbgrader   ") + " ".join(map(str, row)))
    print(f"cohort: {args.learners} learners x {args.labs} labs = {notebooks} notebooks, {os.cpu_count()} cores")
    print(f"nbgrader autograde, sequential: {theirs_s:7.1f} s  ({theirs_s / notebooks:.2f} s/notebook)")
    print(f"factorylab grade, pool:         {ours_s:7.1f} s  ({ours_s / notebooks:.2f} s/notebook)")
    print(f"speed-up: {theirs_s / ours_s:.2f}x   bare kernel start+stop: {kernel_s:.2f} s   "
          f"nbgrader overhead over it: {theirs_s / notebooks - kernel_s:.2f} s/notebook")
    print(f"identical grades: {same} (on the {notebooks - len(refused) * args.labs} notebooks nbgrader could grade)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
