"""Grades out of nbgrader's gradebook as CSV: one row per learner and lab, and one per learner and cell.

`grades.csv` has the columns of nbgrader's own export (`nbgrader export`, its CsvExportPlugin), one row per
learner of the gradebook and lab, with two differences: a lab the learner did not submit has empty scores
(nbgrader writes 0.0, so "did not submit" read like "failed"), and a `status` column says what happened to it:
`not_submitted`, or the grading outcome (`ok`, `flagged`, `incident`, `ungradable`, `error`; `graded` when
nbgrader graded it without factorylab), and `pending_manual_grades` how many answers await a manual grade.
Values are quoted as CSV needs (a name with a comma stays one field).
`cells.csv` adds what nbgrader does not export: each graded cell's score (auto, manual, extra credit, final),
whether it awaits manual grading, the submission's grading outcome (an `ungradable` submission's zeros are
nbgrader's placeholder, not a grade) and whether it was graded in the sandbox (`sandboxed` False: not fit for
certification, autograde/provenance.py), by lab, notebook and grade_id. Neither holds a cell's source or
output, so no hidden test reaches them.
"""

import csv
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograde.course import Course
from autograde.provenance import grading_records

LAB_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "raw_score",
               "late_submission_penalty", "score", "max_score", "status", "pending_manual_grades")
CELL_COLUMNS = ("learner", "lab", "notebook", "grade_id", "auto_score", "manual_score", "extra_credit", "score",
                "max_score", "needs_manual_grade", "outcome", "sandboxed")


def export(*, course_dir: Path | None = None, out_dir: Path = Path("grades")) -> list[Path]:
    """Write `grades.csv` (per lab) and `cells.csv` (per cell) under `out_dir`; return their paths."""
    course = Course.at(course_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_lab, per_cell = out_dir / "grades.csv", out_dir / "cells.csv"
    records = grading_records(course.db_url)
    with Gradebook(course.db_url) as gradebook:
        with per_lab.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(LAB_COLUMNS)
            for assignment in sorted(gradebook.assignments, key=lambda a: a.name):
                for student in sorted(gradebook.students, key=lambda s: s.id):
                    writer.writerow(_lab_row(gradebook, assignment, student, records))
        with per_cell.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(CELL_COLUMNS)
            for assignment in sorted(gradebook.assignments, key=lambda a: a.name):
                for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
                    record = records.get((assignment.name, submission.student.id))
                    for notebook in sorted(submission.notebooks, key=lambda n: n.name):
                        for grade in sorted(notebook.grades, key=lambda g: g.name):
                            writer.writerow([submission.student.id, assignment.name, notebook.name, grade.name,
                                             grade.auto_score, grade.manual_score, grade.extra_credit, grade.score,
                                             grade.max_score, grade.needs_manual_grade,
                                             record.outcome if record else "graded",
                                             record is None or record.sandboxed])
    return [per_lab, per_cell]


def _lab_row(gradebook: Gradebook, assignment, student, records) -> list:
    """nbgrader's export row for a learner and a lab, scores empty when nothing was submitted."""
    row = [assignment.name, assignment.duedate or "", "", student.id, student.last_name or "",
           student.first_name or "", student.email or ""]
    try:
        submission = gradebook.find_submission(assignment.name, student.id)
    except MissingEntry:
        return [*row, "", "", "", assignment.max_score, "not_submitted", ""]
    record = records.get((assignment.name, student.id))
    row[2] = submission.timestamp or ""
    penalty = submission.late_submission_penalty
    pending = sum(grade.needs_manual_grade for notebook in submission.notebooks for grade in notebook.grades)
    return [*row, submission.score, penalty, max(0.0, submission.score - penalty), assignment.max_score,
            record.outcome if record else "graded", pending]
