"""Where the trainer's nbgrader course directory lives, and the nbgrader configuration factorylab grades with.

The repository's `labs/<lab>/` holds the lab sources; everything nbgrader makes from them and from the
learners' work lives in the course directory, outside git, because it holds learners' personal data and the
solutions: `source/` (the labs as released, with solutions and hidden tests), `release/` (the learners'
versions), `submitted/<learner>/<lab>/`, `autograded/`, `feedback/` and `gradebook.db`, nbgrader's own layout.
Its place, in order: the `course_dir` argument (`--course DIR`), `$FACTORYLAB_COURSE`, else
`$XDG_DATA_HOME/factorylab/course` (`~/.local/share/factorylab/course`).

factorylab's own working files (the staged submissions the grader reads) go under `<course>/.factorylab/`.

The gradebook is `<course>/gradebook.db` (SQLite) unless the course's own nbgrader configuration,
`<course>/nbgrader_config.py`, names a database server: `c.CourseDirectory.db_url = "postgresql+pg8000://…"`,
with the course's id, `c.CourseDirectory.course_id` (a server enforces the gradebook's link from each lab to
its course, which SQLite leaves unchecked). That file is nbgrader's, so nbgrader's own commands and its
formgrader, run in the course folder, use the same database and course; factorylab reads only these two
settings from it. A training centre's deployment uses PostgreSQL (course/guides/deployment.md), reached
through pg8000, the PostgreSQL driver factorylab installs.

The course's own settings are in `<course>/course.toml`: `language = "fr"` or `"en"`, the language its labs are
released in (`factorylab release` without `--lang`; autograde/release.py). Without the file, or the setting,
French, the language of the certifications.
"""

import importlib.util
import logging
import os
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from traitlets.config import Config, PyFileConfigLoader

from autograde.errors import GradeError
from autograde.i18n import DEFAULT_LANGUAGE, LANGUAGES

COURSE_ENV = "FACTORYLAB_COURSE"
WORK_DIR = ".factorylab"
DEFAULT_LABS_DIR = Path("labs")
NBGRADER_CONFIG = "nbgrader_config.py"
SETTINGS_FILE = "course.toml"


def default_course_dir() -> Path:
    """The course directory when none is given: `$FACTORYLAB_COURSE`, else under the user's data folder."""
    if os.environ.get(COURSE_ENV):
        return Path(os.environ[COURSE_ENV])
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "factorylab" / "course"


@dataclass(frozen=True)
class Course:
    """An nbgrader course directory, by nbgrader's own folder names."""

    root: Path
    database_url: str | None = None  # a database server's URL; None: gradebook.db in the course folder
    course_id: str = ""  # nbgrader's CourseDirectory.course_id ("" as nbgrader leaves it by default)
    language: str = DEFAULT_LANGUAGE  # the labs' release language (course.toml)

    @classmethod
    def at(cls, course_dir: Path | None = None) -> "Course":
        root = Path(course_dir or default_course_dir()).expanduser().resolve()
        return cls(root, *configured_database(root), language=configured_language(root))

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.root / 'gradebook.db'}"

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def release(self) -> Path:
        return self.root / "release"

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    @property
    def staged(self) -> Path:
        """Copies of the submissions as the grader feeds them to nbgrader (unreadable notebooks left out)."""
        return self.root / WORK_DIR / "staged"

    def released_labs(self) -> list[str]:
        """The labs with a learners' version in `release/`, in name order."""
        if not self.release.is_dir():
            return []
        return sorted(path.name for path in self.release.iterdir() if path.is_dir() and not path.name.startswith("."))

    def chosen_labs(self, labs: Sequence[str], error: type[Exception] = GradeError) -> list[str]:
        """`labs`, or every released lab when none is named; `error` naming the released labs if one is not."""
        labs = list(labs) or self.released_labs()
        unknown = [lab for lab in labs if not (self.release / lab).is_dir()]
        if unknown:
            raise error(f"{self.release}: no released lab {', '.join(map(repr, unknown))}: run `factorylab "
                        f"release` first (released: {', '.join(self.released_labs()) or 'none'})")
        return labs

    def submitters(self, lab: str) -> list[str]:
        """The learners with a `submitted/<learner>/<lab>/` folder, in name order."""
        if not self.submitted.is_dir():
            return []
        return sorted(path.name for path in self.submitted.iterdir() if (path / lab).is_dir())


def configured_database(root: Path) -> tuple[str | None, str]:
    """The gradebook's URL and the course id the course's `nbgrader_config.py` sets (`c.CourseDirectory.db_url`,
    `c.CourseDirectory.course_id`): (None, "") without that file."""
    path = root / NBGRADER_CONFIG
    if not path.is_file():
        return None, ""
    try:
        config = PyFileConfigLoader(NBGRADER_CONFIG, path=str(root)).load_config()
    except Exception as error:  # the trainer's Python file: any error it raises
        raise GradeError(f"{path}: cannot be read ({type(error).__name__}: {error}); fix it or remove it") from error
    url, course_id = config.get("CourseDirectory", {}).get("db_url"), config.get("CourseDirectory", {}).get("course_id")
    course_id = str(course_id or "")
    if not url:
        return None, course_id
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise GradeError(f"{path}: CourseDirectory.db_url {url!r} is not a database URL ({error}); e.g. "
                         "postgresql+pg8000://grader@/course?unix_sock=/run/postgresql/.s.PGSQL.5432") from error
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "pg8000" \
            and importlib.util.find_spec(parsed.get_driver_name()) is None:
        raise GradeError(f"{path}: CourseDirectory.db_url uses the PostgreSQL driver {parsed.get_driver_name()!r}, "
                         "which is not installed: write the URL as postgresql+pg8000://… (pg8000 is installed)")
    if parsed.get_backend_name() != "sqlite" and not course_id:
        raise GradeError(f"{path}: a gradebook on a database server needs the course's id: add "
                         "c.CourseDirectory.course_id = \"<your course>\"")
    return url, course_id


def configured_language(root: Path) -> str:
    """The language the course at `root` releases its labs in: `language` in its course.toml, else French."""
    path = root / SETTINGS_FILE
    if not path.is_file():
        return DEFAULT_LANGUAGE
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise GradeError(f"{path}: not valid TOML ({error}); fix it or remove it") from error
    unknown = sorted(set(settings) - {"language"})
    if unknown:
        raise GradeError(f"{path}: unknown setting(s) {', '.join(unknown)}: the course's settings are: language")
    language = settings.get("language", DEFAULT_LANGUAGE)
    if language not in LANGUAGES:
        raise GradeError(f"{path}: language = {language!r}: not a language of factorylab: write one of "
                         f"{', '.join(map(repr, LANGUAGES))}")
    return language


def _put_own_scripts_on_path() -> None:
    """Make the tools installed beside this interpreter callable, as when its virtual environment is active.

    nbgrader runs `alembic` as a command to create a gradebook, and would not find it when factorylab runs as
    `.venv/bin/factorylab` (or from Python) without `.venv` activated.
    """
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def nbgrader_config(course: Course, *, cell_timeout_s: int = 30) -> Config:
    """The nbgrader configuration every factorylab verb runs with: the course folder and its gradebook.

    Nothing else differs from nbgrader's defaults, so `nbgrader` commands run in the course folder see the
    same course (a trainer may still use nbgrader's formgrader for manual grading).
    """
    _put_own_scripts_on_path()
    config = Config()
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.db_url = course.db_url
    config.CourseDirectory.course_id = course.course_id
    # factorylab moves no files through nbgrader's exchange; an (empty) exchange inside the course keeps
    # nbgrader from reporting that the system-wide default (/usr/local/share/nbgrader/exchange) is unwritable.
    exchange = course.root / WORK_DIR / "exchange"
    exchange.mkdir(parents=True, exist_ok=True)
    config.Exchange.root = str(exchange)
    config.Execute.timeout = cell_timeout_s
    # nbgrader logs every step, and a checksum warning for every hidden test of every submission; factorylab's
    # own summary says what happened. nbgrader logs at the level the `traitlets` logger is given (the command
    # line raises it to ERROR unless --debug); its API would otherwise reset that logger to INFO.
    config.NbGraderAPI.log_level = logging.getLogger("traitlets").getEffectiveLevel()
    return config
