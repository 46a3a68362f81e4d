"""Each learner's status on every criterion: nbgrader's gradebook joined with the labs' criteria tags, how each
submission was graded, and the decisions recorded outside the labs.

nbgrader keeps the grades (`<course>/gradebook.db`, or any database URL nbgrader accepts); factorylab keeps no
copy of them. This module reads the cell grades through `nbgrader.api.Gradebook`, joins them with the criteria
tags of the lab sources (autograde/criteria_tags.py) and the catalogue, with the grading outcome of each
submission (autograde/provenance.py) and the trainers' and juries' decisions (autograde/observations.py), and
gives each learner one status per criterion by this rule (printed on the report pages too):

The evidence for a learner and a criterion is every graded cell tagged with the criterion, in the labs the
learner submitted; labs not submitted count neither for nor against.
1. A decision a trainer or jury recorded for the learner and criterion (`factorylab observe`) decides:
   `acquired` or `not_acquired`, the latest recorded. It is how a criterion assessed outside the labs gets a
   status, and how a flagged submission or a grading incident is settled after review.
2. No lab cell evidences the criterion: `awaiting_observation` if the catalogue assesses it outside the labs,
   `not_assessed` otherwise (no lab assesses it yet).
3. `not_submitted`: the learner submitted none of the labs holding such cells.
4. `ungradable`, `incident`, `flagged` (worst first): a submitted lab holding evidence could not be read, had
   its grading cut short, or was flagged by the grader (autograde/grade.py). Its scores do not decide alone:
   the pages show the outcome they would give (`provisional`) until someone records a decision.
5. Otherwise the scores decide (nbgrader's: a manual grade overrides the autograder's, extra credit counts):
   `acquired` when every evidence cell scores at least 50 % of its points AND the evidence cells together score
   at least 60 % of their points, `not_acquired` otherwise. While cells await a manual grade, the outcome is
   decided only if every grade they could get gives the same one; if not, `pending_manual_grading`.
Why these two thresholds: a criterion is one capability seen through several checks; a check below half marks
means an aspect of it was not shown, which a good score elsewhere must not hide, while 60 % overall tolerates
the slips a competent learner makes.

The report (`build_report`) is self-contained: the feedback pages nbgrader wrote are copied beside it and
linked at the exact cell, so no page or CSV names a path of the grading machine.
"""

import csv
import functools
import logging
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from autograde import html_report
from autograde.badges import write_badges
from autograde.catalogue import load_catalogue
from autograde.course import Course
from autograde.coverage import assessed_mode, groups
from autograde.criteria_tags import AUTO, GradedCell, cells_by_criterion, criterion_group, load_tagged_cells
from autograde.errors import GradebookError
from autograde.gradebook import require_gradebook
from autograde.i18n import DEFAULT_LANGUAGE, check_language, translated_checks
from autograde.observations import Observation, read_observations
from autograde.provenance import UNSANDBOXED_NOTICE, GradingRecord, grading_records

CELL_THRESHOLD = 0.5
TOTAL_THRESHOLD = 0.6
ACQUIRED, NOT_ACQUIRED = "acquired", "not_acquired"
PENDING = "pending_manual_grading"
FLAGGED, INCIDENT, UNGRADABLE = "flagged", "incident", "ungradable"
NOT_SUBMITTED, AWAITING_OBSERVATION, NOT_ASSESSED = "not_submitted", "awaiting_observation", "not_assessed"
STATUSES = (ACQUIRED, NOT_ACQUIRED, PENDING, FLAGGED, INCIDENT, UNGRADABLE, NOT_SUBMITTED, AWAITING_OBSERVATION,
            NOT_ASSESSED)
DECIDED = (ACQUIRED, NOT_ACQUIRED)
ISSUES = (UNGRADABLE, INCIDENT, FLAGGED)  # worst first
_OUTCOME_STATUS = {"ungradable": UNGRADABLE, "incident": INCIDENT, "error": INCIDENT, "flagged": FLAGGED}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CellGrade:
    """nbgrader's grade of one cell for one learner (`score` is nbgrader's: manual over auto, plus extra credit)."""

    score: float
    max_score: float
    needs_manual_grade: bool


@dataclass(frozen=True)
class LearnerGrades:
    """One learner's submissions (lab -> submission time), cell grades ((lab, notebook, grade_id) -> grade), the
    labs whose last grading ran without the sandbox, and how each lab was last graded (lab -> record; a lab
    nbgrader graded without factorylab has none)."""

    learner: str
    name: str
    submitted: dict[str, datetime | None]
    grades: dict[tuple[str, str, str], CellGrade]
    unsandboxed: frozenset[str] = frozenset()
    outcomes: Mapping[str, GradingRecord] = field(default_factory=dict)

    def outcome(self, lab: str) -> str | None:
        """The lab's grading outcome (`ok`, `flagged`, `incident`, `ungradable`, `error`), None if unknown."""
        record = self.outcomes.get(lab)
        return record.outcome if record else None


@dataclass(frozen=True)
class Evidence:
    """One evidence cell for a learner. `state`: `graded`, `pending` (awaits a manual grade), `not_submitted`
    or `ungradable` (the notebook could not be read: nbgrader's zero is no grade); `grade` is None for the last
    two. `feedback` is nbgrader's feedback page of the cell's notebook, when it exists."""

    cell: GradedCell
    grade: CellGrade | None
    feedback: Path | None
    state: str = "graded"

    @property
    def awaiting(self) -> bool:
        return self.state == "pending"


@dataclass(frozen=True)
class CriterionStatus:
    """A learner's status on a criterion (one of STATUSES) with its evidence. `mode` is read from the evidence
    cells (auto, manual, mixed; outside or none without any); `lab_status` is what the labs alone say, before
    a recorded decision; `provisional` the outcome the scores give when a grading issue keeps them from
    deciding; `observations` the decisions recorded for it, newest first."""

    learner: str
    criterion: object
    status: str
    evidence: tuple[Evidence, ...]
    submitted_at: datetime | None
    unsandboxed: bool = False  # some evidence was graded without the sandbox: not fit for certification
    mode: str = "none"
    lab_status: str | None = None
    provisional: str | None = None
    observations: tuple[Observation, ...] = ()

    @property
    def graded(self) -> list[Evidence]:
        return [item for item in self.evidence if item.grade is not None]

    @property
    def score(self) -> float:
        """Points of the evidence cells graded so far (not those awaiting a manual grade)."""
        return sum(item.grade.score for item in self.graded if not item.awaiting)

    @property
    def max_score(self) -> float:
        """What the cells graded so far were out of."""
        return sum(item.grade.max_score for item in self.graded if not item.awaiting)

    @property
    def pending_points(self) -> float:
        """The points of the evidence cells still awaiting a manual grade."""
        return sum(item.grade.max_score for item in self.graded if item.awaiting)

    @property
    def decided_by(self) -> str:
        """`observation` when a recorded decision gives the status, `labs` when the scores do, else ""."""
        if self.observations:
            return "observation"
        return "labs" if self.status in DECIDED else ""


def _rule(scores: Sequence[tuple[float, float]]) -> str:
    every_cell = all(score >= CELL_THRESHOLD * maximum for score, maximum in scores)
    total = sum(score for score, _ in scores) >= TOTAL_THRESHOLD * sum(maximum for _, maximum in scores)
    return ACQUIRED if every_cell and total else NOT_ACQUIRED


def decide_status(grades: Sequence[CellGrade]) -> str:
    """The outcome the module's rule (step 5) gives the grades of the evidence cells in the submitted labs:
    a cell awaiting its manual grade may get anything from zero to full marks, and the outcome is decided
    only if both ends give the same one."""
    if not grades:
        return NOT_SUBMITTED
    lowest = _rule([(0.0 if grade.needs_manual_grade else grade.score, grade.max_score) for grade in grades])
    highest = _rule([(grade.max_score if grade.needs_manual_grade else grade.score, grade.max_score)
                     for grade in grades])
    return lowest if lowest == highest else PENDING


def _evidence(learner: LearnerGrades, cell: GradedCell, feedback_path) -> Evidence:
    if cell.lab not in learner.submitted:
        return Evidence(cell=cell, grade=None, feedback=None, state=NOT_SUBMITTED)
    if learner.outcome(cell.lab) == "ungradable":
        return Evidence(cell=cell, grade=None, feedback=None, state=UNGRADABLE)
    grade = learner.grades.get((cell.lab, cell.notebook, cell.grade_id))
    if grade is None:  # submitted, but nbgrader holds no grade for the cell: nothing to judge it on
        return Evidence(cell=cell, grade=None, feedback=None, state=UNGRADABLE)
    feedback = feedback_path(learner.learner, cell.lab, cell.notebook)
    return Evidence(cell=cell, grade=grade, feedback=feedback if feedback is not None and feedback.is_file() else None,
                    state="pending" if grade.needs_manual_grade else "graded")


def learner_statuses(learner: LearnerGrades, cells: Iterable[GradedCell], catalogue, feedback_path,
                     observations: Mapping[str, Sequence[Observation]] | None = None) -> list[CriterionStatus]:
    """The learner's status on every criterion of the catalogue, in catalogue order.

    `feedback_path(learner, lab, notebook)` gives where nbgrader writes the learner's feedback HTML (None: not to
    be linked); it is linked only if the file exists. `observations` maps a criterion key to the decisions
    recorded for this learner, newest first (autograde/observations.py `read_observations`).
    """
    evidence_cells = cells_by_criterion(cells)
    observations = observations or {}
    statuses = []
    for key, criterion in catalogue.criteria.items():
        found = evidence_cells.get(key, [])
        evidence = tuple(_evidence(learner, cell, feedback_path) for cell in found)
        submitted_labs = {item.cell.lab for item in evidence if item.state != NOT_SUBMITTED}
        provisional = None
        if not found:
            lab_status = AWAITING_OBSERVATION if criterion.assessment == "outside" else NOT_ASSESSED
        elif not submitted_labs:
            lab_status = NOT_SUBMITTED
        else:
            decision = decide_status([item.grade for item in evidence if item.grade is not None])
            issues = {_OUTCOME_STATUS.get(learner.outcome(lab)) for lab in submitted_labs}
            issue = next((status for status in ISSUES if status in issues), None)
            lab_status = issue or decision
            if issue and decision != NOT_SUBMITTED:
                provisional = decision
        recorded = tuple(observations.get(key, ()))
        status = recorded[0].decision if recorded else lab_status
        times = [learner.submitted[lab] for lab in submitted_labs if learner.submitted[lab] is not None]
        if recorded:
            times = [datetime.combine(recorded[0].observed_on, datetime.min.time())]
        statuses.append(CriterionStatus(
            learner=learner.learner,
            criterion=criterion,
            status=status,
            evidence=evidence,
            submitted_at=max(times, default=None),
            unsandboxed=any(item.grade is not None and item.cell.lab in learner.unsandboxed for item in evidence),
            mode=assessed_mode(criterion, found),
            lab_status=lab_status,
            provisional=provisional,
            observations=recorded,
        ))
    return statuses


def warn_no_submission(learners: Sequence[LearnerGrades]) -> None:
    """Tell the terminal of each learner with no submission at all (they stay in the report, every lab criterion
    `not_submitted`), and of each learner with labs graded without the sandbox (no badge rests on those); the
    pages say it in their own words."""
    notices = [f"learner {learner.learner!r} has no submission in the gradebook: every criterion assessed in "
               "the labs is not_submitted" for learner in learners if not learner.submitted]
    notices += [f"learner {learner.learner!r}: {', '.join(sorted(learner.unsandboxed))}: {UNSANDBOXED_NOTICE} "
                "No badge is issued on this evidence." for learner in learners if learner.unsandboxed]
    for notice in notices:
        log.warning(notice)


def read_gradebook(db_url: str, cells: Sequence[GradedCell]) -> list[LearnerGrades]:
    """Every learner of the gradebook with their submissions, cell grades and grading outcomes, after checking
    that the gradebook and the lab sources name the same graded cells (a mismatch means the sources changed
    after grading).

    Raises GradebookError for a missing, empty or mismatched gradebook; never creates or changes one.
    """
    from nbgrader.api import Gradebook

    where = require_gradebook(db_url)
    with Gradebook(db_url) as gradebook:
        _check_join(where, gradebook, cells)
        learners = [_learner_grades(student) for student in sorted(gradebook.students, key=lambda s: s.id)]
    records = grading_records(db_url)
    learners = [replace(learner,
                        unsandboxed=frozenset(lab for (lab, who), record in records.items()
                                              if who == learner.learner and not record.sandboxed),
                        outcomes={lab: record for (lab, who), record in records.items() if who == learner.learner})
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


def build_report(*, course_dir: Path | None = None, labs_dir: Path = Path("labs"), out_dir: Path = Path("reports"),
                 db_url: str | None = None, catalogue_dir: Path | None = None,
                 language: str = DEFAULT_LANGUAGE) -> list[Path]:
    """Write the competency report of an nbgrader course into `out_dir`, in `language` (fr or en; the
    official texts stay French), and return the files written: cohort.html (a summary per learner and bloc
    or competence, then the criteria x learners map), learners/<learner>.html (every criterion with its
    status and evidence, printable on A4), competency.csv (one row per learner x criterion, for the jury),
    feedback/ (nbgrader's feedback pages, which the other files link at the cell) and
    badges/ (signed Open Badges 3.0, one per acquired criterion: autograde/badges.py). `course_dir` defaults to the
    trainer's course directory (`autograde.course.default_course_dir`), `db_url` to its `gradebook.db`.
    """
    check_language(language)
    catalogue = load_catalogue(catalogue_dir)
    cells = translated_checks(load_tagged_cells(Path(labs_dir), catalogue), language)
    course = Course.at(course_dir)
    db_url = db_url or course.db_url
    learners = read_gradebook(db_url, cells)
    warn_no_submission(learners)
    observations = read_observations(db_url)
    from nbgrader.coursedir import CourseDirectory  # nbgrader is slow to import: only when a report is built

    coursedir = CourseDirectory(root=str(course.root))

    def feedback_path(learner: str, lab: str, notebook: str) -> Path | None:
        page = Path(coursedir.format_path(coursedir.feedback_directory, learner, lab)) / f"{notebook}.html"
        return page if _publishable(page) else None

    statuses = {learner.learner: learner_statuses(learner, cells, catalogue, feedback_path,
                                                  observations.get(learner.learner, {}))
                for learner in learners}
    out_dir = Path(out_dir)
    (out_dir / "learners").mkdir(parents=True, exist_ok=True)
    written = _copy_feedback(statuses, out_dir)
    views = [LearnerView.of(learner, statuses[learner.learner], catalogue) for learner in learners]
    context = {"learners": views, "catalogue": catalogue, "statuses": STATUSES,
               "thresholds": {"cell": CELL_THRESHOLD, "total": TOTAL_THRESHOLD},
               "labs": sorted({cell.lab for cell in cells}), "feedback_link": feedback_link,
               "catalogue_position": {key: position for position, key in enumerate(catalogue.criteria)}}
    rows = [CriterionRow(criterion=criterion, position=position,
                         statuses=[view.statuses[position] for view in views])
            for position, criterion in enumerate(catalogue.criteria.values())]
    written.append(html_report.write(out_dir / "cohort.html", "cohort.html", language=language,
                                     groups=groups(rows, catalogue), **context))
    for view in views:
        written.append(html_report.write(out_dir / "learners" / f"{view.learner.learner}.html", "learner.html",
                                         language=language, view=view,
                                         groups=groups(view.statuses, catalogue), **context))
    written.append(_write_csv(out_dir / "competency.csv", learners, statuses))
    written.extend(write_badges([status for learner in learners for status in statuses[learner.learner]], catalogue,
                                out_dir / "badges", course_dir=course.root))
    return written


def feedback_link(item: Evidence) -> str | None:
    """Where the report's copy of the evidence cell's feedback page is, from the report's folder, at the cell.
    nbgrader's feedback template names an anchor `<grade_id>` before each test cell and `comment-<grade_id>`
    before each answer and task (a task has no other)."""
    if item.feedback is None:
        return None
    anchor = item.cell.grade_id if item.cell.mode == AUTO else f"comment-{item.cell.grade_id}"
    return f"{_feedback_copy(item.feedback).as_posix()}#{anchor}"


@functools.cache
def _publishable(page: Path) -> bool:
    """Whether a feedback page may go into the report: it exists and shows no hidden test. `factorylab feedback`
    writes such pages (autograde/feedback.py); one written by plain `nbgrader generate_feedback` still holds
    the hidden tests, so it is neither copied nor linked, and a warning says how to write it again."""
    if not page.is_file():
        return False
    from nbgrader.preprocessors import ClearHiddenTests

    if ClearHiddenTests().begin_test_delimeter in page.read_text(encoding="utf-8", errors="replace"):
        log.warning("%s shows hidden tests (written by nbgrader's own generate_feedback?): not linked from the "
                    "report; write it again with `factorylab feedback`", page)
        return False
    return True


def _copy_feedback(statuses: Mapping[str, Sequence[CriterionStatus]], out_dir: Path) -> list[Path]:
    """Copy every feedback page an evidence cell links into `<out_dir>/feedback/<learner>/<lab>/`, so the
    report's links stay relative and the report folder can travel (a USB stick, an LMS upload)."""
    copied = []
    sources = {item.feedback for learner in statuses.values() for status in learner for item in status.evidence
               if item.feedback is not None}
    for source in sorted(sources):
        target = out_dir / _feedback_copy(source)
        if target.resolve() == source.resolve():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copied.append(target)
    return copied


def _feedback_copy(source: Path) -> Path:
    """The report's copy of nbgrader's `feedback/<learner>/<lab>/<notebook>.html`, from the report's folder."""
    return Path("feedback") / source.parent.parent.name / source.parent.name / source.name


@dataclass(frozen=True)
class LabView:
    """A learner's submission of a lab as the pages show it: when, how it was graded, its score."""

    lab: str
    submitted_at: datetime | None
    outcome: str
    messages: tuple[str, ...]
    score: float
    max_score: float
    pending: int
    unsandboxed: bool
    feedback: str | None  # the report's copy of the lab's feedback page, from the report's folder


@dataclass(frozen=True)
class LearnerView:
    """A learner with their statuses (catalogue order), submissions, and status counts overall and per bloc or
    competence (unit ID -> status -> count)."""

    learner: LearnerGrades
    statuses: list[CriterionStatus]
    labs: list[LabView]
    counts: dict[str, int]
    by_group: dict[str, dict[str, int]]

    @classmethod
    def of(cls, learner: LearnerGrades, statuses: list[CriterionStatus], catalogue) -> "LearnerView":
        pages = {item.cell.lab: _feedback_copy(item.feedback).as_posix() for status in statuses
                 for item in status.evidence if item.feedback is not None}
        labs = []
        for lab, when in sorted(learner.submitted.items()):
            grades = [grade for (graded_lab, _, _), grade in learner.grades.items() if graded_lab == lab]
            record = learner.outcomes.get(lab)
            outcome = record.outcome if record else "ok"
            labs.append(LabView(
                lab=lab, submitted_at=when, outcome=outcome, messages=record.messages if record else (),
                score=sum(grade.score for grade in grades if not grade.needs_manual_grade),
                max_score=sum(grade.max_score for grade in grades),
                pending=sum(grade.needs_manual_grade for grade in grades) if outcome != "ungradable" else 0,
                unsandboxed=lab in learner.unsandboxed, feedback=pages.get(lab)))
        by_group: dict[str, dict[str, int]] = {}
        for status in statuses:
            counts = by_group.setdefault(criterion_group(status.criterion), dict.fromkeys(STATUSES, 0))
            counts[status.status] += 1
        counts = {code: sum(status.status == code for status in statuses) for code in STATUSES}
        return cls(learner=learner, statuses=statuses, labs=labs, counts=counts, by_group=by_group)


@dataclass(frozen=True)
class CriterionRow:
    """A criterion with every learner's status on it, in the learners' order: a row of the cohort's map."""

    criterion: object
    position: int
    statuses: list[CriterionStatus]

    @property
    def mode(self) -> str:
        return self.statuses[0].mode if self.statuses else "none"

    @property
    def acquired(self) -> int:
        return sum(status.status == ACQUIRED for status in self.statuses)

    @property
    def present(self) -> list[str]:
        """The statuses at least one learner has on the criterion, for the page's status filter."""
        return [code for code in STATUSES if any(status.status == code for status in self.statuses)]


def evidence_text(status: CriterionStatus) -> str:
    """Every evidence cell and recorded decision of a status in one line, for the CSV."""
    parts = []
    for item in status.evidence:
        cell = item.cell
        state = {NOT_SUBMITTED: "not submitted", UNGRADABLE: "unreadable notebook, not graded",
                 "pending": f"awaiting manual grade /{item.grade.max_score:g}" if item.grade else ""}.get(
            item.state, f"{item.grade.score:g}/{item.grade.max_score:g}" if item.grade else "")
        parts.append(f"{cell.lab}/{cell.notebook}/{cell.grade_id} ({cell.mode}) {state}: {cell.checks}")
    for observation in status.observations:
        parts.append(f"{observation.context} {observation.observed_on.isoformat()} by {observation.assessor}: "
                     f"{observation.decision}: {observation.evidence}")
    if not parts:
        return "no lab cell evidences this criterion"
    return "; ".join(parts)


CSV_FIELDS = ("learner", "name", "referential", "group", "criterion_id", "criterion_key", "mode", "status",
              "decided_by", "provisional", "score", "max_score", "pending_points", "sandboxed", "evidence",
              "feedback")


def _write_csv(path: Path, learners: Sequence[LearnerGrades], statuses: dict[str, list[CriterionStatus]]) -> Path:
    """One row per learner x criterion. `status` is a code of STATUSES; `decided_by` says whether a recorded
    decision or the lab scores gave it; `score` / `max_score` are the points of the cells graded so far and
    `pending_points` those of the cells awaiting a manual grade (empty when nothing is graded); `feedback`
    lists the report's copies of the feedback pages, relative to this file, at the cell."""
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for learner in learners:
            for status in statuses[learner.learner]:
                criterion = status.criterion
                scored = [item for item in status.graded if not item.awaiting]
                links = dict.fromkeys(link for link in map(feedback_link, status.evidence) if link)
                writer.writerow({
                    "learner": learner.learner, "name": learner.name, "referential": criterion.referential,
                    "group": criterion_group(criterion), "criterion_id": criterion.id,
                    "criterion_key": criterion.key, "mode": status.mode, "status": status.status,
                    "decided_by": status.decided_by, "provisional": status.provisional or "",
                    "score": f"{status.score:g}" if scored else "",
                    "max_score": f"{status.max_score:g}" if scored else "",
                    "pending_points": f"{status.pending_points:g}" if status.pending_points else "",
                    "sandboxed": ("no" if status.unsandboxed else "yes") if status.graded else "",
                    "evidence": evidence_text(status), "feedback": " ".join(links),
                })
    return path
