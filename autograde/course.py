"""Where the trainer's nbgrader course directory lives, and the nbgrader configuration factorylab grades with.

The repository's `labs/<lab>/` holds the lab sources; everything nbgrader makes from them and from the
learners' work lives in the course directory, outside git, because it holds learners' personal data and the
solutions: `source/` (the labs as released, with solutions and hidden tests), `release/` (the learners'
versions), `submitted/<learner>/<lab>/`, `autograded/`, `feedback/` and `gradebook.db`, nbgrader's own layout.
Its place, in order: the `course_dir` argument (`--course DIR`), `$FACTORYLAB_COURSE`, else
`$XDG_DATA_HOME/factorylab/course` (`~/.local/share/factorylab/course`).

factorylab's own working files (the staged submissions the grader reads) go under `<course>/.factorylab/`.
"""

import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

from autograde.errors import GradeError

COURSE_ENV = "FACTORYLAB_COURSE"
WORK_DIR = ".factorylab"
DEFAULT_LABS_DIR = Path("labs")


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

    @classmethod
    def at(cls, course_dir: Path | None = None) -> "Course":
        return cls(Path(course_dir or default_course_dir()).expanduser().resolve())

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

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
