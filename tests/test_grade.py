"""`factorylab grade`: nbgrader's own grades, in parallel, idempotent, with a summary that says what happened."""

import shutil
import warnings

import nbformat
import pytest
from example_course import _venv_on_path
from grading_fixtures import (
    FAST_LIMITS,
    LAB,
    RIGHT_COUNTS,
    RIGHT_RATE,
    WRONG_RATE,
    answer,
    released_notebook,
    submit,
)
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI

from autograde.course import Course, nbgrader_config
from autograde.errors import GradeError
from autograde.export import export
from autograde.feedback import feedback
from autograde.grade import UNSAFE_NOTE, format_summary, grade
from autograde.preprocessors.judge import evidence_of
from autograde.provenance import unsandboxed
from autograde.secret import course_secret, secret_path, variant_seed


def _cohort(course: Course) -> None:
    released = released_notebook(course)
    submit(course, "ada", answer(released, rate_function=RIGHT_RATE, rate_counts=RIGHT_COUNTS,
                                 rate_explain="It resets at shift change."))
    submit(course, "bea", answer(released, rate_function=WRONG_RATE, rate_counts="counts = [1, 2]\n"))
    submit(course, "cem", answer(released, rate_function=RIGHT_RATE))


def _rows(db_url: str) -> list[tuple]:
    """Every grade and comment row of the gradebook, comparable across two courses."""
    rows = []
    with Gradebook(db_url) as gradebook:
        for student in sorted(s.id for s in gradebook.students):
            submission = gradebook.find_submission(LAB, student)
            rows.append(("submission", student, str(submission.timestamp), submission.score, submission.max_score,
                         submission.needs_manual_grade, submission.late_submission_penalty))
            for notebook in submission.notebooks:
                rows.extend(("grade", student, g.name, g.auto_score, g.manual_score, g.extra_credit, g.max_score,
                             g.needs_manual_grade, g.failed_tests)
                            for g in sorted(notebook.grades, key=lambda g: g.name))
                rows.extend(("comment", student, c.name, c.auto_comment, c.manual_comment)
                            for c in sorted(notebook.comments, key=lambda c: c.name))
    return rows


@pytest.fixture(scope="module")
def graded_pair(released_course, tmp_path_factory):
    """The same cohort graded by factorylab (course A) and by plain `nbgrader autograde` (course B)."""
    root = tmp_path_factory.mktemp("identity")
    ours, theirs = Course.at(root / "ours"), Course.at(root / "theirs")
    shutil.copytree(released_course.root, ours.root)
    _cohort(ours)
    shutil.copytree(ours.root, theirs.root)
    outcomes = grade(course_dir=ours.root, limits=FAST_LIMITS, progress=False)
    api = NbGraderAPI(config=nbgrader_config(theirs))
    with _venv_on_path(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Object of type <Submitted")
        for learner in ("ada", "bea", "cem"):
            result = api.autograde(LAB, learner)
            assert result["success"], result.get("log")
    return ours, theirs, outcomes


def test_every_gradebook_row_equals_what_nbgrader_autograde_writes(graded_pair):
    ours, theirs, _ = graded_pair
    assert _rows(ours.db_url) == _rows(theirs.db_url)
    assert len(_rows(ours.db_url)) > 10


def test_right_wrong_and_partial_answers_get_their_scores(graded_pair):
    _, _, outcomes = graded_pair
    scores = {o.learner: (o.status, o.score, o.max_score) for o in outcomes}
    assert scores == {"ada": ("ok", 3.0, 4.0), "bea": ("ok", 0.0, 4.0), "cem": ("ok", 2.0, 4.0)}
    assert all(o.needs_manual_grade for o in outcomes if o.learner == "ada")


def test_the_autograded_notebooks_hold_the_same_outputs(graded_pair):
    ours, theirs, _ = graded_pair
    for learner in ("ada", "bea"):

        mine = nbformat.read(ours.autograded / learner / LAB / f"{LAB}.ipynb", as_version=4)
        nbgraders = nbformat.read(theirs.autograded / learner / LAB / f"{LAB}.ipynb", as_version=4)
        assert _printed(mine) == _printed(nbgraders)


def _printed(nb) -> list[list]:
    """Each cell's outputs as text or error name, the evidence a test cell hands to the grader aside (the judge
    removes it from the autograded notebook; stock nbgrader keeps it)."""
    return [[o.get("ename") or o.get("text") for o in c.get("outputs", []) if evidence_of(o) is None]
            for c in nb.cells]


def test_a_rerun_leaves_the_gradebook_as_it_was(graded_pair, tmp_path):
    ours, _, _ = graded_pair
    again = Course.at(tmp_path / "again")
    shutil.copytree(ours.root, again.root)
    before = _rows(again.db_url)
    grade(course_dir=again.root, limits=FAST_LIMITS, progress=False, learners=["ada", "bea"])
    assert _rows(again.db_url) == before


def test_the_summary_lists_each_submission_and_the_counts(graded_pair):
    _, _, outcomes = graded_pair
    summary = format_summary(outcomes)
    lines = {line.split()[1]: line.split() for line in summary.splitlines()[2:-1]}
    assert lines["ada"][2:] == ["ok", "3/4", "0", "of", "2", "1", "to", "grade"]
    assert lines["bea"][2:] == ["ok", "0/4", "2", "of", "2"]  # both tests failed, the untouched answer scored zero
    assert "3 submission(s): 3 ok; 1 await manual grading (1 answer(s)" in summary


def test_grading_an_unreleased_lab_names_the_released_ones(released_course):
    with pytest.raises(GradeError, match=r"'lab_nope'.*released: lab_rate"):
        grade(course_dir=released_course.root, labs=["lab_nope"])


def test_each_kernel_reads_its_learners_secret_variant_and_never_a_seed(course_copy):
    """The kernel gets the variant's folder read-only at /variant and no seed; two learners, two variants."""
    course = course_copy
    probe = ("import os, pathlib\nassert 'FACTORYLAB_SEED' not in os.environ\n"
             "assert os.environ['FACTORYLAB_VARIANT'] == '/variant'\n"
             "assert sorted(p.name for p in pathlib.Path('/variant/inputs').iterdir()) == ['rate_cases.json']\n"
             "try:\n    open('/variant/inputs/x', 'w')\nexcept OSError:\n    pass\n"
             "else:\n    raise AssertionError('the variant is writable')\n" + RIGHT_RATE)
    for learner in ("ada", "bob"):
        submit(course, learner, answer(released_notebook(course), rate_function=probe, rate_counts=RIGHT_COUNTS))
    outcomes = {o.learner: o for o in grade(course_dir=course.root, limits=FAST_LIMITS, progress=False)}
    assert {learner: outcome.score for learner, outcome in outcomes.items()} == {"ada": 3.0, "bob": 3.0}
    assert secret_path(course.root).stat().st_mode & 0o777 == 0o600
    key = course_secret(course.root)
    assert variant_seed(key, LAB, "ada") != variant_seed(key, LAB, "bob")
    assert variant_seed(key, LAB, "ada") == variant_seed(course_secret(course.root), LAB, "ada")


def test_a_course_secret_readable_by_others_is_refused(course_copy):
    course = course_copy
    course_secret(course.root)
    secret_path(course.root).chmod(0o644)
    with pytest.raises(GradeError, match=r"secret.key: readable by others \(mode 644\); `chmod 600"):
        grade(course_dir=course.root, limits=FAST_LIMITS, progress=False)


def _manual(course: Course, learner: str) -> tuple[float | None, bool, str | None]:
    with Gradebook(course.db_url) as gradebook:
        grade_row = gradebook.find_grade("rate_explain", LAB, LAB, learner)
        comment = gradebook.find_comment("rate_explain", LAB, LAB, learner)
        return grade_row.manual_score, grade_row.needs_manual_grade, comment.manual_comment


def test_regrading_keeps_a_manual_grade_decided_until_its_answer_changes(course_copy):
    """nbgrader alone would ask for every manual grade again on a rerun; factorylab keeps them decided while
    the graded answer is unchanged, and names the ones whose answer changed."""
    course = course_copy
    released = released_notebook(course)
    submit(course, "ada", answer(released, rate_function=RIGHT_RATE, rate_counts=RIGHT_COUNTS,
                                 rate_explain="It resets at shift change."))
    grade(course_dir=course.root, limits=FAST_LIMITS, progress=False)
    with Gradebook(course.db_url) as gradebook:
        gradebook.find_grade("rate_explain", LAB, LAB, "ada").manual_score = 1.0
        gradebook.find_grade("rate_explain", LAB, LAB, "ada").needs_manual_grade = False
        gradebook.find_comment("rate_explain", LAB, LAB, "ada").manual_comment = "Right."
        gradebook.db.commit()

    [again] = grade(course_dir=course.root, limits=FAST_LIMITS, progress=False)
    assert _manual(course, "ada") == (1.0, False, "Right.")
    assert (again.score, again.needs_manual_grade, again.messages) == (4.0, False, ())

    submit(course, "ada", answer(released, rate_function=RIGHT_RATE, rate_counts=RIGHT_COUNTS,
                                 rate_explain="The counter wraps around."))
    [changed] = grade(course_dir=course.root, limits=FAST_LIMITS, progress=False)
    assert _manual(course, "ada") == (1.0, True, "Right.")
    assert changed.needs_manual_grade
    assert changed.messages == ("rate_explain: the answer changed since it was graded by hand: grade it again",)


def test_without_the_sandbox_grading_is_refused_unless_unsafe_and_then_every_page_says_so(
        course_copy, monkeypatch):
    course = course_copy
    submit(course, "ada", answer(released_notebook(course), rate_function=RIGHT_RATE, rate_counts=RIGHT_COUNTS))
    monkeypatch.setattr("autograde.grade.sandbox_available", lambda: False)
    with pytest.raises(GradeError, match=r"the sandbox \(bubblewrap\) does not run here.*--unsafe"):
        grade(course_dir=course.root, limits=FAST_LIMITS, progress=False)
    outcomes = grade(course_dir=course.root, limits=FAST_LIMITS, progress=False, unsafe=True)
    assert [(o.learner, o.score) for o in outcomes] == [("ada", 3.0)]
    assert UNSAFE_NOTE in outcomes[0].messages
    assert format_summary(outcomes).splitlines()[-1] == UNSAFE_NOTE
    page = feedback(course_dir=course.root)[0].read_text(encoding="utf-8")
    assert "Graded without the sandbox" in page
    cells = (export(course_dir=course.root, out_dir=course.root.parent / "export")[1]).read_text()
    assert cells.splitlines()[1].endswith(",False")  # cells.csv: sandboxed False
    monkeypatch.setattr("autograde.grade.sandbox_available", lambda: True)
    grade(course_dir=course.root, limits=FAST_LIMITS, progress=False)  # graded again, in the sandbox
    assert "Graded without the sandbox" not in feedback(course_dir=course.root)[0].read_text(encoding="utf-8")
    assert unsandboxed(course.db_url) == set()
