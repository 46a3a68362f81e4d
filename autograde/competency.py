"""Each learner's status on every criterion: nbgrader's gradebook joined with the labs' criteria tags.

nbgrader keeps the grades (`<course>/gradebook.db`, or any database URL nbgrader accepts); factorylab keeps no
copy of them. This module reads the cell grades through `nbgrader.api.Gradebook`, joins them with the criteria
tags of the lab sources (autograde/criteria_tags.py) and the catalogue, and turns them into a status per
learner and criterion with this rule (printed on the report pages too):

The evidence for a learner and a criterion is every graded cell tagged with the criterion, in the labs the
learner submitted; labs not submitted count neither for nor against.
1. `not_attempted`: the learner submitted none of the labs holding such a cell (also when no lab evidences
   the criterion yet: the evidence then says so).
2. `awaiting_manual_grading`: otherwise, while any evidence cell still awaits a manual grade (nbgrader's
   `needs_manual_grade`): the total may still change, so no verdict is given yet.
3. `acquired`: otherwise, when every evidence cell scores at least 50 % of its points AND the evidence cells
   together score at least 60 % of their points.
4. `not_acquired`: otherwise.
Why these two thresholds: a criterion is one capability seen through several checks; a check below half marks
means an aspect of it was not shown, which a good score elsewhere must not hide, while 60 % overall tolerates
the slips a competent learner makes. nbgrader's own score is used: a manual grade overrides the autograder's,
and extra credit counts.
"""

import csv
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from autograde.badges import DEFAULT_ISSUER, Issuer, write_badges
from autograde.catalogue import load_catalogue
from autograde.course import Course
from autograde.criteria_tags import GradedCell, cells_by_criterion, criterion_group, load_tagged_cells
from autograde.errors import GradebookError
from autograde.html_report import (
    CRITERION_COLUMNS,
    Cell,
    Column,
    Row,
    Table,
    criterion_cells,
    escape,
    link,
    render_page,
)
from autograde.provenance import UNSANDBOXED_NOTICE, unsandboxed

CELL_THRESHOLD = 0.5
TOTAL_THRESHOLD = 0.6
STATUSES = ("acquired", "not_acquired", "awaiting_manual_grading", "not_attempted")
RULE_TEXT = (
    "The evidence for a learner and a criterion is every graded cell tagged with the criterion in the labs the "
    "learner submitted (labs not submitted count neither for nor against). not_attempted: none of those labs "
    "submitted. awaiting_manual_grading: an evidence cell still awaits a manual grade. acquired: every evidence "
    f"cell scores at least {CELL_THRESHOLD:.0%} of its points and together they score at least "
    f"{TOTAL_THRESHOLD:.0%} of their points. not_acquired: otherwise."
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CellGrade:
    """nbgrader's grade of one cell for one learner (`score` is nbgrader's: manual over auto, plus extra credit)."""

    score: float
    max_score: float
    needs_manual_grade: bool


@dataclass(frozen=True)
class LearnerGrades:
    """One learner's submissions (lab -> submission time), cell grades ((lab, notebook, grade_id) -> grade) and
    the labs whose last grading ran without the sandbox (autograde/provenance.py)."""

    learner: str
    name: str
    submitted: dict[str, datetime | None]
    grades: dict[tuple[str, str, str], CellGrade]
    unsandboxed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Evidence:
    """One evidence cell for a learner: `grade` is None when the learner did not submit the cell's lab."""

    cell: GradedCell
    grade: CellGrade | None
    feedback: Path | None

    @property
    def awaiting(self) -> bool:
        return self.grade is not None and self.grade.needs_manual_grade


@dataclass(frozen=True)
class CriterionStatus:
    learner: str
    criterion: object
    status: str
    evidence: tuple[Evidence, ...]
    submitted_at: datetime | None
    unsandboxed: bool = False  # some evidence was graded without the sandbox: not fit for certification

    @property
    def graded(self) -> list[Evidence]:
        return [item for item in self.evidence if item.grade is not None]

    @property
    def score(self) -> float:
        return sum(item.grade.score for item in self.graded)

    @property
    def max_score(self) -> float:
        return sum(item.grade.max_score for item in self.graded)


def decide_status(grades: Sequence[CellGrade]) -> str:
    """The status given by the module's rule to the grades of the evidence cells in the submitted labs."""
    if not grades:
        return "not_attempted"
    if any(grade.needs_manual_grade for grade in grades):
        return "awaiting_manual_grading"
    every_cell = all(grade.score >= CELL_THRESHOLD * grade.max_score for grade in grades)
    total = sum(grade.score for grade in grades) >= TOTAL_THRESHOLD * sum(grade.max_score for grade in grades)
    return "acquired" if every_cell and total else "not_acquired"


def learner_statuses(learner: LearnerGrades, cells: Iterable[GradedCell], catalogue,
                     feedback_path) -> list[CriterionStatus]:
    """The learner's status on every criterion of the catalogue, in catalogue order.

    `feedback_path(learner, lab, notebook)` gives where nbgrader writes the learner's feedback HTML; it is
    linked only if the file exists.
    """
    evidence_cells = cells_by_criterion(cells)
    statuses = []
    for key, criterion in catalogue.criteria.items():
        evidence = []
        for cell in evidence_cells.get(key, ()):
            grade = learner.grades.get((cell.lab, cell.notebook, cell.grade_id)) if cell.lab in learner.submitted \
                else None
            feedback = feedback_path(learner.learner, cell.lab, cell.notebook) if grade is not None else None
            evidence.append(Evidence(cell=cell, grade=grade,
                                     feedback=feedback if feedback is not None and feedback.is_file() else None))
        times = [learner.submitted[item.cell.lab] for item in evidence
                 if item.grade is not None and learner.submitted[item.cell.lab] is not None]
        statuses.append(CriterionStatus(
            learner=learner.learner,
            criterion=criterion,
            status=decide_status([item.grade for item in evidence if item.grade is not None]),
            evidence=tuple(evidence),
            submitted_at=max(times, default=None),
            unsandboxed=any(item.grade is not None and item.cell.lab in learner.unsandboxed for item in evidence),
        ))
    return statuses


def warn_no_submission(learners: Sequence[LearnerGrades]) -> list[str]:
    """A notice per learner with no submission at all (they stay in the report, all `not_attempted`), and per
    learner with labs graded without the sandbox (no badge rests on those)."""
    notices = [f"learner {learner.learner!r} has no submission in the gradebook: every criterion is "
               "not_attempted" for learner in learners if not learner.submitted]
    notices += [f"learner {learner.learner!r}: {', '.join(sorted(learner.unsandboxed))}: {UNSANDBOXED_NOTICE} "
                "No badge is issued on this evidence." for learner in learners if learner.unsandboxed]
    for notice in notices:
        log.warning(notice)
    return notices


def read_gradebook(db_url: str, cells: Sequence[GradedCell]) -> list[LearnerGrades]:
    """Every learner of the gradebook with their submissions and cell grades, after checking that the gradebook
    and the lab sources name the same graded cells (a mismatch means the sources changed after grading).

    Raises GradebookError for a missing, empty or mismatched gradebook; never creates or changes one.
    """
    from nbgrader.api import Gradebook
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.exc import SQLAlchemyError

    where = db_url.removeprefix("sqlite:///") if db_url.startswith("sqlite:///") else db_url
    if db_url.startswith("sqlite:///") and not Path(where).is_file():
        raise GradebookError(f"{where}: gradebook not found: grade the submissions first (nbgrader autograde), "
                             "or pass --course the nbgrader course directory holding gradebook.db")
    try:
        engine = create_engine(db_url)
        tables = set(inspect(engine).get_table_names())
        engine.dispose()
    except SQLAlchemyError as error:
        raise GradebookError(f"{where}: cannot open the gradebook database ({error})") from error
    if not {"grade", "student", "assignment"} <= tables:
        raise GradebookError(f"{where}: not an nbgrader gradebook (tables grade, student, assignment missing)")
    with Gradebook(db_url) as gradebook:
        _check_join(where, gradebook, cells)
        learners = [_learner_grades(student) for student in sorted(gradebook.students, key=lambda s: s.id)]
    marks = unsandboxed(db_url)
    learners = [replace(learner, unsandboxed=frozenset(lab for lab, who in marks if who == learner.learner))
                for learner in learners]
    if not learners:
        raise GradebookError(f"{where}: the gradebook has no learner: autograde some submissions first")
    if not any(learner.submitted for learner in learners):
        raise GradebookError(f"{where}: no submission in the gradebook yet: autograde some submissions first")
    return learners


def _check_join(where: str, gradebook, cells: Sequence[GradedCell]) -> None:
    by_notebook: dict[tuple[str, str], set[str]] = {}
    for cell in cells:
        by_notebook.setdefault((cell.lab, cell.notebook), set()).add(cell.grade_id)
    labs = {lab for lab, _ in by_notebook}
    assignments = gradebook.assignments
    if not assignments:
        raise GradebookError(f"{where}: the gradebook is empty (no assignment): generate and autograde the labs first")
    for assignment in assignments:
        if assignment.name not in labs:
            raise GradebookError(
                f"{where}: assignment {assignment.name!r} has no graded cells in the lab sources "
                f"(labs found: {', '.join(sorted(labs)) or 'none'}): pass --labs the folder of the lab sources")
        for notebook in assignment.notebooks:
            graded = {cell.name for cell in notebook.grade_cells} | {cell.name for cell in notebook.task_cells}
            tagged = by_notebook.get((assignment.name, notebook.name), set())
            if graded != tagged:
                differences = [f"only in the gradebook: {', '.join(sorted(graded - tagged))}"] if graded - tagged \
                    else []
                if tagged - graded:
                    differences.append(f"only in the lab source: {', '.join(sorted(tagged - graded))}")
                raise GradebookError(
                    f"{where}: {assignment.name}/{notebook.name}: the graded cells differ from the lab source "
                    f"({'; '.join(differences)}): the source changed after grading; regenerate and regrade, "
                    "or restore the source that was graded")


def _learner_grades(student) -> LearnerGrades:
    submitted = {}
    grades = {}
    for submission in student.submissions:
        submitted[submission.assignment.name] = submission.timestamp
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grades[(submission.assignment.name, notebook.name, grade.name)] = CellGrade(
                    score=float(grade.score), max_score=float(grade.max_score),
                    needs_manual_grade=bool(grade.needs_manual_grade))
    name = " ".join(part for part in (student.first_name, student.last_name) if part)
    return LearnerGrades(learner=student.id, name=name, submitted=submitted, grades=grades)


SYMBOLS = {"acquired": "✓", "not_acquired": "✗", "awaiting_manual_grading": "?", "not_attempted": "·"}


def build_report(*, course_dir: Path | None = None, labs_dir: Path = Path("labs"), out_dir: Path = Path("reports"),
                 db_url: str | None = None, catalogue_dir: Path | None = None,
                 issuer: Issuer = DEFAULT_ISSUER) -> list[Path]:
    """Write the competency report of an nbgrader course into `out_dir` and return the files written:
    cohort.html (criteria x learners heat map), learners/<learner>.html (status and evidence per criterion),
    competency.csv (one row per learner x criterion, for the jury) and badges/<learner>/<key>.json (Open
    Badges 3.0, one per acquired criterion). `course_dir` defaults to the trainer's course directory
    (`autograde.course.default_course_dir`), `db_url` to its `gradebook.db`.
    """
    catalogue = load_catalogue(catalogue_dir)
    cells = load_tagged_cells(Path(labs_dir), catalogue)
    course_dir = Course.at(course_dir).root
    db_url = db_url or Course.at(course_dir).db_url
    learners = read_gradebook(db_url, cells)
    notices = warn_no_submission(learners)
    from nbgrader.coursedir import CourseDirectory  # nbgrader is slow to import: only when a report is built

    course = CourseDirectory(root=str(course_dir))

    def feedback_path(learner: str, lab: str, notebook: str) -> Path:
        return Path(course.format_path(course.feedback_directory, learner, lab)) / f"{notebook}.html"

    statuses = {learner.learner: learner_statuses(learner, cells, catalogue, feedback_path) for learner in learners}
    out_dir = Path(out_dir)
    (out_dir / "learners").mkdir(parents=True, exist_ok=True)
    written = [_write_cohort(out_dir / "cohort.html", learners, statuses, catalogue, notices, db_url)]
    for learner in learners:
        written.append(_write_learner(out_dir / "learners" / f"{learner.learner}.html", learner,
                                      statuses[learner.learner]))
    written.append(_write_csv(out_dir / "competency.csv", learners, statuses))
    now = datetime.now(UTC)
    for learner in learners:
        written.extend(write_badges(statuses[learner.learner], catalogue, out_dir / "badges", issuer, now))
    return written


def _legend() -> str:
    items = "".join(f'<span class="status-{status}">{SYMBOLS[status]} {status}</span>' for status in STATUSES)
    return f'<p class="legend">{items}</p><p><b>Rule.</b> {escape(RULE_TEXT)}</p>'


def _write_cohort(path: Path, learners: Sequence[LearnerGrades], statuses: dict[str, list[CriterionStatus]],
                  catalogue, notices: Sequence[str], db_url: str) -> Path:
    summary_rows = []
    for learner in learners:
        counts = [sum(s.status == status for s in statuses[learner.learner]) for status in STATUSES]
        summary_rows.append(
            f"<tr><td>{link(f'learners/{learner.learner}.html', learner.learner)}</td><td>{escape(learner.name)}"
            f"</td><td>{escape(', '.join(sorted(learner.submitted)) or 'none')}</td>"
            + "".join(f"<td>{count}</td>" for count in counts) + "</tr>")
    summary = (
        "<h2>Learners</h2><table><thead><tr><th>Learner</th><th>Name</th><th>Labs submitted</th>"
        + "".join(f"<th>{status}</th>" for status in STATUSES) + "</tr></thead><tbody>"
        + "".join(summary_rows) + "</tbody></table>"
    )
    notes = "".join(f"<p><b>Notice:</b> {escape(notice)}</p>" for notice in notices)
    intro = (f"<p>Gradebook: <code>{escape(_display_url(db_url))}</code>; {len(learners)} learner(s), "
             f"{len(catalogue.criteria)} criteria. Criteria are rows (filter them by referential or bloc), "
             "learners are columns; hover a cell for the score.</p>" + _legend() + notes + summary
             + "<h2>Heat map</h2>")
    rows = []
    for position, (key, criterion) in enumerate(catalogue.criteria.items()):
        learner_cells = []
        for learner in learners:
            status = statuses[learner.learner][position]
            score = f", {status.score:g} / {status.max_score:g} pt" if status.graded else ""
            learner_cells.append(Cell(status.status, html=SYMBOLS[status.status], css=f"heat status-{status.status}",
                                      title=f"{learner.learner}: {status.status}{score}"))
        acquired = sum(statuses[learner.learner][position].status == "acquired" for learner in learners)
        described = criterion_cells(criterion, criterion_group(criterion), position)
        rows.append(Row(key=key, cells=[*described, *learner_cells, Cell(str(acquired), sort=acquired)]))
    columns = [*CRITERION_COLUMNS, *[Column(f"learner:{learner.learner}", learner.learner) for learner in learners],
               Column("acquired", "Learners who acquired it")]
    page = render_page(title="factorylab: criteria acquired by the cohort", intro_html=intro,
                       table=Table(columns=columns, rows=rows))
    path.write_text(page, encoding="utf-8")
    return path


def _evidence_html(item: Evidence, page_dir: Path) -> str:
    cell = item.cell
    head = f"<code>{escape(cell.lab)}/{escape(cell.grade_id)}</code> ({escape(cell.mode)})"
    if item.grade is None:
        state = f"lab not submitted ({cell.points:g} pt)"
    elif item.awaiting:
        state = f"awaiting a manual grade (/ {item.grade.max_score:g} pt)"
    else:
        state = f"{item.grade.score:g} / {item.grade.max_score:g} pt"
    feedback = ""
    if item.feedback is not None:
        feedback = " " + link(Path(os.path.relpath(item.feedback, page_dir)).as_posix(), "feedback")
    return f"<li>{head}: {escape(state)}. {escape(cell.checks)}{feedback}</li>"


def _write_learner(path: Path, learner: LearnerGrades, statuses: Sequence[CriterionStatus]) -> Path:
    rows = []
    for position, status in enumerate(statuses):
        criterion = status.criterion
        if status.evidence:
            evidence = "".join(_evidence_html(item, path.parent) for item in status.evidence)
            evidence_html = f'<ul class="cells">{evidence}</ul>'
        else:
            evidence_html = "no lab cell evidences this criterion"
        rows.append(Row(key=criterion.key, cells=[
            *criterion_cells(criterion, criterion_group(criterion), position),
            Cell(status.status, html=f"{SYMBOLS[status.status]} {escape(status.status)}",
                 css=f"status-{status.status}"),
            Cell(f"{status.score:g} / {status.max_score:g}" if status.graded else "",
                 sort=status.score / status.max_score if status.max_score else -1),
            Cell(_evidence_text(status), html=evidence_html),
        ]))
    submitted = ", ".join(f"{lab} ({when:%Y-%m-%d %H:%M} UTC)" if when else lab
                          for lab, when in sorted(learner.submitted.items())) or "none"
    intro = (f"<p>{link('../cohort.html', 'Back to the cohort')}. Learner <b>{escape(learner.learner)}</b> "
             f"{escape(learner.name)}; labs submitted: {escape(submitted)}.</p>" + _legend())
    if learner.unsandboxed:
        intro += (f"<p><b>Notice:</b> {escape(', '.join(sorted(learner.unsandboxed)))}: "
                  f"{escape(UNSANDBOXED_NOTICE)} No badge is issued on this evidence.</p>")
    columns = [*CRITERION_COLUMNS, Column("status", "Status", filter=True), Column("score", "Score"),
               Column("evidence", "Evidence (lab/cell, score, what it checks)")]
    page = render_page(title=f"factorylab: criteria of {learner.learner}", intro_html=intro,
                       table=Table(columns=columns, rows=rows))
    path.write_text(page, encoding="utf-8")
    return path


def _evidence_text(status: CriterionStatus) -> str:
    parts = []
    for item in status.evidence:
        cell = item.cell
        if item.grade is None:
            state = "not submitted"
        elif item.awaiting:
            state = "awaiting manual grade"
        else:
            state = f"{item.grade.score:g}/{item.grade.max_score:g}"
        parts.append(f"{cell.lab}/{cell.notebook}/{cell.grade_id} ({cell.mode}) {state}: {cell.checks}")
    return "; ".join(parts) or "no lab cell evidences this criterion"


CSV_FIELDS = ("learner", "name", "referential", "group", "criterion_id", "criterion_key", "status", "score",
              "max_score", "sandboxed", "evidence", "feedback")


def _write_csv(path: Path, learners: Sequence[LearnerGrades], statuses: dict[str, list[CriterionStatus]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for learner in learners:
            for status in statuses[learner.learner]:
                criterion = status.criterion
                feedback = dict.fromkeys(str(item.feedback) for item in status.evidence if item.feedback)
                writer.writerow({
                    "learner": learner.learner, "name": learner.name, "referential": criterion.referential,
                    "group": criterion_group(criterion), "criterion_id": criterion.id,
                    "criterion_key": criterion.key, "status": status.status,
                    "score": f"{status.score:g}" if status.graded else "",
                    "max_score": f"{status.max_score:g}" if status.graded else "",
                    "sandboxed": ("no" if status.unsandboxed else "yes") if status.graded else "",
                    "evidence": _evidence_text(status), "feedback": " ".join(feedback),
                })
    return path


def _display_url(db_url: str) -> str:
    """The database URL without its password, to print on a page."""
    from sqlalchemy.engine import make_url

    return make_url(db_url).render_as_string(hide_password=True)
