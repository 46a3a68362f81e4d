"""Grade versions of one lab, as learners' submissions, through factorylab's own release and sandboxed grader.

tests/test_labs.py already grades every lab's solution (full marks) and blank release (zero) with
`release(check=True)`. The lab test files use this module for what is particular to their lab: deliberately
wrong answers and the exact points they must lose, or the solution graded as several learners (each gets the
graded variant the course's secret gives them). They go through the same pipeline as a cohort
(`autograde.release.release`, then `autograde.grade.grade` on `submitted/<learner>/<lab>/`), so a test's points
are the points a learner would get.
"""

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograde.course import Course
from autograde.criteria_tags import AUTO, read_graded_cells
from autograde.grade import FLAGGED, OK, grade
from autograde.release import release
from autograde.sandbox import Limits
from autograde.secret import course_secret, variant_seed
from autograde.variants import Variant

LABS_DIR = Path(__file__).resolve().parents[1] / "labs"
# The RNCP labs simulate weeks of production in a cell: room for the slowest on a loaded two-core machine.
LAB_LIMITS = Limits(cell_timeout_s=120, notebook_timeout_s=240)
SUBMITTED_AT = "2026-01-05 10:00:00.000000 UTC\n"


@dataclass(frozen=True)
class LabVersions:
    """Fresh copies of a lab's two notebooks for a variant to start from (it may edit them in place)."""

    source: nbformat.NotebookNode  # the solution, hidden tests included
    released: nbformat.NotebookNode  # what learners get


Answer = Callable[[LabVersions], nbformat.NotebookNode]  # one learner's version of the lab, from the two


@dataclass(frozen=True)
class GradedLab:
    """A tmp course in which the lab was released and every variant graded as one learner's submission."""

    course: Course
    lab: str

    def auto_scores(self, learner: str) -> dict[str, tuple[float, float]]:
        """grade_id -> (auto score, max score) of each test cell (autograded) of the learner's submission."""
        tests = {cell.grade_id for cell in read_graded_cells(LABS_DIR / self.lab / f"{self.lab}.ipynb")
                 if cell.mode == AUTO}
        with Gradebook(self.course.db_url) as gradebook:
            submission = gradebook.find_submission_notebook(self.lab, self.lab, learner)
            return {grade.name: (grade.auto_score, grade.max_score) for grade in submission.grades
                    if grade.name in tests}

    def variant(self, learner: str) -> Variant:
        """The graded variant the course's secret gives `learner` in this lab (what the verdicts judged)."""
        return Variant(self.lab, learner, variant_seed(course_secret(self.course.root), self.lab, learner))

    def lost_points(self, learner: str) -> dict[str, float]:
        """grade_id -> points the learner lost, for each autograded test cell not at full marks (fails when the
        learner has no autograded cell in the gradebook, so that "nothing lost" cannot hold vacuously)."""
        scores = self.auto_scores(learner)
        assert scores and all(top > 0 for _score, top in scores.values()), (learner, scores)
        return {grade_id: top - score for grade_id, (score, top) in scores.items() if score != top}

    def assert_full_marks_on_distinct_variants(self, *learners: str) -> None:
        """Each of `learners` (graded on variants that differ) scores full marks on every autograded cell."""
        assert len({self.variant(learner).seed for learner in learners}) == len(learners), learners
        for learner in learners:
            assert self.lost_points(learner) == {}, (learner, self.auto_scores(learner))


def release_lab(course_dir: Path, lab: str) -> Course:
    """`labs/<lab>` released into a fresh course at `course_dir`, without the self-check (test_labs.py runs it)."""
    release(labs_dir=LABS_DIR, course_dir=course_dir, labs=[lab], check=False)
    return Course.at(course_dir)


def cell_by_id(notebook: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    """The cell of `notebook` with nbgrader's `grade_id`."""
    return next(cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def the_solution(versions: LabVersions) -> nbformat.NotebookNode:
    """The lab's solution, unchanged (as a learner would submit it)."""
    return versions.source


def solution_with(grade_id: str, right: str, wrong: str) -> Answer:
    """The variant "the solution, with `right` replaced by `wrong` in the cell `grade_id`" (a typical mistake)."""
    def variant(versions: LabVersions) -> nbformat.NotebookNode:
        answer = cell_by_id(versions.source, grade_id)
        assert right in answer.source, f"{grade_id}: the solution no longer holds {right!r}"
        answer.source = answer.source.replace(right, wrong)
        return versions.source

    return variant


def grade_variants(course_dir: Path, lab: str, variants: Mapping[str, Answer]) -> GradedLab:
    """Release `lab`, submit each version as its learner (graded on that learner's secret variant), and grade
    them all in one run of the grader.

    An outcome the grader could not score (error, ungradable, incident such as a timeout) fails here, so that
    a test's lost points are always the lost points of cells that ran.
    """
    course = release_lab(course_dir, lab)
    source = nbformat.read(LABS_DIR / lab / f"{lab}.ipynb", as_version=4)
    released = nbformat.read(course.release / lab / f"{lab}.ipynb", as_version=4)
    for learner, variant in variants.items():
        folder = course.submitted / learner / lab
        folder.mkdir(parents=True)
        nbformat.write(variant(LabVersions(copy.deepcopy(source), copy.deepcopy(released))), folder / f"{lab}.ipynb")
        (folder / "timestamp.txt").write_text(SUBMITTED_AT)
    outcomes = grade(course_dir=course.root, labs=[lab], labs_dir=LABS_DIR, limits=LAB_LIMITS, progress=False)
    unscored = {outcome.learner: (outcome.status, outcome.messages) for outcome in outcomes
                if outcome.status not in (OK, FLAGGED)}
    assert not unscored, f"{lab}: the grader did not score every variant: {unscored}"
    return GradedLab(course=course, lab=lab)
