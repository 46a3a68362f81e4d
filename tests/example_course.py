"""A small nbgrader course built with the real nbgrader API, for the criteria-report tests.

Two labs (`lab_demo`, `lab_extra`), four learners in the gradebook:
- alice submits lab_demo with right answers; her manual answer and task are graded full marks, and her feedback
  page is written (`factorylab feedback`: nbgrader's, without the hidden tests);
- bob submits lab_demo with wrong answers; his manual answer is graded zero;
- carol submits lab_demo with right answers but nobody has graded her manual answer yet;
- dave is enrolled in the gradebook but submitted nothing.
Nobody submits lab_extra: it exists in the gradebook (generated) so its criteria are `not_submitted`.

The hidden test of lab_demo holds HIDDEN_MARKER, a string that must never appear in any report.
Criterion keys are passed in, so the course follows whatever the catalogue calls its criteria.
"""

import os
import shutil
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from traitlets.config import Config

from autograde.feedback import feedback

HIDDEN_MARKER = "HIDDEN_SENTINEL_7f3a9c"
LEARNERS = ("alice", "bob", "carol", "dave")


@dataclass(frozen=True)
class ExampleCriteria:
    """Catalogue keys the example cells evidence: `auto_key` by test cells only, `mixed_key` by a test
    cell and a manual answer, `manual_key` by a manual answer and a task, `extra_key` by lab_extra only."""

    auto_key: str
    mixed_key: str
    manual_key: str
    extra_key: str


@dataclass(frozen=True)
class ExampleCourse:
    root: Path
    labs_dir: Path
    criteria: ExampleCriteria

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"


def _meta(grade_id: str, *, grade: bool, solution: bool, points: float = 0, task: bool = False,
          criteria: list[str] | None = None, checks: str | None = None) -> dict:
    nbgrader = {"grade": grade, "solution": solution, "locked": not solution, "task": task,
                "grade_id": grade_id, "schema_version": 3}
    if grade or task:
        nbgrader["points"] = points
    meta = {"nbgrader": nbgrader}
    if criteria is not None:
        meta["factorylab"] = {"criteria": criteria, "checks": checks}
    return meta


def demo_notebook(criteria: ExampleCriteria) -> nbformat.NotebookNode:
    """lab_demo: a function to write, two test cells (one with a hidden test), a written answer, a task."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Demo lab\nWrite `mean_rate(counts, period_s)`."),
        nbformat.v4.new_code_cell(
            "def mean_rate(counts, period_s):\n"
            "    ### BEGIN SOLUTION\n"
            "    return sum(counts) / (len(counts) * period_s)\n"
            "    ### END SOLUTION\n",
            metadata=_meta("demo_mean_rate", grade=False, solution=True)),
        nbformat.v4.new_code_cell(
            "assert mean_rate([2, 4], 1.0) == 3.0\n"
            "### BEGIN HIDDEN TESTS\n"
            f"# {HIDDEN_MARKER}\n"
            "assert mean_rate([1, 2, 3], 2.0) == 1.0\n"
            "### END HIDDEN TESTS\n",
            metadata=_meta("demo_mean_rate_test", grade=True, solution=False, points=2,
                           criteria=[criteria.auto_key, criteria.mixed_key],
                           checks="The mean production rate is computed from raw counter readings.")),
        nbformat.v4.new_code_cell(
            "assert mean_rate([0, 0], 5.0) == 0.0\n",
            metadata=_meta("demo_zero_rate_test", grade=True, solution=False, points=1,
                           criteria=[criteria.auto_key],
                           checks="An idle machine gives a zero rate.")),
        nbformat.v4.new_markdown_cell(
            "### BEGIN SOLUTION\nThe counter resets at shift change, so we difference it.\n### END SOLUTION",
            metadata=_meta("demo_explain", grade=True, solution=True, points=2,
                           criteria=[criteria.mixed_key, criteria.manual_key],
                           checks="The learner explains why counter readings are differenced.")),
        nbformat.v4.new_markdown_cell(
            "Sketch the data flow from the sensor to the dashboard.",
            metadata=_meta("demo_dataflow_task", grade=False, solution=False, points=1, task=True,
                           criteria=[criteria.manual_key],
                           checks="The learner draws the sensor-to-dashboard data flow.")),
    ]
    return nb


def extra_notebook(criteria: ExampleCriteria) -> nbformat.NotebookNode:
    """lab_extra: one test cell, submitted by nobody."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(
            "answer = None\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\n",
            metadata=_meta("extra_answer", grade=False, solution=True)),
        nbformat.v4.new_code_cell(
            "assert answer == 42\n",
            metadata=_meta("extra_answer_test", grade=True, solution=False, points=1,
                           criteria=[criteria.extra_key],
                           checks="The learner finds the answer.")),
    ]
    return nb


def _fill(nb: nbformat.NotebookNode, *, right: bool) -> nbformat.NotebookNode:
    """A learner's answers in a released notebook: right ones, or plausible wrong ones."""
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "demo_mean_rate":
            body = "sum(counts) / (len(counts) * period_s)" if right else "sum(counts)"
            cell.source = f"def mean_rate(counts, period_s):\n    return {body}\n"
        elif grade_id == "demo_explain":
            cell.source = "Because it resets at shift change." if right else "No idea."
    return nb


@contextmanager
def _venv_on_path():
    """nbgrader runs the `alembic` command when it creates a gradebook: find it beside this interpreter
    even when the virtual environment is not activated (as under `.venv/bin/pytest`)."""
    saved = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), saved])
    try:
        yield
    finally:
        os.environ["PATH"] = saved


def build_example_course(root: Path, criteria: ExampleCriteria) -> ExampleCourse:
    """Generate, submit and autograde the example course under `root` (about one kernel start per submission)."""
    with _venv_on_path(), warnings.catch_warnings():
        # nbgrader 0.9.6's own autoflush warnings while it records a submission; not ours to fix.
        warnings.filterwarnings("ignore", message="Object of type <Submitted")
        return _build(root, criteria)


def _build(root: Path, criteria: ExampleCriteria) -> ExampleCourse:
    source = root / "source"
    for lab, nb in (("lab_demo", demo_notebook(criteria)), ("lab_extra", extra_notebook(criteria))):
        (source / lab).mkdir(parents=True)
        nbformat.write(nb, source / lab / f"{lab}.ipynb")

    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    config.Execute.timeout = 60
    api = NbGraderAPI(config=config)
    for lab in ("lab_demo", "lab_extra"):
        result = api.generate_assignment(lab)
        assert result["success"], result.get("log", "") + result.get("error", "")

    released = nbformat.read(root / "release" / "lab_demo" / "lab_demo.ipynb", as_version=4)
    for learner, right in (("alice", True), ("bob", False), ("carol", True)):
        target = root / "submitted" / learner / "lab_demo"
        target.mkdir(parents=True)
        nbformat.write(_fill(nbformat.from_dict(released), right=right), target / "lab_demo.ipynb")
        (target / "timestamp.txt").write_text("2024-03-01 10:00:00.000000 UTC\n")
        result = api.autograde("lab_demo", learner)
        assert result["success"], result.get("log", "") + result.get("error", "")

    with Gradebook(config.CourseDirectory.db_url) as gradebook:
        gradebook.update_or_create_student("dave", first_name="Dave", last_name="Absent")
        for learner, score in (("alice", 1.0), ("bob", 0.0)):
            for cell, max_points in (("demo_explain", 2.0), ("demo_dataflow_task", 1.0)):
                grade = gradebook.find_grade(cell, "lab_demo", "lab_demo", learner)
                grade.manual_score = score * max_points
                grade.needs_manual_grade = False
        gradebook.db.commit()

    feedback(course_dir=root, labs=["lab_demo"], learners=["alice"])  # nbgrader's, hidden tests taken out
    return ExampleCourse(root=root, labs_dir=source, criteria=criteria)


def copy_course(course: ExampleCourse, root: Path) -> ExampleCourse:
    """A private copy of a built course, for a test that alters its gradebook."""
    shutil.copytree(course.root, root)
    return ExampleCourse(root=root, labs_dir=root / "source", criteria=course.criteria)


# The real catalogue's keys: CCPM-C1-M1 is `auto`, CCPM-C1-MO2 `mixed`, CCPM-C1-MO1 `manual`, Cr3.2.3 `auto`.
CATALOGUE_CRITERIA = ExampleCriteria(auto_key="CCPM-C1-M1", mixed_key="CCPM-C1-MO2", manual_key="CCPM-C1-MO1",
                                     extra_key="Cr3.2.3")
_built: dict[str, ExampleCourse] = {}


def shared_example_course(tmp_path_factory) -> ExampleCourse:
    """The example course, built once per test session whichever test module asks first (kernel starts are slow).
    Tests must not change it: copy_course() gives a private copy."""
    if "course" not in _built:
        _built["course"] = build_example_course(tmp_path_factory.mktemp("example_course"), CATALOGUE_CRITERIA)
    return _built["course"]
