"""Shared fixtures for the grading pipeline's tests: a small tagged lab, released once per session.

`lab_rate` has a function to write (its test cell's hidden part, marked with HIDDEN_MARKER, records the
function's outputs on the grader's inputs; its verdict, in tests/verdicts/lab_rate.py, judges them), an answer
read from an asset file beside the notebook (`counts.txt`), and a manually graded written answer. Tests copy
the released course (`course_copy`) before changing it.
"""

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from example_course import CATALOGUE_CRITERIA, _venv_on_path

from autograde.course import Course
from autograde.release import release
from autograde.sandbox import Limits

LAB = "lab_rate"
HIDDEN_MARKER = "HIDDEN_SENTINEL_51d2e8"
# The verdicts of the test labs, found by the grader (never by a kernel) through FACTORYLAB_VERDICTS_PATH.
os.environ["FACTORYLAB_VERDICTS_PATH"] = str(Path(__file__).resolve().parent / "verdicts")
FAST_LIMITS = Limits(cell_timeout_s=4, notebook_timeout_s=15, memory_mb=1024, max_output_bytes=200_000)
RIGHT_RATE = "def mean_rate(counts, period_s):\n    return sum(counts) / (len(counts) * period_s)\n"
WRONG_RATE = "def mean_rate(counts, period_s):\n    return sum(counts)\n"
RIGHT_COUNTS = "counts = [int(word) for word in open('counts.txt').read().split()]\n"


def _meta(grade_id, *, grade, solution, points=0, criteria=None, checks=None):
    nbgrader = {"grade": grade, "solution": solution, "locked": not solution, "task": False,
                "grade_id": grade_id, "schema_version": 3}
    if grade:
        nbgrader["points"] = points
    meta = {"nbgrader": nbgrader}
    if criteria:
        meta["factorylab"] = {"criteria": criteria, "checks": checks}
    return meta


def lab_notebook() -> nbformat.NotebookNode:
    auto, mixed, manual = CATALOGUE_CRITERIA.auto_key, CATALOGUE_CRITERIA.mixed_key, CATALOGUE_CRITERIA.manual_key
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["factorylab"] = {"assets": ["counts.txt"]}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Rates\nWrite `mean_rate(counts, period_s)`, then read `counts.txt`."),
        nbformat.v4.new_code_cell(
            "def mean_rate(counts, period_s):\n    ### BEGIN SOLUTION\n"
            "    return sum(counts) / (len(counts) * period_s)\n    ### END SOLUTION\n",
            metadata=_meta("rate_function", grade=False, solution=True)),
        nbformat.v4.new_code_cell(
            "assert mean_rate([2, 4], 1.0) == 3.0\n### BEGIN HIDDEN TESTS\n"
            f"# {HIDDEN_MARKER}\nfrom labkit.evidence import record\nfrom labkit.variant import graded_input\n"
            "cases = graded_input('rate_cases', practice=lambda: [[[1, 2, 3], 2.0]])\n"
            "record('rate_function_test', rates=[mean_rate(counts, period) for counts, period in cases])\n"
            "### END HIDDEN TESTS\n",
            metadata=_meta("rate_function_test", grade=True, solution=False, points=2, criteria=[auto, mixed],
                           checks="The mean rate is computed from counter readings.")),
        nbformat.v4.new_code_cell(
            "counts = None\n### BEGIN SOLUTION\n" + RIGHT_COUNTS + "### END SOLUTION\n",
            metadata=_meta("rate_counts", grade=False, solution=True)),
        nbformat.v4.new_code_cell(
            "assert sum(counts) == 10\n### BEGIN HIDDEN TESTS\nfrom labkit.evidence import record\n"
            "record('rate_counts_test', counts=counts)\n### END HIDDEN TESTS\n",
            metadata=_meta("rate_counts_test", grade=True, solution=False, points=1, criteria=[auto],
                           checks="The counts are read from the lab's data file.")),
        nbformat.v4.new_markdown_cell(
            "### BEGIN SOLUTION\nThe counter resets at shift change.\n### END SOLUTION",
            metadata=_meta("rate_explain", grade=True, solution=True, points=1, criteria=[mixed, manual],
                           checks="The learner explains the counter reset.")),
    ]
    return nb


def write_labs(labs_dir: Path) -> Path:
    (labs_dir / LAB).mkdir(parents=True)
    nbformat.write(lab_notebook(), labs_dir / LAB / f"{LAB}.ipynb")
    (labs_dir / LAB / "counts.txt").write_text("1 2 3 4\n")
    return labs_dir


def answer(released: nbformat.NotebookNode, **sources: str) -> nbformat.NotebookNode:
    """A copy of the released notebook with the cells named by grade_id given new sources."""
    nb = nbformat.from_dict(released)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in sources:
            cell.source = sources[grade_id]
    return nb


def submit(course: Course, learner: str, content, *, name: str = f"{LAB}.ipynb", lab: str = LAB) -> Path:
    """Put a learner's file (a notebook, text or bytes) into submitted/<learner>/<lab>/."""
    folder = course.submitted / learner / lab
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, nbformat.NotebookNode):
        nbformat.write(content, path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    (folder / "timestamp.txt").write_text("2024-03-01 10:00:00.000000 UTC\n")
    return path


def released_notebook(course: Course) -> nbformat.NotebookNode:
    return nbformat.read(course.release / LAB / f"{LAB}.ipynb", as_version=4)


@pytest.fixture(scope="session")
def grading_labs(tmp_path_factory) -> Path:
    return write_labs(tmp_path_factory.mktemp("grading_labs") / "labs")


@pytest.fixture(scope="session")
def released_course(tmp_path_factory, grading_labs) -> Course:
    """`lab_rate` released (and self-checked) into a fresh course; do not change it: use course_copy."""
    course = Course.at(tmp_path_factory.mktemp("grading_course") / "course")
    with _venv_on_path():
        release(labs_dir=grading_labs, course_dir=course.root, limits=FAST_LIMITS)
    return course


def copy_course(course: Course, folder: Path) -> Course:
    """A copy of `course` under `folder`, for a test to submit and grade in without touching the original."""
    shutil.copytree(course.root, folder / "course")
    return Course.at(folder / "course")


@pytest.fixture
def course_copy(released_course, tmp_path) -> Course:
    return copy_course(released_course, tmp_path)
