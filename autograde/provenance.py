"""How each submission was graded, kept beside nbgrader's tables in the gradebook's own database.

nbgrader's gradebook records scores, not how they were obtained. Two things the reports need are only known
to `factorylab grade`, so they are kept here, one row per (lab, learner) in the table `factorylab_grading`:

- whether the kernel ran in the sandbox. A grade obtained without it (`factorylab grade --unsafe`) is not fit
  for certification: the learner's code could have read the references and rewritten the course. Every page
  built on the gradebook must say so (feedback pages, the competency report, the exports) and no badge may
  rest on it;
- the grading outcome (autograde/grade.py): `ok`, `flagged`, `incident`, `ungradable` or `error`, and the
  messages that explain it. nbgrader scores an unreadable notebook zero like a wrong one; this outcome is what
  lets a report tell "could not be read" from "failed".

The table lives in the gradebook's database, so it follows the gradebook to a server database (any URL
SQLAlchemy and nbgrader accept); a regrade replaces the row, and with it the warning and the outcome. A table
written by an older factorylab (without the outcome columns) gains them on the next write.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    inspect,
    select,
    text,
)

UNSANDBOXED_NOTICE = ("Graded without the sandbox (factorylab grade --unsafe): the learner's code could read the "
                      "references and change the trainer's files. These grades are not fit for certification; "
                      "grade again in the sandbox.")
OUTCOMES = ("ok", "flagged", "incident", "ungradable", "error")

_METADATA = MetaData()
GRADING = Table(
    "factorylab_grading", _METADATA,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("sandboxed", Boolean, nullable=False),
    Column("graded_at", DateTime, nullable=False),
    Column("outcome", String(16), nullable=True),  # None: written by a factorylab that did not record it
    Column("messages", Text, nullable=True),  # JSON list of the grader's messages
)
_ADDED_COLUMNS = {"outcome": "VARCHAR(16)", "messages": "TEXT"}


@dataclass(frozen=True)
class GradingRecord:
    """How one submission was last graded: in the sandbox or not, its outcome and the grader's messages."""

    lab: str
    learner: str
    sandboxed: bool
    outcome: str
    messages: tuple[str, ...]
    graded_at: datetime


def _upgrade(connection) -> None:
    """Add the outcome columns to a table an older factorylab created (plain SQL both SQLite and PostgreSQL read)."""
    present = {column["name"] for column in inspect(connection).get_columns(GRADING.name)}
    for name, sql_type in _ADDED_COLUMNS.items():
        if name not in present:
            connection.execute(text(f"ALTER TABLE {GRADING.name} ADD COLUMN {name} {sql_type}"))


def record_grading(db_url: str, lab: str, learner: str, *, sandboxed: bool, outcome: str = "ok",
                   messages: Sequence[str] = ()) -> None:
    """Record how `learner`'s `lab` was just graded (replacing what an earlier run recorded)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"grading outcome {outcome!r}: must be one of {', '.join(OUTCOMES)}")
    engine = create_engine(db_url)
    try:
        _METADATA.create_all(engine, tables=[GRADING])
        with engine.begin() as connection:
            _upgrade(connection)
            connection.execute(delete(GRADING).where(GRADING.c.assignment == lab, GRADING.c.student == learner))
            connection.execute(insert(GRADING).values(
                assignment=lab, student=learner, sandboxed=sandboxed, outcome=outcome,
                messages=json.dumps(list(messages), ensure_ascii=False),
                graded_at=datetime.now(UTC).replace(tzinfo=None)))
    finally:
        engine.dispose()


def grading_records(db_url: str) -> dict[tuple[str, str], GradingRecord]:
    """(lab, learner) -> how that submission was last graded; empty for a gradebook factorylab never graded.
    A row from before outcomes were recorded reads as `ok` with no message."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(GRADING.name):
                return {}
            columns = {column["name"] for column in inspect(connection).get_columns(GRADING.name)}
            wanted = [GRADING.c.assignment, GRADING.c.student, GRADING.c.sandboxed, GRADING.c.graded_at]
            wanted += [GRADING.c[name] for name in _ADDED_COLUMNS if name in columns]
            records = {}
            for row in connection.execute(select(*wanted)).mappings():
                records[(row["assignment"], row["student"])] = GradingRecord(
                    lab=row["assignment"], learner=row["student"], sandboxed=bool(row["sandboxed"]),
                    outcome=row.get("outcome") or "ok",
                    messages=tuple(json.loads(row.get("messages") or "[]")), graded_at=row["graded_at"])
            return records
    finally:
        engine.dispose()


def unsandboxed(db_url: str) -> set[tuple[str, str]]:
    """The (lab, learner) submissions whose last grading ran without the sandbox (none in a gradebook that
    factorylab never graded)."""
    return {key for key, record in grading_records(db_url).items() if not record.sandboxed}
