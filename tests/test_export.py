"""`factorylab export`: nbgrader's per-lab CSV and a per-cell CSV, from the gradebook only."""

import csv

import pytest
from grading_fixtures import (
    FAST_LIMITS,
    HIDDEN_MARKER,
    LAB,
    RIGHT_COUNTS,
    RIGHT_RATE,
    WRONG_RATE,
    answer,
    copy_course,
    released_notebook,
    submit,
)
from nbgrader.api import Gradebook

from autograde.export import CELL_COLUMNS, export
from autograde.grade import grade


@pytest.fixture(scope="module")
def exported(released_course, tmp_path_factory):
    course = copy_course(released_course, tmp_path_factory.mktemp("export"))
    released = released_notebook(course)
    submit(course, "ada", answer(released, rate_function=RIGHT_RATE, rate_counts=RIGHT_COUNTS,
                                 rate_explain="It resets."))
    submit(course, "bea", answer(released, rate_function=WRONG_RATE))
    submit(course, "cem", '{"cells": [')  # not a notebook: ungradable
    grade(course_dir=course.root, limits=FAST_LIMITS, progress=False)
    with Gradebook(course.db_url) as gradebook:  # enrolled, submitted nothing
        gradebook.update_or_create_student("dan", first_name="Dan", last_name="Absent, Jr")
    return export(course_dir=course.root, out_dir=course.root.parent / "export")


def test_cells_csv_has_each_cell_score_and_manual_status(exported):
    _, per_cell = exported
    rows = list(csv.DictReader(per_cell.open()))
    assert tuple(rows[0]) == CELL_COLUMNS
    by_cell = {(r["learner"], r["grade_id"]): r for r in rows}
    assert by_cell[("ada", "rate_function_test")]["score"] == "2.0"
    assert by_cell[("bea", "rate_function_test")]["score"] == "0.0"
    assert by_cell[("ada", "rate_explain")]["needs_manual_grade"] == "True"
    assert by_cell[("bea", "rate_explain")]["needs_manual_grade"] == "False"  # untouched answer: zero
    assert {by_cell[("ada", "rate_explain")]["outcome"], by_cell[("cem", "rate_explain")]["outcome"]} == {
        "ok", "ungradable"}  # cem's zeros are nbgrader's placeholder for a notebook it could not read
    assert len(rows) == 9


def test_grades_csv_is_nbgraders_export_per_lab(exported):
    per_lab, _ = exported
    rows = {r["student_id"]: r for r in csv.DictReader(per_lab.open())}
    assert (rows["ada"]["assignment"], float(rows["ada"]["raw_score"])) == (LAB, 3.0)
    assert (rows["ada"]["status"], rows["ada"]["pending_manual_grades"]) == ("ok", "1")
    assert (float(rows["bea"]["raw_score"]), rows["bea"]["status"]) == (0.0, "ok")  # submitted and failed


def test_grades_csv_tells_not_submitted_and_unreadable_from_failed(exported):
    per_lab, _ = exported
    rows = {r["student_id"]: r for r in csv.DictReader(per_lab.open())}
    dan = rows["dan"]
    assert (dan["status"], dan["raw_score"], dan["score"], dan["timestamp"]) == ("not_submitted", "", "", "")
    assert (dan["last_name"], dan["max_score"]) == ("Absent, Jr", "4.0")  # a comma stays inside its field
    assert rows["cem"]["status"] == "ungradable"


def test_no_hidden_test_in_the_exports(exported):
    for path in exported:
        assert HIDDEN_MARKER not in path.read_text()
