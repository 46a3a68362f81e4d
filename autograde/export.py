"""Grades out of nbgrader's gradebook as CSV: one row per learner and lab, and one per learner and cell.

`grades.csv` is nbgrader's own export (`nbgrader export`, its CsvExportPlugin), one row per learner and lab.
`cells.csv` adds what nbgrader does not export: each graded cell's score (auto, manual, extra credit, final),
whether it awaits manual grading, and whether it was graded in the sandbox (`sandboxed` False: not fit for
certification, autograde/provenance.py), by lab, notebook and grade_id. Neither holds a cell's source or output,
so no hidden test reaches them.
"""

import csv
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins.export import CsvExportPlugin

from autograde.course import Course
from autograde.provenance import unsandboxed

CELL_COLUMNS = ("learner", "lab", "notebook", "grade_id", "auto_score", "manual_score", "extra_credit", "score",
                "max_score", "needs_manual_grade", "sandboxed")


def export(*, course_dir: Path | None = None, out_dir: Path = Path("grades")) -> list[Path]:
    """Write `grades.csv` (per lab) and `cells.csv` (per cell) under `out_dir`; return their paths."""
    course = Course.at(course_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_lab, per_cell = out_dir / "grades.csv", out_dir / "cells.csv"
    unsafe = unsandboxed(course.db_url)
    with Gradebook(course.db_url) as gradebook:
        CsvExportPlugin(to=str(per_lab)).export(gradebook)
        with per_cell.open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(CELL_COLUMNS)
            for assignment in sorted(gradebook.assignments, key=lambda a: a.name):
                for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
                    for notebook in sorted(submission.notebooks, key=lambda n: n.name):
                        for grade in sorted(notebook.grades, key=lambda g: g.name):
                            writer.writerow([submission.student.id, assignment.name, notebook.name, grade.name,
                                             grade.auto_score, grade.manual_score, grade.extra_credit, grade.score,
                                             grade.max_score, grade.needs_manual_grade,
                                             (assignment.name, submission.student.id) not in unsafe])
    return [per_lab, per_cell]
