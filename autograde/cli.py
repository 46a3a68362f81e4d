"""Sub-commands for evaluators and trainers: `coverage`, `report`, and the grading verbs `release`, `grade`,
`feedback`, `export`, `similarity`.

Each handler only turns parsed arguments into a call of the keyword-only function that does the work
(`build_coverage`, `build_report`), and takes its defaults from that function, so the command line and the
Python API cannot drift. Errors are AutogradeError subclasses, which factorylab/cli.py prints as one line.
"""

import argparse
import inspect
from pathlib import Path

from autograde.badges import Issuer
from autograde.collect import collect as collect_cohort
from autograde.competency import build_report
from autograde.course import Course
from autograde.coverage import FORMATS, build_coverage
from autograde.export import export as export_grades
from autograde.feedback import feedback as write_feedback
from autograde.grade import format_summary
from autograde.grade import grade as grade_cohort
from autograde.release import release as release_labs
from autograde.sandbox import DEFAULT_LIMITS, Limits
from autograde.similarity import format_table, write_csv
from autograde.similarity import similarity as find_similar


def _default(function, name: str):
    return inspect.signature(function).parameters[name].default


def register(commands: argparse._SubParsersAction) -> None:
    coverage = commands.add_parser(
        "coverage", help="criteria x labs matrix: which lab cells assess each criterion, and how (HTML, CSV, MD)")
    coverage.add_argument("--labs", type=Path, default=_default(build_coverage, "labs_dir"),
                          help="folder of the lab sources, <lab>/<lab>.ipynb (default: %(default)s)")
    coverage.add_argument("--out", type=Path, default=_default(build_coverage, "out_dir"),
                          help="output folder (created; default: %(default)s)")
    coverage.add_argument("--format", default=",".join(_default(build_coverage, "formats")),
                          help=f"comma-separated, among {', '.join(FORMATS)} (default: %(default)s)")
    coverage.add_argument("--catalogue", type=Path, help="referentials folder (default: course/referentials)")
    coverage.set_defaults(handler=_coverage)

    report = commands.add_parser(
        "report", help="each learner's status on every criterion from nbgrader's gradebook; heat map, CSV, badges")
    report.add_argument("--course", type=Path, default=_default(build_report, "course_dir"),
                        help="nbgrader course folder holding gradebook.db and feedback/ "
                             "(default: $FACTORYLAB_COURSE, else ~/.local/share/factorylab/course)")
    report.add_argument("--labs", type=Path, default=_default(build_report, "labs_dir"),
                        help="folder of the lab sources, <lab>/<lab>.ipynb (default: %(default)s)")
    report.add_argument("--out", type=Path, default=_default(build_report, "out_dir"),
                        help="output folder (created; default: %(default)s)")
    report.add_argument("--db-url", help="gradebook database URL (default: sqlite:///<course>/gradebook.db)")
    report.add_argument("--catalogue", type=Path, help="referentials folder (default: course/referentials)")
    report.add_argument("--issuer-id", default=Issuer.id,
                        help="URI of the badges' issuer, e.g. the training centre's web address (default: %(default)s)")
    report.add_argument("--issuer-name", default=Issuer.name, help="name of the badges' issuer (default: %(default)s)")
    report.set_defaults(handler=_report)
    _register_grading(commands)


def _coverage(args) -> int:
    formats = [fmt.strip() for fmt in args.format.split(",") if fmt.strip()]
    written = build_coverage(labs_dir=args.labs, out_dir=args.out, formats=formats, catalogue_dir=args.catalogue)
    print("coverage written to " + ", ".join(str(path) for path in written))
    return 0


def _report(args) -> int:
    written = build_report(course_dir=args.course, labs_dir=args.labs, out_dir=args.out, db_url=args.db_url,
                           catalogue_dir=args.catalogue, issuer=Issuer(id=args.issuer_id, name=args.issuer_name))
    print(f"report written to {args.out / 'cohort.html'} ({len(written)} files: learner pages, "
          "competency.csv, badges/)")
    return 0


def _register_grading(commands: argparse._SubParsersAction) -> None:
    """The trainer's grading verbs: release, grade, feedback, export, similarity (autograde/release.py...)."""
    from autograde.course import COURSE_ENV

    course_help = f"nbgrader course folder (default: ${COURSE_ENV}, else ~/.local/share/factorylab/course)"
    release = commands.add_parser("release", help="validate lab sources and make the learners' versions")
    release.add_argument("labs", nargs="*", metavar="LAB", help="labs to release (default: all under --labs)")
    release.add_argument("--labs-dir", type=Path, default=_default(release_labs, "labs_dir"),
                         help="folder of the lab sources, <lab>/<lab>.ipynb (default: %(default)s)")
    release.add_argument("--course", type=Path, help=course_help)
    release.add_argument("--no-check", action="store_true",
                         help="skip grading the solution and the blank release against the tests")
    release.set_defaults(handler=_release)

    collect = commands.add_parser(
        "collect", help="import a cohort's notebooks (an LMS download, folder or zip) into submitted/",
        description="Moodle, Canvas, Brightspace, Blackboard, Teams, Google Classroom, nbgrader's exchange and "
                    "JupyterHub home folders are recognised by their names; the learner is the LMS's own identity. "
                    "Every file is reported: placed, superseded (an older copy), skipped or refused; the exit "
                    "status is 1 when something was refused.")
    collect.add_argument("path", type=Path, help="the LMS download: a folder or a zip file")
    collect.add_argument("--course", type=Path, help=course_help)
    collect.add_argument("--roster", type=Path, metavar="FILE.csv",
                         help="CSV (Excel's too) with a 'learner' column (the learner id) and any of name, email, "
                              "username, lms_id: only its learners are placed")
    collect.add_argument("--replace", action="store_true",
                         help="overwrite a learner's earlier submission of a lab (never another learner's)")
    collect.add_argument("--timezone", metavar="ZONE",
                         help="IANA time zone of the LMS's local times (zip dates, Blackboard's and Brightspace's "
                              "names), e.g. Europe/Paris (default: this machine's)")
    collect.set_defaults(handler=_collect)

    grade = commands.add_parser("grade", help="autograde every submission in parallel, sandboxed; print a summary")
    grade.add_argument("labs", nargs="*", metavar="LAB", help="labs to grade (default: every released lab)")
    grade.add_argument("--course", type=Path, help=course_help)
    grade.add_argument("--learner", action="append", default=[], help="grade only this learner (repeatable)")
    grade.add_argument("--labs-dir", type=Path, default=_default(grade_cohort, "labs_dir"),
                       help="lab sources, hidden from the learners' kernels (default: %(default)s)")
    grade.add_argument("--workers", type=int, help="parallel kernels (default: one per core)")
    grade.add_argument("--cell-timeout", type=int, default=DEFAULT_LIMITS.cell_timeout_s, help="seconds per cell")
    grade.add_argument("--notebook-timeout", type=int, default=DEFAULT_LIMITS.notebook_timeout_s,
                       help="seconds per notebook (default: %(default)s)")
    grade.add_argument("--memory-mb", type=int, default=DEFAULT_LIMITS.memory_mb,
                       help="memory per kernel, MB (default: %(default)s)")
    grade.add_argument("--unsafe", action="store_true",
                       help="grade without the bubblewrap sandbox where it is missing (not fit for certification: "
                            "every summary says so)")
    grade.set_defaults(handler=_grade)

    feedback = commands.add_parser("feedback", help="per-learner feedback pages (HTML) without hidden tests")
    feedback.add_argument("labs", nargs="*", metavar="LAB")
    feedback.add_argument("--course", type=Path, help=course_help)
    feedback.set_defaults(handler=_feedback)

    export = commands.add_parser("export", help="grades as CSV: per learner and lab, and per cell")
    export.add_argument("--course", type=Path, help=course_help)
    export.add_argument("--out", type=Path, default=_default(export_grades, "out_dir"),
                        help="output folder (default: %(default)s)")
    export.set_defaults(handler=_export)

    similarity = commands.add_parser(
        "similarity", help="pairs of learners whose answers share much code, or share it with the solution",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Compare the code of the answer cells of each learner's submitted notebook with every other\n"
                    "learner's and with the reference solution (copydetect's winnowing: variable names and\n"
                    "comments do not matter, the released stubs do not count). Notebooks are read, never run.\n"
                    "The result is a list for the trainer to read, never an automatic penalty.",
        epilog="example:\n  factorylab similarity lab1_prepare_data --threshold 0.6 --out similarity.csv")
    similarity.add_argument("labs", nargs="*", metavar="LAB", help="labs to compare (default: every released lab)")
    similarity.add_argument("--course", type=Path, metavar="DIR", help=course_help)
    similarity.add_argument("--threshold", type=float, metavar="X", default=_default(find_similar, "threshold"),
                            help="list a pair when this fraction of either answer's code is found in the other "
                                 "(0 to 1, default: %(default)s)")
    similarity.add_argument("--out", type=Path, metavar="FILE.csv", help="also write the pairs to this CSV file")
    similarity.set_defaults(handler=_similarity)


def _release(args) -> int:
    released = release_labs(labs_dir=args.labs_dir, course_dir=args.course, labs=args.labs, check=not args.no_check)
    print("released " + ", ".join(str(path) for path in released))
    return 0


def _collect(args) -> int:
    result = collect_cohort(source=args.path, course_dir=args.course, roster=args.roster, replace=args.replace,
                            timezone=args.timezone)
    print(f"download read as: {result.format}")
    print(f"placed {len(result.placed)} notebook(s):")
    for placed in result.placed:
        print(f"  {placed}")
    for title, items in (("superseded by a later copy", result.superseded), ("skipped", result.skipped),
                         ("REFUSED, to act on, then collect again", result.refused)):
        if items:
            print(f"{title}: {len(items)}")
            for item in items:
                print(f"  {item}")
    return 1 if result.refused else 0


def _grade(args) -> int:
    limits = Limits(cell_timeout_s=args.cell_timeout, notebook_timeout_s=args.notebook_timeout,
                    memory_mb=args.memory_mb)
    outcomes = grade_cohort(course_dir=args.course, labs=args.labs, learners=args.learner, labs_dir=args.labs_dir,
                            limits=limits, workers=args.workers, unsafe=args.unsafe)
    print(format_summary(outcomes))
    return 1 if any(outcome.status == "error" for outcome in outcomes) else 0


def _feedback(args) -> int:
    pages = write_feedback(course_dir=args.course, labs=args.labs)
    print(f"{len(pages)} feedback page(s) under {Course.at(args.course).feedback}")
    return 0


def _export(args) -> int:
    print("grades written to " + ", ".join(str(path) for path in export_grades(course_dir=args.course,
                                                                               out_dir=args.out)))
    return 0


def _similarity(args) -> int:
    report = find_similar(course_dir=args.course, labs=args.labs, threshold=args.threshold)
    print(format_table(report))
    if args.out:
        print(f"pairs written to {write_csv(report, args.out)}")
    return 0
