"""Import a cohort's notebooks from an LMS download (a folder or a zip) into nbgrader's `submitted/` layout.

LMS downloads hold one folder or one file per learner. A notebook is placed when its path names a learner and
a released lab's notebook:
- `<learner>/<notebook>.ipynb` (a folder per learner; Moodle's `Ada Lovelace_123_assignsubmission_file_/`
  folders give the learner `ada_lovelace`), or
- `<learner>_<notebook>.ipynb` / `<notebook>_<learner>.ipynb` (flat files).
Learner IDs are the name in lower case with runs of other characters than letters and digits made `_`.
A roster (CSV with columns `name,learner`) maps names as they appear to the IDs the course uses, and then
only listed learners are placed. Everything not placed is reported with why; nothing is overwritten unless
`replace=True`. Each placed submission gets nbgrader's `timestamp.txt` from the file's time in the download.
"""

import csv
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from autograde.course import Course
from autograde.errors import CollectError

MOODLE_SUFFIX = re.compile(r"_\d+_assignsubmission_\w+_?$")


@dataclass(frozen=True)
class Collected:
    """What `collect` did: (learner, lab, path placed) rows, and (path in the download, why not) rows."""

    placed: list[tuple[str, str, Path]]
    skipped: list[tuple[str, str]]


def learner_id(name: str) -> str:
    """`Ada Lovelace_123_assignsubmission_file_` -> `ada_lovelace`."""
    return re.sub(r"[^a-z0-9]+", "_", MOODLE_SUFFIX.sub("", name).lower()).strip("_")


def _roster(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    try:
        with Path(path).open(newline="") as file:
            rows = list(csv.DictReader(file))
    except OSError as error:
        raise CollectError(f"{path}: cannot read the roster ({error})") from error
    if rows and not {"name", "learner"} <= set(rows[0]):
        raise CollectError(f"{path}: roster columns must include 'name' and 'learner', got {sorted(rows[0])}")
    return {learner_id(row["name"]): row["learner"] for row in rows}


def collect(*, source: Path, course_dir: Path | None = None, roster: Path | None = None,
            replace: bool = False) -> Collected:
    """Place every notebook of `source` (folder or .zip) into `submitted/<learner>/<lab>/`."""
    course = Course.at(course_dir)
    source = Path(source)
    notebooks = {path.stem: lab for lab in course.released_labs() for path in (course.release / lab).glob("*.ipynb")}
    if not notebooks:
        raise CollectError(f"{course.release}: no released lab: run `factorylab release` first")
    names = _roster(roster)
    with tempfile.TemporaryDirectory() as scratch:
        if zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as archive:
                archive.extractall(scratch)
            root = Path(scratch)
        elif source.is_dir():
            root = source
        else:
            raise CollectError(f"{source}: neither a folder nor a zip file")
        return _place(course, root, notebooks, names, replace)


def _place(course: Course, root: Path, notebooks: dict[str, str], names: dict[str, str] | None,
           replace: bool) -> Collected:
    placed, skipped = [], []
    for path in sorted(root.rglob("*")):
        relative = str(path.relative_to(root))
        if not path.is_file() or "__MACOSX" in relative or ".ipynb_checkpoints" in relative:
            continue
        if path.suffix != ".ipynb":
            skipped.append((relative, "not a notebook"))
            continue
        found = _match(path.relative_to(root), notebooks)
        if found is None:
            skipped.append((relative, f"names no learner and released notebook ({', '.join(sorted(notebooks))})"))
            continue
        name, notebook = found
        learner = names.get(name) if names is not None else name
        if not learner:
            skipped.append((relative, f"learner {name!r} is not in the roster"))
            continue
        target = course.submitted / learner / notebooks[notebook] / f"{notebook}.ipynb"
        if target.exists() and not replace:
            skipped.append((relative, f"{target} exists (pass replace to overwrite)"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
        (target.parent / "timestamp.txt").write_text(stamp + "\n")
        placed.append((learner, notebooks[notebook], target))
    return Collected(placed=placed, skipped=skipped)


def _match(relative: Path, notebooks: dict[str, str]) -> tuple[str, str] | None:
    """(learner name, notebook) read from a path in the download, or None."""
    stem = relative.stem
    if len(relative.parts) > 1 and stem in notebooks:
        return learner_id(relative.parts[0]), stem
    for notebook in sorted(notebooks, key=len, reverse=True):
        for pattern in (rf"^(?P<who>.+?)[_\- ]+{re.escape(notebook)}$", rf"^{re.escape(notebook)}[_\- ]+(?P<who>.+)$"):
            match = re.match(pattern, stem)
            if match and learner_id(match["who"]):
                return learner_id(match["who"]), notebook
    return None
