"""How each submission was graded, kept beside nbgrader's tables in the gradebook's own database.

nbgrader's gradebook records scores, not how they were obtained. A grade obtained without the sandbox
(`factorylab grade --unsafe`) is not fit for certification: the learner's code could have read the references
and rewritten the course. Every page built on the gradebook must say so (feedback pages, the competency report,
the exports) and no badge may rest on it. The table `factorylab_grading` holds one row per (lab, learner):
whether the kernel ran in the sandbox, and when. It lives in the gradebook's database, so it follows the
gradebook to a server database; a regrade in the sandbox replaces the row, and with it the warning.
"""

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    insert,
    inspect,
    select,
)

UNSANDBOXED_NOTICE = ("Graded without the sandbox (factorylab grade --unsafe): the learner's code could read the "
                      "references and change the trainer's files. These grades are not fit for certification; "
                      "grade again in the sandbox.")

_METADATA = MetaData()
GRADING = Table(
    "factorylab_grading", _METADATA,
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("sandboxed", Boolean, nullable=False),
    Column("graded_at", DateTime, nullable=False),
)


def record_grading(db_url: str, lab: str, learner: str, *, sandboxed: bool) -> None:
    """Record how `learner`'s `lab` was just graded (replacing what an earlier run recorded)."""
    engine = create_engine(db_url)
    try:
        _METADATA.create_all(engine, tables=[GRADING])
        with engine.begin() as connection:
            connection.execute(delete(GRADING).where(GRADING.c.assignment == lab, GRADING.c.student == learner))
            connection.execute(insert(GRADING).values(assignment=lab, student=learner, sandboxed=sandboxed,
                                                      graded_at=datetime.now(UTC).replace(tzinfo=None)))
    finally:
        engine.dispose()


def unsandboxed(db_url: str) -> set[tuple[str, str]]:
    """The (lab, learner) submissions whose last grading ran without the sandbox (none in a gradebook that
    factorylab never graded)."""
    engine = create_engine(db_url)
    try:
        if not inspect(engine).has_table(GRADING.name):
            return set()
        with engine.connect() as connection:
            rows = connection.execute(select(GRADING.c.assignment, GRADING.c.student)
                                      .where(GRADING.c.sandboxed.is_(False)))
            return {(lab, learner) for lab, learner in rows}
    finally:
        engine.dispose()
