"""Release labs: check the sources, then let nbgrader make the learners' versions, then check those.

For each lab, the notebook of `labs/<lab>/` and the assets it declares (`metadata.factorylab.assets`, glob
patterns relative to the lab's folder) are copied to the course's `source/<lab>/`: nothing else of the folder,
where running the solution (nbval) leaves its outputs, which would hand learners the answers. nbgrader's
`generate_assignment` does the rest: it validates nbgrader's cell metadata, records the lab in
the gradebook and writes `release/<lab>/` without solutions and hidden tests. Before that, the criteria tags
of every graded cell are validated against the catalogue (autograde/criteria_tags.py).

After it, unless `check=False`, the release checks itself by grading, in a scratch copy of the course, the
solution (the source notebook) and the blank release as two learners: the solution must score full marks on
every autograded test cell, and the blank release zero on each. A test that the stub passes, or that the
solution fails, is caught here rather than in a learner's grade.

A lab is released in one language (`language`, else the course's setting, else French): its copy in `source/`
is the lab translated through its catalogue (autograde/i18n_notebook.py: texts only, the code and grading
metadata unchanged), and nbgrader's placeholder for written answers is in that language too. A text without a
translation yet stays in English, and a warning says how many.
"""

import logging
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI

from autograde import i18n, i18n_notebook
from autograde.catalogue import load_catalogue
from autograde.course import DEFAULT_LABS_DIR, Course, nbgrader_config
from autograde.criteria_tags import validate_lab_tags
from autograde.errors import ReleaseError, TagError
from autograde.sandbox import DEFAULT_LIMITS, Limits

SOLUTION_LEARNER = "_solution"
BLANK_LEARNER = "_blank"
_IGNORED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")
log = logging.getLogger(__name__)


def available_labs(labs_dir: Path = DEFAULT_LABS_DIR) -> list[str]:
    """The labs under `labs_dir`: folders `<lab>/` holding `<lab>.ipynb`, in name order."""
    labs_dir = Path(labs_dir)
    if not labs_dir.is_dir():
        return []
    return sorted(path.name for path in labs_dir.iterdir() if (path / f"{path.name}.ipynb").is_file())


def release(*, labs_dir: Path = DEFAULT_LABS_DIR, course_dir: Path | None = None, labs: Sequence[str] = (),
            check: bool = True, catalogue_dir: Path | None = None, limits: Limits = DEFAULT_LIMITS,
            language: str | None = None) -> list[Path]:
    """Release `labs` (default: every lab under `labs_dir`) into the course, in `language` (default: the
    course's); return the released folders."""
    course = Course.at(course_dir)
    language = i18n.check_language(language or course.language)
    labs = list(labs) or available_labs(labs_dir)
    if not labs:
        raise ReleaseError(f"{labs_dir}: no lab found: expected <lab>/<lab>.ipynb folders")
    missing = [lab for lab in labs if not (Path(labs_dir) / lab / f"{lab}.ipynb").is_file()]
    if missing:
        raise ReleaseError(f"{labs_dir}: no source notebook for {', '.join(map(repr, missing))}: expected "
                           f"<lab>/<lab>.ipynb (labs found: {', '.join(available_labs(labs_dir)) or 'none'})")
    _validate_tags([Path(labs_dir) / lab / f"{lab}.ipynb" for lab in labs], catalogue_dir)
    config = nbgrader_config(course)
    config.ClearSolutions.text_stub = i18n.translations("cli", language).gettext("YOUR ANSWER HERE")
    api = NbGraderAPI(config=config)
    for lab in labs:
        target = course.source / lab
        shutil.rmtree(target, ignore_errors=True)
        copy_lab(Path(labs_dir) / lab, target)
        translate_lab(target / f"{lab}.ipynb", lab, language)
        result = api.generate_assignment(lab, force=True)
        if not result["success"]:
            raise ReleaseError(f"{Path(labs_dir) / lab / f'{lab}.ipynb'}: nbgrader refused it:\n"
                               + _errors(result))
    if check:
        check_release(course=course, labs=labs, limits=limits, labs_dir=labs_dir)
    return [course.release / lab for lab in labs]


def translate_lab(path: Path, lab: str, language: str) -> None:
    """Translate the lab notebook at `path` in place into `language` through the lab's catalogue (a lab that is
    not one of the repository's, or has no catalogue yet, stays in English), warning of texts left in English."""
    if language == i18n.SOURCE_LANGUAGE:
        return
    if lab not in i18n.lab_domains():
        log.warning("%s: not one of factorylab's labs, so without a catalogue: released in English", lab)
        return
    translator = i18n.Translator(lab, language)
    nbformat.write(i18n_notebook.translate_notebook(nbformat.read(path, as_version=4), translator), path)
    if translator.missing:
        log.warning("%s: %d text(s) not translated into %s yet, released in English (locale/README.md)",
                    lab, len(translator.missing), language)


def _validate_tags(paths: list[Path], catalogue_dir: Path | None) -> None:
    problems = validate_lab_tags(paths, load_catalogue(catalogue_dir))
    if problems:
        raise TagError(f"{len(problems)} criteria tag problem(s):\n"
                       + "\n".join(f"  - {problem}" for problem in problems))


def _errors(result: dict) -> str:
    lines = [line for line in (result.get("log", "") + "\n" + result.get("error", "")).splitlines()
             if "ERROR" in line or "Error" in line]
    return "\n".join(f"  {line.strip()}" for line in lines) or result.get("log", "")


def check_release(*, course: Course, labs: Sequence[str], limits: Limits = DEFAULT_LIMITS,
                  labs_dir: Path = DEFAULT_LABS_DIR) -> None:
    """Grade the solution and the blank release of `labs` in a scratch copy of the course; ReleaseError
    naming every test cell the solution fails or the blank passes."""
    from autograde.grade import grade  # grade imports nothing of release; keep the import graph one-way

    with tempfile.TemporaryDirectory(prefix="factorylab-release-check-") as scratch_dir:
        scratch = Course(Path(scratch_dir))
        shutil.copytree(course.source, scratch.source, ignore=_IGNORED)
        _scratch_gradebook(course, scratch, labs)
        shutil.copytree(course.release, scratch.release)
        for lab in labs:
            for learner, origin in ((SOLUTION_LEARNER, scratch.source), (BLANK_LEARNER, scratch.release)):
                shutil.copytree(origin / lab, scratch.submitted / learner / lab, ignore=_IGNORED)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Object of type <Submitted")
            grade(course_dir=scratch.root, labs=labs, limits=limits, labs_dir=labs_dir, progress=False)
        problems = _check_problems(scratch, labs)
    if problems:
        raise ReleaseError("the release fails its own check:\n" + "\n".join(f"  - {p}" for p in problems))


def _scratch_gradebook(course: Course, scratch: Course, labs: Sequence[str]) -> None:
    """Give the scratch copy its own SQLite gradebook holding `labs`: a copy of the course's, or, when the
    course's gradebook is on a database server, one nbgrader makes again from the sources."""
    if course.database_url is None:
        shutil.copy2(course.root / "gradebook.db", scratch.root / "gradebook.db")
        return
    api = NbGraderAPI(config=nbgrader_config(scratch))
    for lab in labs:
        result = api.generate_assignment(lab, force=True)
        if not result["success"]:
            raise ReleaseError(f"{scratch.source / lab}: nbgrader refused it in the release check:\n" + _errors(result))
    shutil.rmtree(scratch.release)  # the course's own release is what the check grades


def _check_problems(scratch: Course, labs: Sequence[str]) -> list[str]:
    problems = []
    with Gradebook(scratch.db_url) as gradebook:
        for lab in labs:
            for learner, expect_full in ((SOLUTION_LEARNER, True), (BLANK_LEARNER, False)):
                submission = gradebook.find_submission(lab, learner)
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        if grade.cell_type != "code" or grade.auto_score is None:
                            continue
                        wanted = grade.max_score if expect_full else 0.0
                        if grade.auto_score != wanted:
                            who = "the solution" if expect_full else "the blank release"
                            problems.append(f"{lab}/{notebook.name}.ipynb: test cell {grade.name!r}: {who} "
                                            f"scores {grade.auto_score:g}/{grade.max_score:g}, expected {wanted:g}")
    return problems


def copy_lab(folder: Path, target: Path) -> None:
    """Copy the lab's notebook and the assets it declares into `target`; a declared pattern that matches no
    file is an error naming it."""
    notebook = folder / f"{folder.name}.ipynb"
    patterns = nbformat.read(notebook, as_version=4).metadata.get("factorylab", {}).get("assets", [])
    files = [notebook]
    for pattern in patterns:
        matched = [path for path in sorted(folder.glob(pattern)) if path.is_file() and "__pycache__" not in path.parts]
        if not matched:
            raise ReleaseError(f"{notebook}: metadata.factorylab.assets: {pattern!r} matches no file in {folder}")
        files.extend(matched)
    for path in files:
        (target / path.relative_to(folder)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / path.relative_to(folder))
