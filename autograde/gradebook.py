"""The course's database as the evaluators' verbs find it: nbgrader's gradebook, and no other.

`factorylab report`, `mark` and `observe` read and write a gradebook nbgrader made (`<course>/gradebook.db`, or
any database URL nbgrader accepts, PostgreSQL included). Opening a missing SQLite file would create an empty
database, and a mistyped `--course` would then record a jury's decision where nobody looks: each of them calls
`require_gradebook` first, which refuses a missing or foreign database with a message naming it.
"""

from pathlib import Path

from autograde.errors import GradebookError


def display_url(db_url: str) -> str:
    """Where the database is, to name it in a message: the SQLite file, or the URL without its password."""
    if db_url.startswith("sqlite:///"):
        return db_url.removeprefix("sqlite:///")
    from sqlalchemy.engine import make_url

    return make_url(db_url).render_as_string(hide_password=True)


def require_gradebook(db_url: str) -> str:
    """`display_url(db_url)`, once it is known to hold an nbgrader gradebook; GradebookError otherwise.
    Never creates or changes a database."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.exc import SQLAlchemyError

    where = display_url(db_url)
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
    return where
