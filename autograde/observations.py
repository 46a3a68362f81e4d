"""Decisions on criteria recorded by a trainer or a jury: what the labs cannot assess, and what they leave to a person.

Some criteria are judged outside the labs (the catalogue's `outside`: an observation at work, the oral before
the jury, a written document such as the RNCP's E1, the company placement); a flagged submission or a grading
incident also needs a person to settle it. `factorylab observe` records such a decision: the learner, the
criterion, acquired or not, the evidence in words, who assessed it, on which day and in which context. The
competency report shows it beside the lab evidence, and it gives the criterion its status
(autograde/competency.py, rule 1).

Decisions are kept in the course's own database, the gradebook's (table `factorylab_observation`, beside
nbgrader's tables, through SQLAlchemy: SQLite and PostgreSQL alike), never in a side file, so they follow the
course and its backups. A decision is never edited or deleted: a later one supersedes it and the report lists
both, so the record of who decided what stays whole.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    inspect,
    select,
)

from autograde.catalogue import load_catalogue
from autograde.course import Course
from autograde.errors import CatalogueError, EvaluationError
from autograde.gradebook import require_gradebook
from autograde.sheets import read_sheet

DECISIONS = ("acquired", "not_acquired")
CONTEXTS = ("observation", "oral", "document", "in_company")
"""observation: seen at work or in session; oral: before the jury; document: a written piece the jury read
(the RNCP's E1 to E4); in_company: reported by the company during the placement."""
CSV_COLUMNS = ("learner", "criterion", "decision", "evidence", "assessor", "context", "date")

_METADATA = MetaData()
OBSERVATION = Table(
    "factorylab_observation", _METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("student", String(128), nullable=False, index=True),
    Column("criterion", String(64), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("context", String(16), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("assessor", String(128), nullable=False),
    Column("observed_on", Date, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
)


@dataclass(frozen=True)
class Observation:
    """One recorded decision; `criterion` is the catalogue key."""

    learner: str
    criterion: str
    decision: str
    context: str
    evidence: str
    assessor: str
    observed_on: date
    recorded_at: datetime | None = None
    id: int | None = None


def record_observation(*, learner: str, criterion: str, decision: str, evidence: str, assessor: str,
                       context: str = "observation", observed_on: date | None = None,
                       course_dir: Path | None = None, db_url: str | None = None,
                       catalogue_dir: Path | None = None) -> Observation:
    """Record a decision on `criterion` for `learner` in the course's database (default: the course
    directory's gradebook) and return it. EvaluationError names what is wrong; nothing is recorded then."""
    db_url = db_url or Course.at(course_dir).db_url
    observation = Observation(learner=learner, criterion=criterion, decision=decision, context=context,
                              evidence=evidence, assessor=assessor, observed_on=observed_on or date.today())
    [saved] = _save(db_url, [observation], catalogue_dir, lines=[""])
    return saved


def import_observations(csv_path: Path, *, course_dir: Path | None = None, db_url: str | None = None,
                        catalogue_dir: Path | None = None) -> list[Observation]:
    """Record every decision of a CSV file (columns: learner, criterion, decision, evidence, assessor, and
    optionally context and date as YYYY-MM-DD; as Excel saves it, autograde/sheets.py), all or none: one bad
    line refuses the file, naming every bad line and field."""
    db_url = db_url or Course.at(course_dir).db_url
    path = Path(csv_path)
    rows = read_sheet(path, CSV_COLUMNS[:5], CSV_COLUMNS[5:])
    if not rows:
        raise EvaluationError(f"{path}: no decision in the file (one per line under the header "
                              f"{','.join(CSV_COLUMNS)})")
    observations, problems = [], []
    for line, row in rows:
        try:
            observations.append(Observation(
                learner=row["learner"], criterion=row["criterion"], decision=row["decision"],
                context=row.get("context") or "observation", evidence=row["evidence"], assessor=row["assessor"],
                observed_on=_day(row.get("date"), f"{path}: line {line}: date")))
        except EvaluationError as error:
            problems.append(str(error))
    if problems:
        raise EvaluationError("; ".join(problems))
    return _save(db_url, observations, catalogue_dir, lines=[f"{path}: line {line}: " for line, _ in rows])


def read_observations(db_url: str) -> dict[str, dict[str, list[Observation]]]:
    """learner -> criterion key -> the decisions recorded, newest first (by day, then by recording)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(OBSERVATION.name):
                return {}
            rows = connection.execute(select(OBSERVATION).order_by(
                OBSERVATION.c.observed_on.desc(), OBSERVATION.c.id.desc())).mappings().all()
    finally:
        engine.dispose()
    found: dict[str, dict[str, list[Observation]]] = {}
    for row in rows:
        found.setdefault(row["student"], {}).setdefault(row["criterion"], []).append(Observation(
            learner=row["student"], criterion=row["criterion"], decision=row["decision"], context=row["context"],
            evidence=row["evidence"], assessor=row["assessor"], observed_on=row["observed_on"],
            recorded_at=row["recorded_at"], id=row["id"]))
    return found


def _day(text: str | None, where: str) -> date:
    if not text or not text.strip():
        return date.today()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise EvaluationError(f"{where}: {text.strip()!r} is not a date: write it YYYY-MM-DD") from None


def _save(db_url: str, observations: Sequence[Observation], catalogue_dir: Path | None,
          lines: Sequence[str]) -> list[Observation]:
    """Check every observation (`lines`: where each comes from, for the messages), then record them all in
    one transaction."""
    place = require_gradebook(db_url)
    catalogue = load_catalogue(catalogue_dir)
    known = _learners(db_url)
    problems = []
    for line, observation in zip(lines, observations, strict=True):
        problems += [f"{line}{problem}" for problem in _problems(observation, catalogue, known, place)]
    if problems:
        raise EvaluationError("; ".join(problems))
    now = datetime.now(UTC).replace(tzinfo=None)
    engine = create_engine(db_url)
    saved = []
    try:
        _METADATA.create_all(engine, tables=[OBSERVATION])
        with engine.begin() as connection:
            for observation in observations:
                values = {"student": observation.learner, "criterion": observation.criterion,
                          "decision": observation.decision, "context": observation.context,
                          "evidence": observation.evidence, "assessor": observation.assessor,
                          "observed_on": observation.observed_on, "recorded_at": now}
                key = connection.execute(insert(OBSERVATION).values(**values)).inserted_primary_key[0]
                saved.append(Observation(learner=observation.learner, criterion=observation.criterion,
                                         decision=observation.decision, context=observation.context,
                                         evidence=observation.evidence, assessor=observation.assessor,
                                         observed_on=observation.observed_on, recorded_at=now, id=key))
    finally:
        engine.dispose()
    return saved


def _problems(observation: Observation, catalogue, known: Iterable[str], place: str) -> list[str]:
    problems = []
    if observation.learner not in known:
        listed = sorted(known)
        problems.append(f"learner {observation.learner!r} is not in the gradebook {place} (learners: "
                        f"{', '.join(listed[:20]) or 'none'}{' …' if len(listed) > 20 else ''}): check the id, or add "
                        "them with `nbgrader db student add`")
    try:
        catalogue.criterion(observation.criterion)
    except CatalogueError as error:
        problems.append(f"criterion: {str(error).split(': ', 1)[-1]}")
    if observation.decision not in DECISIONS:
        problems.append(f"decision {observation.decision!r}: must be one of {', '.join(DECISIONS)}")
    if observation.context not in CONTEXTS:
        problems.append(f"context {observation.context!r}: must be one of {', '.join(CONTEXTS)}")
    if not observation.evidence.strip():
        problems.append("evidence: say in words what was observed or read, and where (it is shown to the jury)")
    if not observation.assessor.strip():
        problems.append("assessor: name who decided (trainer, jury member, tutor)")
    if observation.observed_on > date.today():
        problems.append(f"date {observation.observed_on.isoformat()} is in the future")
    return problems


def _learners(db_url: str) -> set[str]:
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        return {student.id for student in gradebook.students}
