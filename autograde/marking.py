"""Manual grades from the terminal or a spreadsheet, written through nbgrader's own Gradebook API.

nbgrader's formgrader (a web app) stays the reference for grading written answers; `factorylab mark` does the
same from a terminal, for a trainer on a server without a browser or with a stack of answers to grade offline:
- `pending_answers` lists every answer awaiting a manual grade with its text (read from the autograded
  notebook) and its points; `write_sheet` makes it a spreadsheet to fill in;
- `mark` grades one answer; `import_marks` grades every filled-in line of a sheet, all or none.
A mark sets nbgrader's `manual_score` and clears `needs_manual_grade`, exactly as formgrader does, and a comment
is nbgrader's `manual_comment`: formgrader, feedback pages, exports and reports all see it, and a regrade keeps
it while the answer it graded is unchanged (autograde/manual_grades.py).
"""

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from autograde.course import Course
from autograde.errors import EvaluationError
from autograde.gradebook import require_gradebook
from autograde.provenance import grading_records
from autograde.sheets import read_sheet

SHEET_COLUMNS = ("learner", "lab", "grade_id", "max_score", "answer", "score", "comment")


@dataclass(frozen=True)
class Answer:
    """A learner's answer to a graded cell: what nbgrader holds of it, and its text when the cell is pending."""

    lab: str
    learner: str
    notebook: str
    grade_id: str
    max_score: float
    text: str


@dataclass(frozen=True)
class Mark:
    """A manual grade as recorded in nbgrader's gradebook."""

    lab: str
    learner: str
    notebook: str
    grade_id: str
    score: float
    max_score: float
    comment: str | None


def pending_answers(*, course_dir: Path | None = None, labs: Sequence[str] = ()) -> list[Answer]:
    """Every answer of `labs` (default: all) awaiting a manual grade, by lab, learner and cell order."""
    course = Course.at(course_dir)
    require_gradebook(course.db_url)
    found = []
    with Gradebook(course.db_url) as gradebook:
        known = sorted(assignment.name for assignment in gradebook.assignments)
        unknown = [lab for lab in labs if lab not in known]
        if unknown:
            raise EvaluationError(f"no lab {', '.join(map(repr, unknown))} in the gradebook (labs: "
                                  f"{', '.join(known) or 'none'})")
        for lab in list(labs) or known:
            assignment = gradebook.find_assignment(lab)
            for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
                for notebook in sorted(submission.notebooks, key=lambda n: n.name):
                    texts = _answer_texts(course, lab, submission.student.id, notebook.name)
                    order = list(texts)  # the notebook's cell order
                    pending = sorted((grade for grade in notebook.grades if grade.needs_manual_grade),
                                     key=lambda grade: order.index(grade.name) if grade.name in order else len(order))
                    found += [Answer(lab=lab, learner=submission.student.id, notebook=notebook.name,
                                     grade_id=grade.name, max_score=float(grade.max_score),
                                     text=texts.get(grade.name, "")) for grade in pending]
    return found


def _answer_texts(course: Course, lab: str, learner: str, notebook: str) -> dict[str, str]:
    """grade_id -> the answer's source in the autograded notebook (what formgrader shows the trainer)."""
    path = course.autograded / learner / lab / f"{notebook}.ipynb"
    if not path.is_file():
        return {}
    nb = nbformat.read(path, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("grade_id")}


def write_sheet(answers: Sequence[Answer], path: Path) -> Path:
    """A CSV of `answers` to fill in (the score, and a comment if any) and give to `import_marks`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as stream:  # with a BOM: Excel then reads UTF-8
        writer = csv.writer(stream)
        writer.writerow(SHEET_COLUMNS)
        for answer in answers:
            writer.writerow([answer.learner, answer.lab, answer.grade_id, f"{answer.max_score:g}", answer.text, "",
                             ""])
    return path


def mark(*, lab: str, learner: str, grade_id: str, score: float | str, comment: str | None = None,
         course_dir: Path | None = None) -> Mark:
    """Give `learner`'s answer `grade_id` of `lab` the manual `score` (0 to the cell's points; "1,5" reads as
    1.5), with an optional comment for the learner. EvaluationError names what is wrong; nothing is written then."""
    [done] = _record(Course.at(course_dir), [(lab, learner, grade_id, score, comment)], [""])
    return done


def import_marks(csv_path: Path, *, course_dir: Path | None = None) -> tuple[list[Mark], int]:
    """Record the score of every line of a filled-in sheet (columns learner, lab, grade_id, score, and
    optionally comment; `write_sheet` makes one), all or none. Lines without a score are left for later;
    returns the marks recorded and how many lines were left."""
    path = Path(csv_path)
    rows = read_sheet(path, ("learner", "lab", "grade_id", "score"), ("comment", "max_score", "answer"))
    filled = [(line, row) for line, row in rows if row["score"]]
    if not filled:
        raise EvaluationError(f"{path}: no line has a score: fill in the 'score' column of the answers graded")
    marks = _record(Course.at(course_dir),
                    [(row["lab"], row["learner"], row["grade_id"], row["score"], row.get("comment") or None)
                     for _, row in filled],
                    [f"{path}: line {line}: " for line, _ in filled])
    return marks, len(rows) - len(filled)


def _record(course: Course, entries: Sequence[tuple], places: Sequence[str]) -> list[Mark]:
    """Check every (lab, learner, grade_id, score, comment), then write them all through nbgrader."""
    require_gradebook(course.db_url)
    records = grading_records(course.db_url)
    problems, found = [], []
    with Gradebook(course.db_url) as gradebook:
        for place, (lab, learner, grade_id, score, comment) in zip(places, entries, strict=True):
            try:
                grade = _find_grade(gradebook, lab, learner, grade_id)
                if records.get((lab, learner)) is not None and records[(lab, learner)].outcome == "ungradable":
                    raise EvaluationError(f"{learner}'s {lab} could not be read when graded: there is no answer to "
                                          "mark; ask for a readable notebook and grade it again")
                found.append((grade, _score(score, float(grade.max_score)), comment))
            except EvaluationError as error:
                problems.append(f"{place}{error}")
        if problems:
            raise EvaluationError("; ".join(problems))
        marks = []
        for grade, score, comment in found:
            grade.manual_score = score
            grade.needs_manual_grade = False
            notebook = grade.notebook
            if comment is not None:
                gradebook.find_comment(grade.name, notebook.name, notebook.assignment.name,
                                       notebook.student.id).manual_comment = comment
            marks.append(Mark(lab=notebook.assignment.name, learner=notebook.student.id, notebook=notebook.name,
                              grade_id=grade.name, score=score, max_score=float(grade.max_score), comment=comment))
        gradebook.db.commit()
    return marks


def _find_grade(gradebook: Gradebook, lab: str, learner: str, grade_id: str):
    try:
        submission = gradebook.find_submission(lab, learner)
    except MissingEntry:
        try:
            learners = sorted(s.student.id for s in gradebook.find_assignment(lab).submissions)
        except MissingEntry:
            labs = sorted(assignment.name for assignment in gradebook.assignments)
            raise EvaluationError(f"no lab {lab!r} in the gradebook (labs: {', '.join(labs) or 'none'})") from None
        raise EvaluationError(f"{learner!r} has no graded submission of {lab} (learners who have: "
                              f"{', '.join(learners[:20]) or 'none'}{' …' if len(learners) > 20 else ''})") from None
    grades = {grade.name: grade for notebook in submission.notebooks for grade in notebook.grades}
    if grade_id not in grades:
        raise EvaluationError(f"{lab} has no graded cell {grade_id!r} (its cells: {', '.join(sorted(grades))})")
    return grades[grade_id]


def _score(text: float | str, max_score: float) -> float:
    try:
        score = float(text) if isinstance(text, int | float) else float(re.sub(r"\s", "", str(text)).replace(",", "."))
    except ValueError:
        raise EvaluationError(f"score {text!r} is not a number") from None
    if not 0 <= score <= max_score:
        raise EvaluationError(f"score {score:g} is outside 0 to {max_score:g}, the cell's points")
    return score
