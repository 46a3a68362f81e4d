"""Grade a cohort: every submission of the chosen labs, in parallel, sandboxed, with nbgrader's grades.

The flow for each submission `submitted/<learner>/<lab>/`:
1. inspect (parent): compare each notebook with the learners' version in `release/<lab>/` and note, once and
   in plain words, what is wrong: a missing or unreadable notebook (empty, invalid JSON), another kernel
   language, deleted, reordered or edited read-only and test cells. nbgrader puts the cells right itself
   (it restores them from the source); the summary says it happened. Its checksum warnings are not repeated:
   they fire for every hidden test, tampered or not;
2. stage (parent): copy the submission to `<course>/.factorylab/staged/`, leaving out unreadable notebooks,
   which nbgrader then scores zero as it does any missing notebook; the learner's files are never changed.
   Only the notebooks and the lab's own assets reach the kernel: any other file the learner sent (a module
   named like a library, a data file) is listed, flagged and left out of the sandbox;
3. sanitize (parent): run nbgrader's own sanitize steps (`Autograde.sanitize_preprocessors`) to get the
   notebook nbgrader would execute;
4. execute and judge (pool, in parallel): run it in the bubblewrap sandbox on the learner's graded variant,
   derived from the course's secret (autograde/secret.py), then decide every automatic test cell in the
   worker from the evidence the kernel recorded (autograde/sandbox.py, autograde/preprocessors/judge.py);
5. score (parent, one submission at a time): run nbgrader's unchanged `Autograde` converter on the staged
   copy, with `ReplayExecution` in place of `Execute` (autograde/preprocessors/replay.py): nbgrader writes
   `autograded/` and the gradebook exactly as `nbgrader autograde` would, from the outputs of step 4.
The gradebook thus has a single writer. A rerun regrades everything from `submitted/` again and ends in the
same state; manual grades a trainer gave are kept, and stay decided while the answer they graded is unchanged
(nbgrader alone would ask for them again).

One submission's failure never stops the others: it is reported with status `error` and its grades are left
as nbgrader left them. Statuses, worst first: `error` (the grader failed: see the message, rerun),
`ungradable` (no readable notebook: scored zero), `incident` (the execution was cut: kernel died, timeout,
output flood; the cells that did not run score zero), `flagged` (the file was tampered with or malformed and
nbgrader put it right, extra files were left out, or a test cell's evidence was missing, misplaced or
malformed: tampering that gains nothing is still reported), `ok`. Each outcome and its messages are kept in
the gradebook's database (autograde/provenance.py), where the reports read them.
"""

import json
import logging
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute

from autograde.bwrap import sandbox_available
from autograde.course import DEFAULT_LABS_DIR, Course, nbgrader_config
from autograde.errors import GradeError
from autograde.manual_grades import kept_manual_grades, restore_manual_grades
from autograde.pool import GradingPool
from autograde.preprocessors import ReplayExecution
from autograde.provenance import UNSANDBOXED_NOTICE, record_grading
from autograde.sandbox import DEFAULT_LIMITS, ExecutionJob, Limits
from autograde.secret import course_secret, variant_seed
from autograde.variants import Variant

OK, FLAGGED, INCIDENT, UNGRADABLE, ERROR = "ok", "flagged", "incident", "ungradable", "error"
NOT_SUBMITTED = "not submitted"  # a summary line only: a learner of the course without this lab's submission
UNSAFE_NOTE = f"UNSAFE: {UNSANDBOXED_NOTICE}"
SEVERITY = (OK, FLAGGED, INCIDENT, UNGRADABLE, ERROR)
# What nbgrader's collect and exchange put beside every submission: not the learner's, never flagged.
NBGRADER_FILES = {"timestamp.txt", "submission_secret.txt"}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What happened to one submission: its status, nbgrader's score, and messages for the trainer."""

    lab: str
    learner: str
    status: str
    score: float
    max_score: float
    needs_manual_grade: bool
    messages: tuple[str, ...]
    duration_s: float
    failed_tests: int = 0  # autograded test cells below full marks
    tests: int = 0  # autograded test cells
    pending_cells: int = 0  # cells awaiting a manual grade


@dataclass
class _Submission:
    lab: str
    learner: str
    messages: list[str]
    worst: str = OK
    futures: dict[str, Future] | None = None
    duration_s: float = 0.0
    sandboxed: bool = True

    def note(self, status: str, message: str) -> None:
        self.messages.append(message)
        if SEVERITY.index(status) > SEVERITY.index(self.worst):
            self.worst = status


def grade(*, course_dir: Path | None = None, labs: Sequence[str] = (), learners: Sequence[str] = (),
          labs_dir: Path = DEFAULT_LABS_DIR, limits: Limits = DEFAULT_LIMITS, workers: int | None = None,
          executor: Executor | None = None, scheduler: str | None = None, progress: bool | None = None,
          unsafe: bool = False) -> list[Outcome]:
    """Autograde every submission of `labs` (default: every released lab) by `learners` (default: all); the
    outcomes end with a `not submitted` one for each learner of the course (or named) without such a submission.

    `executor` is the grading pool (default: one local worker process per core, or `workers`; or, with
    `scheduler`, the Dask cluster whose scheduler listens at that address). A notebook whose worker is lost
    is graded again (autograde/pool.py). Kernels run in the bubblewrap sandbox; where it is not available,
    grading is refused unless `unsafe` (every outcome then says so). `progress` shows a progress line on
    stderr (default: when stderr is a terminal).
    """
    course = Course.at(course_dir)
    if not unsafe and not sandbox_available():
        raise GradeError("the sandbox (bubblewrap) does not run here, so learners' code could read and change "
                         "your files: install it (`sudo apt install bubblewrap` on Debian/Ubuntu) or, for a trial "
                         "outside certification, grade with --unsafe")
    labs = course.chosen_labs(labs)
    secret = course_secret(course.root)
    submissions = [_Submission(lab, learner, [], sandboxed=not unsafe)
                   for lab in labs for learner in course.submitters(lab) if not learners or learner in learners]
    _check_selection(course, labs, learners, submissions)
    pool = GradingPool(executor, workers=workers, scheduler=scheduler)
    bar = _Progress(len(submissions), sys.stderr.isatty() if progress is None else progress)
    try:
        with warnings.catch_warnings():
            # nbgrader 0.9.6's own autoflush warnings while it records a submission; not ours to fix.
            warnings.filterwarnings("ignore", message="Object of type <Submitted")
            for submission in submissions:
                variant = Variant(submission.lab, submission.learner,
                                  variant_seed(secret, submission.lab, submission.learner))
                submission.futures = _dispatch(course, submission, variant, limits, pool, unsafe)
            outcomes = []
            for submission in submissions:
                outcomes.append(_score(course, submission, pool))
                bar.step(f"{submission.lab} {submission.learner}")
    finally:
        bar.close()
        pool.shutdown()
    return outcomes + _not_submitted(course, labs, learners)


def _check_selection(course: Course, labs: Sequence[str], learners: Sequence[str],
                     submissions: Sequence[_Submission]) -> None:
    """A mistyped learner, or a selection with nothing to grade, is an error naming what exists: a silent
    "0 submission(s)" would read as a graded cohort."""
    known = sorted({learner for lab in course.released_labs() for learner in course.submitters(lab)})
    unknown = [learner for learner in learners if learner not in known]
    if unknown:
        raise GradeError(f"{course.submitted}: no submission by {', '.join(map(repr, unknown))} (learners with a "
                         f"submission: {', '.join(known) or 'none'}): check the --learner id")
    if not submissions:
        who = f" by {', '.join(learners)}" if learners else ""
        raise GradeError(f"{course.submitted}: no submission of {', '.join(labs)}{who} to grade (submitted: "
                         + ("; ".join(f"{lab}: {', '.join(course.submitters(lab)) or 'none'}"
                                      for lab in course.released_labs()) or "nothing")
                         + "): collect the notebooks first (factorylab collect)")


def _not_submitted(course: Course, labs: Sequence[str], learners: Sequence[str]) -> list[Outcome]:
    """A line for each learner of the course (one who submitted any released lab, or one named) without a
    submission of a graded lab: the summary then tells "did not submit" from "failed"."""
    known = sorted(set(learners) or {learner for lab in course.released_labs() for learner in course.submitters(lab)})
    return [Outcome(lab=lab, learner=learner, status=NOT_SUBMITTED, score=0.0, max_score=0.0,
                    needs_manual_grade=False, messages=(), duration_s=0.0)
            for lab in labs for learner in known if learner not in course.submitters(lab)]


def _dispatch(course: Course, submission: _Submission, variant: Variant, limits: Limits,
              pool: GradingPool, unsafe: bool) -> dict[str, Future]:
    """Inspect, stage and sanitize a submission, and hand its notebooks to the pool."""
    try:
        readable = _stage(course, submission)
        futures = {}
        assets = _assets(course, submission.lab)
        extra = sorted(set(_staged_files(course, submission)) - set(assets) - NBGRADER_FILES)
        if extra:
            submission.note(FLAGGED, f"file(s) the lab does not ask for, left out of grading: {', '.join(extra[:10])}"
                            + (f" and {len(extra) - 10} more" if len(extra) > 10 else ""))
        if unsafe:
            submission.note(OK, UNSAFE_NOTE)
        for notebook in readable:
            sanitized = _sanitize(course, submission, notebook)
            job = ExecutionJob(lab=submission.lab, learner=submission.learner, notebook=notebook,
                               notebook_json=sanitized, files=assets, limits=limits, variant=variant,
                               unsafe=unsafe, language=course.language)
            futures[notebook] = pool.submit(job)
        return futures
    except Exception as error:  # one submission's failure never stops the others
        log.debug("preparing %s/%s failed", submission.learner, submission.lab, exc_info=True)
        submission.note(ERROR, f"could not prepare the submission: {type(error).__name__}: {error}")
        return {}


def _release_notebooks(course: Course, lab: str) -> dict[str, nbformat.NotebookNode]:
    return {path.stem: nbformat.read(path, as_version=4) for path in sorted((course.release / lab).glob("*.ipynb"))}


def _assets(course: Course, lab: str) -> dict[str, str]:
    """The lab's learner-visible files (release/<lab>/, notebooks aside), which nbgrader puts beside each
    submission before running it."""
    folder = course.release / lab
    return {str(path.relative_to(folder)): str(path) for path in sorted(folder.rglob("*"))
            if path.is_file() and path.suffix != ".ipynb"}


def _staged_files(course: Course, submission: _Submission) -> dict[str, str]:
    folder = course.staged / submission.learner / submission.lab
    return {str(path.relative_to(folder)): str(path) for path in sorted(folder.rglob("*"))
            if path.is_file() and path.suffix != ".ipynb"}


def _stage(course: Course, submission: _Submission) -> list[str]:
    """Copy the submission to the staging folder, readable notebooks only; return their names."""
    source = course.submitted / submission.learner / submission.lab
    target = course.staged / submission.learner / submission.lab
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for path in sorted(source.rglob("*")):
        if path.is_file() and path.suffix != ".ipynb":
            (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / path.relative_to(source))
    released = _release_notebooks(course, submission.lab)
    submitted = {path.stem: path for path in sorted(source.glob("*.ipynb"))}
    readable = []
    for name, release in released.items():
        if name not in submitted:
            others = ", ".join(sorted(f"{stem}.ipynb" for stem in set(submitted) - set(released)))
            submission.note(UNGRADABLE, f"{name}.ipynb missing (scored zero)"
                            + (f"; found instead: {others}: rename it and grade again" if others else ""))
            continue
        problem, nb = _read_notebook(submitted[name])
        if problem:
            submission.note(UNGRADABLE, f"{name}.ipynb {problem} (scored zero)")
            continue
        for status, message in _inspect(name, nb, release):
            submission.note(status, message)
        shutil.copy2(submitted[name], target / f"{name}.ipynb")
        readable.append(name)
    return readable


def _read_notebook(path: Path) -> tuple[str | None, nbformat.NotebookNode | None]:
    """(what is wrong with the file, None) or (None, the notebook)."""
    text = path.read_bytes()
    if not text.strip():
        return "is empty", None
    try:
        json.loads(text)
        nb = nbformat.reads(text.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except UnicodeDecodeError:
        return "is not UTF-8 text", None
    except json.JSONDecodeError as error:
        return f"is not valid JSON (line {error.lineno}: {error.msg})", None
    except Exception as error:  # nbformat's validation and reader errors share no base class
        return f"is not a valid notebook ({type(error).__name__}: {str(error).splitlines()[0][:120]})", None
    return None, nb


def _graded_ids(nb: nbformat.NotebookNode) -> list[str]:
    return [cell.metadata.nbgrader["grade_id"] for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("grade_id")
            and (cell.metadata.nbgrader.get("grade") or cell.metadata.nbgrader.get("task"))]


def _locked(nb: nbformat.NotebookNode) -> dict[str, str]:
    return {cell.metadata.nbgrader["grade_id"]: cell.source for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("locked") and cell.metadata.nbgrader.get("grade_id")}


def _inspect(name: str, nb: nbformat.NotebookNode, release: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """What the learner changed that they should not have, compared with the released notebook."""
    found = []
    language = nb.metadata.get("kernelspec", {}).get("language") or nb.metadata.get("language_info", {}).get("name")
    expected = release.metadata.get("kernelspec", {}).get("language", "python")
    if language and language != expected:
        found.append((FLAGGED, f"{name}.ipynb written for the {language!r} kernel: run with the lab's "
                               f"{expected!r} kernel"))
    released_ids, submitted_ids = _graded_ids(release), _graded_ids(nb)
    deleted = [grade_id for grade_id in released_ids if grade_id not in submitted_ids]
    if deleted:
        found.append((FLAGGED, f"{name}.ipynb: graded cell(s) deleted: {', '.join(deleted)} (nbgrader re-adds them "
                               "from the source, left to manual grading)"))
    kept = [grade_id for grade_id in submitted_ids if grade_id in released_ids]
    if kept != [grade_id for grade_id in released_ids if grade_id in kept]:
        found.append((FLAGGED, f"{name}.ipynb: graded cells reordered (they ran in the learner's order)"))
    released_locked, submitted_locked = _locked(release), _locked(nb)
    edited = [grade_id for grade_id, source in released_locked.items()
              if grade_id in submitted_locked and submitted_locked[grade_id] != source]
    if edited:
        found.append((FLAGGED, f"{name}.ipynb: read-only or test cell(s) edited: {', '.join(edited)} "
                               "(nbgrader restored them from the source)"))
    return found


def _nbgrader_steps(pipeline: str) -> list:
    """nbgrader's default preprocessors of one of its autograde pipelines, as nbgrader itself lists them."""
    return list(Autograde.class_traits()[pipeline].default())


def _sanitize(course: Course, submission: _Submission, notebook: str) -> str:
    """The notebook nbgrader's autograde would execute: nbgrader's own sanitize steps, run here."""
    config = nbgrader_config(course)
    exporter = NotebookExporter(config=config)
    for step in _nbgrader_steps("sanitize_preprocessors"):
        exporter.register_preprocessor(step)
    resources = {"unique_key": notebook, "output_files_dir": f"{notebook}_files",
                 "nbgrader": {"student": submission.learner, "assignment": submission.lab,
                              "notebook": notebook, "db_url": course.db_url}}
    path = course.staged / submission.learner / submission.lab / f"{notebook}.ipynb"
    output, _ = exporter.from_filename(str(path), resources=resources)
    return output


def _score(course: Course, submission: _Submission, pool: GradingPool) -> Outcome:
    """Run nbgrader's autograde converter on the staged submission, with the pool's outputs."""
    started = time.monotonic()
    if submission.worst != ERROR:
        try:
            if submission.futures:
                folder = course.autograded / submission.learner / submission.lab
                kept = kept_manual_grades(course.db_url, folder, submission.lab, submission.learner)
                _convert(course, submission, pool)
                for grade_id in restore_manual_grades(course.db_url, folder, submission.lab, submission.learner,
                                                      kept):
                    submission.note(OK, f"{grade_id}: the answer changed since it was graded by hand: grade it again")
            else:
                _record_ungradable(course, submission)
            record_grading(course.db_url, submission.lab, submission.learner, sandboxed=submission.sandboxed,
                           outcome=submission.worst, messages=submission.messages)
        except Exception as error:
            log.debug("grading %s/%s failed", submission.learner, submission.lab, exc_info=True)
            submission.note(ERROR, f"nbgrader could not grade it: {type(error).__name__}: {error}")
    totals = _gradebook_totals(course, submission)
    return Outcome(lab=submission.lab, learner=submission.learner, status=submission.worst,
                   messages=tuple(submission.messages), duration_s=submission.duration_s + time.monotonic() - started,
                   **totals)


def _convert(course: Course, submission: _Submission, pool: GradingPool) -> None:
    config = nbgrader_config(course)
    config.CourseDirectory.submitted_directory = str(course.staged.relative_to(course.root))
    config.CourseDirectory.assignment_id = submission.lab
    config.CourseDirectory.student_id = submission.learner
    config.Autograde.autograde_preprocessors = [
        ReplayExecution if step is Execute else step for step in _nbgrader_steps("autograde_preprocessors")]
    config.ReplayExecution.fetch = _fetcher(submission, pool)
    config.BaseConverter.force = True
    quiet = logging.getLogger("autograde.nbgrader")
    quiet.setLevel(logging.CRITICAL)
    converter = Autograde(coursedir=CourseDirectory(config=config), config=config, log=quiet)
    converter.start()


def _record_ungradable(course: Course, submission: _Submission) -> None:
    """No notebook to run: record the submission with every cell at zero, as nbgrader's autograde does for
    each missing notebook (it refuses a submission without any), and drop an older autograded copy."""
    shutil.rmtree(course.autograded / submission.learner / submission.lab, ignore_errors=True)
    coursedir = CourseDirectory(config=nbgrader_config(course))
    timestamp = coursedir.get_existing_timestamp(str(course.submitted / submission.learner / submission.lab))
    with Gradebook(course.db_url) as gradebook:
        gradebook.update_or_create_student(submission.learner)
        graded = gradebook.update_or_create_submission(submission.lab, submission.learner,
                                                       **({"timestamp": timestamp} if timestamp else {}))
        for notebook in graded.notebooks:
            for cell_grade in notebook.grades:
                cell_grade.auto_score = 0
                cell_grade.needs_manual_grade = False
        gradebook.db.commit()


def _fetcher(submission: _Submission, pool: GradingPool) -> Callable[[str, str, str], nbformat.NotebookNode]:
    def fetch(lab: str, learner: str, notebook: str) -> nbformat.NotebookNode:
        result, lost = pool.result(submission.futures[notebook])
        submission.duration_s += result.duration_s
        if lost:
            submission.note(OK, f"{notebook}.ipynb: graded again after its grading worker was lost "
                                f"({lost} time(s))")
        for incident in result.incidents:
            submission.note(INCIDENT, f"{notebook}.ipynb: {incident}")
        for flag in result.flags:
            submission.note(FLAGGED, f"{notebook}.ipynb: {flag}")
        return nbformat.reads(result.notebook_json, as_version=4)

    return fetch


def _gradebook_totals(course: Course, submission: _Submission) -> dict:
    """nbgrader's totals of the submission, its graded code cells and how many of them failed (nbgrader's
    `failed_tests`), and its cells awaiting a manual grade (an ungradable submission's never ran: none counts)."""
    with Gradebook(course.db_url) as gradebook:
        try:
            graded = gradebook.find_submission(submission.lab, submission.learner)
        except MissingEntry:
            return {"score": 0.0, "max_score": 0.0, "needs_manual_grade": False}
        cells = [cell for notebook in graded.notebooks for cell in notebook.grades]
        tests = [cell for cell in cells if cell.cell_type == "code"] if submission.worst != UNGRADABLE else []
        return {"score": graded.score, "max_score": graded.max_score, "needs_manual_grade": graded.needs_manual_grade,
                "tests": len(tests), "failed_tests": sum(cell.failed_tests or 0 for cell in tests),  # None: manual
                "pending_cells": sum(cell.needs_manual_grade for cell in cells)}


def format_summary(outcomes: Sequence[Outcome]) -> str:
    """The table printed at the end of `factorylab grade`: one line per submission (and per learner who did not
    submit a graded lab), then the counts. A score is nbgrader's; "tests failed" counts its failed code cells, so
    a notebook that crashed early reads "11 of 11", not only "0/30"; "to grade" counts the answers still awaiting
    a manual grade (their points are not in the score yet)."""
    lab_width = max([len("lab"), *(len(outcome.lab) for outcome in outcomes)])
    learner_width = max([len("learner"), *(len(outcome.learner) for outcome in outcomes)])
    status_width = max(len(status) for status in (*SEVERITY, NOT_SUBMITTED))
    header = (f"{'lab':<{lab_width}} {'learner':<{learner_width}} {'status':<{status_width}} {'score':>9} "
              f"{'tests failed':>12}  {'manual':<10}  messages")
    indent = " " * (header.index("messages"))
    lines = [header, "-" * len(header)]
    for outcome in outcomes:
        graded = outcome.status not in (NOT_SUBMITTED, UNGRADABLE)
        score = f"{outcome.score:g}/{outcome.max_score:g}" if outcome.status != NOT_SUBMITTED else ""
        failed = f"{outcome.failed_tests} of {outcome.tests}" if graded and outcome.tests else ""
        manual = f"{outcome.pending_cells} to grade" if outcome.pending_cells and graded else ""
        first, *rest = outcome.messages or ("",)
        lines.append(f"{outcome.lab:<{lab_width}} {outcome.learner:<{learner_width}} {outcome.status:<{status_width}} "
                     f"{score:>9} {failed:>12}  {manual:<10}  {first}".rstrip())
        lines.extend(indent + message for message in rest)
    submitted = [outcome for outcome in outcomes if outcome.status != NOT_SUBMITTED]
    counts = {status: sum(outcome.status == status for outcome in submitted) for status in SEVERITY}
    footer = f"{len(submitted)} submission(s): " + ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    absent = len(outcomes) - len(submitted)
    if absent:
        footer += f"; {absent} not submitted"
    pending = [outcome for outcome in submitted if outcome.pending_cells and outcome.status != UNGRADABLE]
    if pending:
        footer += (f"; {len(pending)} await manual grading ({sum(o.pending_cells for o in pending)} answer(s): "
                   "factorylab mark, or nbgrader's formgrader)")
    lines.append(footer)
    if any(UNSAFE_NOTE in outcome.messages for outcome in outcomes):
        lines.append(UNSAFE_NOTE)
    return "\n".join(lines)


class _Progress:
    """`[#####.....] 12/90 lab learner` rewritten in place on stderr; silent when not a terminal."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled = total, 0, enabled and total > 0

    def step(self, label: str) -> None:
        self.done += 1
        if self.enabled:
            filled = 30 * self.done // self.total
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} {label[:40]:<40}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
