"""Keep a trainer's manual grades across regrading.

nbgrader's autograde keeps a cell's manual score and comment, but marks every cell that has one as needing
manual grading again, so a rerun of `factorylab grade` would send every written answer back to the trainer and
drop the learner's criteria from "acquired" to "pending". Before each submission is regraded, the manual grades
that were decided are noted with the answer they graded (its source in the autograded notebook); after it,
each one whose answer is unchanged is marked decided again. An answer the learner changed since is left to
grade again, and the summary says so.
"""

from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry


@dataclass(frozen=True)
class ManualGrade:
    """A decided manual grade, and the source of the answer it graded."""

    notebook: str
    grade_id: str
    source: str | None


def _answers(autograded: Path, notebook: str) -> dict[str, str]:
    path = autograded / f"{notebook}.ipynb"
    if not path.is_file():
        return {}
    nb = nbformat.read(path, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("grade_id")}


def kept_manual_grades(db_url: str, autograded: Path, lab: str, learner: str) -> list[ManualGrade]:
    """The decided manual grades of `learner`'s submission of `lab` (empty if never graded)."""
    with Gradebook(db_url) as gradebook:
        try:
            submission = gradebook.find_submission(lab, learner)
        except MissingEntry:
            return []
        kept = []
        for notebook in submission.notebooks:
            answers = _answers(autograded, notebook.name)
            for grade in notebook.grades:
                if grade.manual_score is not None and not grade.needs_manual_grade:
                    kept.append(ManualGrade(notebook.name, grade.name, answers.get(grade.name)))
        return kept


def restore_manual_grades(db_url: str, autograded: Path, lab: str, learner: str,
                          kept: list[ManualGrade]) -> list[str]:
    """Mark each kept grade decided again where its answer is unchanged; return the grade ids left to regrade."""
    if not kept:
        return []
    changed = []
    with Gradebook(db_url) as gradebook:
        for grade in kept:
            answers = _answers(autograded, grade.notebook)
            try:
                cell = gradebook.find_grade(grade.grade_id, grade.notebook, lab, learner)
            except MissingEntry:
                continue
            if grade.source is not None and answers.get(grade.grade_id) == grade.source:
                cell.needs_manual_grade = False
            else:
                changed.append(grade.grade_id)
        gradebook.db.commit()
    return changed
