"""`factorylab mark`: manual grades from the terminal or a spreadsheet, written through nbgrader's gradebook as
formgrader writes them, and kept by a regrade while the answer is unchanged."""

import argparse
import csv
import shutil

import pytest
from example_course import copy_course, shared_example_course
from grading_fixtures import FAST_LIMITS, RIGHT_COUNTS, RIGHT_RATE, answer, released_notebook, submit
from nbgrader.api import Gradebook

from autograde import cli
from autograde.course import Course
from autograde.errors import AutogradeError, EvaluationError
from autograde.grade import grade
from autograde.marking import import_marks, mark, pending_answers, write_sheet
from autograde.provenance import record_grading


@pytest.fixture
def course(tmp_path_factory, tmp_path):
    """The example course: carol's written answer and task await a manual grade."""
    return copy_course(shared_example_course(tmp_path_factory), tmp_path / "course")


def _grade(course, learner, cell):
    with Gradebook(course.db_url) as gradebook:
        found = gradebook.find_grade(cell, "lab_demo", "lab_demo", learner)
        comment = gradebook.find_comment(cell, "lab_demo", "lab_demo", learner)
        return found.manual_score, found.needs_manual_grade, comment.manual_comment


def test_pending_answers_are_listed_with_their_text(course):
    answers = pending_answers(course_dir=course.root)
    assert [(a.learner, a.grade_id, a.max_score) for a in answers] == [
        ("carol", "demo_explain", 2.0), ("carol", "demo_dataflow_task", 1.0)]  # in the notebook's cell order
    assert answers[0].text == "Because it resets at shift change."
    with pytest.raises(EvaluationError, match=r"no lab 'lab_nope' in the gradebook \(labs: lab_demo, lab_extra\)"):
        pending_answers(course_dir=course.root, labs=["lab_nope"])


def test_a_mark_is_nbgrader_s_manual_grade_and_comment(course):
    done = mark(lab="lab_demo", learner="carol", grade_id="demo_explain", score="1,5", comment="Say why it resets.",
                course_dir=course.root)
    assert (done.score, done.max_score, done.notebook) == (1.5, 2.0, "lab_demo")
    assert _grade(course, "carol", "demo_explain") == (1.5, False, "Say why it resets.")
    assert [a.grade_id for a in pending_answers(course_dir=course.root)] == ["demo_dataflow_task"]


@pytest.mark.parametrize(("cell", "message"), [
    (("lab_demo", "carol", "demo_explain", "3"), "score 3 is outside 0 to 2, the cell's points"),
    (("lab_demo", "carol", "demo_explain", "two"), "score 'two' is not a number"),
    (("lab_demo", "carol", "demo_explian", "1"), r"lab_demo has no graded cell 'demo_explian' \(its cells: "
                                                 r"demo_dataflow_task, demo_explain"),
    (("lab_demo", "dave", "demo_explain", "1"), r"'dave' has no graded submission of lab_demo \(learners who have: "
                                                r"alice, bob, carol\)"),
    (("lab_nope", "carol", "demo_explain", "1"), r"no lab 'lab_nope' in the gradebook"),
])
def test_a_mark_naming_what_does_not_exist_is_refused(course, cell, message):
    lab, learner, grade_id, score = cell
    with pytest.raises(EvaluationError, match=message):
        mark(lab=lab, learner=learner, grade_id=grade_id, score=score, course_dir=course.root)
    assert _grade(course, "carol", "demo_explain")[:2] == (None, True)


def test_an_unreadable_notebook_has_nothing_to_mark(course):
    record_grading(course.db_url, "lab_demo", "carol", sandboxed=True, outcome="ungradable")
    with pytest.raises(EvaluationError, match="carol's lab_demo could not be read when graded"):
        mark(lab="lab_demo", learner="carol", grade_id="demo_explain", score=1, course_dir=course.root)


def test_a_sheet_round_trip_records_the_filled_lines_all_or_none(course, tmp_path):
    sheet = write_sheet(pending_answers(course_dir=course.root), tmp_path / "to_grade.csv")
    with sheet.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["grade_id"] for row in rows] == ["demo_explain", "demo_dataflow_task"]
    assert rows[0]["answer"] == "Because it resets at shift change."
    rows[0]["score"], rows[0]["comment"] = "2", "Right."
    rows[1]["score"] = "5"  # out of range: the whole sheet is refused
    _write(sheet, rows)
    with pytest.raises(EvaluationError, match=rf"{sheet}: line 3: score 5 is outside 0 to 1"):
        import_marks(sheet, course_dir=course.root)
    assert _grade(course, "carol", "demo_explain")[:2] == (None, True)
    rows[1]["score"] = ""  # left for later
    _write(sheet, rows)
    marks, left = import_marks(sheet, course_dir=course.root)
    assert ([m.grade_id for m in marks], left) == (["demo_explain"], 1)
    assert _grade(course, "carol", "demo_explain") == (2.0, False, "Right.")


def _write(path, rows):
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _run(*argv) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.handler(args)


def test_the_command_lists_grades_and_imports(course, tmp_path, capsys):
    assert _run("mark", "--pending", "--course", str(course.root), "--sheet", str(tmp_path / "s.csv")) == 0
    out = capsys.readouterr().out
    assert "lab_demo carol demo_explain (/2 pt)\n    | Because it resets at shift change." in out
    assert "2 answer(s) awaiting a manual grade" in out and (tmp_path / "s.csv").is_file()
    assert _run("mark", "lab_demo", "carol", "demo_dataflow_task", "1", "--course", str(course.root)) == 0
    assert "lab_demo carol demo_dataflow_task: 1 / 1" in capsys.readouterr().out
    with pytest.raises(AutogradeError, match="mark: give LAB LEARNER GRADE_ID SCORE"):
        _run("mark", "lab_demo", "carol", "--course", str(course.root))


def test_a_regrade_keeps_a_mark_given_from_the_terminal(released_course, tmp_path):
    """nbgrader's autograde would ask for the answer again; factorylab's regrade keeps the trainer's mark."""
    course = Course.at(tmp_path / "course")
    shutil.copytree(released_course.root, course.root)
    submit(course, "ada", answer(released_notebook(course), rate_function=RIGHT_RATE, rate_counts=RIGHT_COUNTS,
                                 rate_explain="It resets at shift change."))
    grade(course_dir=course.root, limits=FAST_LIMITS, progress=False)
    assert [a.grade_id for a in pending_answers(course_dir=course.root)] == ["rate_explain"]
    mark(lab="lab_rate", learner="ada", grade_id="rate_explain", score=1, comment="Good.", course_dir=course.root)
    [outcome] = grade(course_dir=course.root, limits=FAST_LIMITS, progress=False)
    assert (outcome.score, outcome.needs_manual_grade) == (4.0, False)
    assert pending_answers(course_dir=course.root) == []
