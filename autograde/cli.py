"""Sub-commands for evaluators and trainers: `coverage`, `report`, the verbs that record what a person decides
(`mark`, `observe`), and the grading verbs `release`, `grade`, `feedback`, `export`, `similarity`.

Each handler only turns parsed arguments into a call of the keyword-only function that does the work
(`build_coverage`, `build_report`), and takes its defaults from that function, so the command line and the
Python API cannot drift. Errors are AutogradeError subclasses, which factorylab/cli.py prints as one line.
"""

import argparse
import inspect
from datetime import date
from pathlib import Path

from autograde.badges import verify_badge
from autograde.collect import collect as collect_cohort
from autograde.competency import build_report
from autograde.course import Course
from autograde.coverage import FORMATS, build_coverage
from autograde.errors import AutogradeError, BadgeError
from autograde.export import export as export_grades
from autograde.feedback import feedback as write_feedback
from autograde.grade import format_summary
from autograde.grade import grade as grade_cohort
from autograde.i18n import DEFAULT_LANGUAGE, LANGUAGES
from autograde.marking import import_marks, pending_answers, write_sheet
from autograde.marking import mark as mark_answer
from autograde.observations import CONTEXTS, import_observations, record_observation
from autograde.observations import CSV_COLUMNS as OBSERVATION_COLUMNS
from autograde.release import release as release_labs
from autograde.sandbox import DEFAULT_LIMITS, Limits
from autograde.similarity import format_table, write_csv
from autograde.similarity import similarity as find_similar


def _default(function, name: str):
    return inspect.signature(function).parameters[name].default


def register(commands: argparse._SubParsersAction) -> None:
    coverage = commands.add_parser(
        "coverage", help="criteria x labs matrix: which lab cells assess each criterion, and how (HTML, CSV, MD)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="For every criterion of both referentials: the lab cells that assess it, their mode (automatic,\n"
                    "trainer-graded), points and what each checks, read from the criteria tags of the lab sources.\n"
                    "Needs no grading: run it when writing or reviewing labs.",
        epilog="examples:\n  factorylab coverage --out reports/\n  factorylab coverage --format csv --out reports/")
    coverage.add_argument("--labs", type=Path, default=_default(build_coverage, "labs_dir"),
                          help="folder of the lab sources, <lab>/<lab>.ipynb (default: %(default)s)")
    coverage.add_argument("--out", type=Path, default=_default(build_coverage, "out_dir"),
                          help="output folder (created; default: %(default)s)")
    coverage.add_argument("--format", default=",".join(_default(build_coverage, "formats")),
                          help=f"comma-separated, among {', '.join(FORMATS)} (default: %(default)s)")
    coverage.add_argument("--catalogue", type=Path, help="referentials folder (default: course/referentials)")
    _language_option(coverage)
    coverage.set_defaults(handler=_coverage)

    report = commands.add_parser(
        "report", help="each learner's status on every criterion from nbgrader's gradebook; heat map, CSV, badges",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Join nbgrader's gradebook with the labs' criteria tags: the cohort page, one page per learner,\n"
                    "competency.csv for the jury, and a signed Open Badge per acquired criterion (badges/). The\n"
                    "badges' issuer and the certifications' RNCP/RS numbers are set in <course>/badges.toml\n"
                    "(course/guides/trainer.md).",
        epilog="examples:\n  factorylab report --out reports/\n"
               "  factorylab report --course ~/courses/iiot-2025 --out reports/ --lang en")
    report.add_argument("--course", type=Path, default=_default(build_report, "course_dir"),
                        help="nbgrader course folder holding gradebook.db and feedback/ "
                             "(default: $FACTORYLAB_COURSE, else ~/.local/share/factorylab/course)")
    report.add_argument("--labs", type=Path, default=_default(build_report, "labs_dir"),
                        help="folder of the lab sources, <lab>/<lab>.ipynb (default: %(default)s)")
    report.add_argument("--out", type=Path, default=_default(build_report, "out_dir"),
                        help="output folder (created; default: %(default)s)")
    report.add_argument("--db-url", help="gradebook database URL (default: sqlite:///<course>/gradebook.db)")
    report.add_argument("--catalogue", type=Path, help="referentials folder (default: course/referentials)")
    _language_option(report)
    report.set_defaults(handler=_report)
    _register_evaluation(commands)

    verify = commands.add_parser(
        "verify-badge", help="check a signed badge (.jwt): signature, issuer's key, Open Badges 3.0 schema",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Verify badges written by `factorylab report` (reports/badges/<learner>/<criterion>.jwt):\n"
                    "the signature against the issuer's key (a did:key holds it; a did:web's is in the did.json\n"
                    "the trainer publishes), the claims against the credential, and the official 1EdTech schema.\n"
                    "The issuer and the certification numbers are set in <course>/badges.toml\n"
                    "(course/guides/trainer.md). Exit status 1 when a badge does not verify.",
        epilog="examples:\n  factorylab verify-badge reports/badges/alice/CCPM-C1-M1.jwt\n"
               "  factorylab verify-badge reports/badges/*/*.jwt --did-document reports/badges/did.json")
    verify.add_argument("badges", nargs="+", type=Path, metavar="FILE.jwt", help="signed badges to verify")
    verify.add_argument("--did-document", type=Path, metavar="did.json",
                        help="the issuer's DID document, for a did:web issuer (as published)")
    verify.set_defaults(handler=_verify_badges)
    _register_grading(commands)


def _coverage(args) -> int:
    formats = [fmt.strip() for fmt in args.format.split(",") if fmt.strip()]
    written = build_coverage(labs_dir=args.labs, out_dir=args.out, formats=formats, catalogue_dir=args.catalogue,
                             language=args.lang)
    print("coverage written to " + ", ".join(str(path) for path in written))
    return 0


def _report(args) -> int:
    written = build_report(course_dir=args.course, labs_dir=args.labs, out_dir=args.out, db_url=args.db_url,
                           catalogue_dir=args.catalogue, language=args.lang)
    print(f"report written to {args.out / 'cohort.html'} ({len(written)} files: learner pages, "
          "competency.csv, badges/)")
    return 0


def _verify_badges(args) -> int:
    failed = 0
    for path in args.badges:
        try:
            badge = verify_badge(path, args.did_document)
        except BadgeError as error:
            failed += 1
            print(f"NOT VALID {error}")
            continue
        print(f"valid     {path}: {badge['name']}, issued by {badge['issuer']['name']} ({badge['issuer']['id']}) "
              f"on {badge['validFrom'][:10]}")
    return 1 if failed else 0


def _language_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE,
                        help="language of the pages (default: %(default)s); the official referential texts stay "
                             "French")


def _register_evaluation(commands: argparse._SubParsersAction) -> None:
    """The verbs that record what a person decides: `mark` (a manual grade) and `observe` (a criterion)."""
    from autograde.course import COURSE_ENV

    course_help = f"nbgrader course folder (default: ${COURSE_ENV}, else ~/.local/share/factorylab/course)"
    mark = commands.add_parser(
        "mark", help="grade written answers from the terminal or a spreadsheet, in nbgrader's gradebook",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Give a manual grade to an answer, as nbgrader's formgrader does (same gradebook fields, so\n"
                    "formgrader, feedback, exports and reports see it, and a regrade keeps it while the answer\n"
                    "is unchanged). --pending lists the answers awaiting a grade with their text; --sheet writes\n"
                    "them as a CSV to fill in (score, comment) and --csv records a filled-in sheet, all or none.",
        epilog="examples:\n  factorylab mark --pending lab1_prepare_data\n"
               "  factorylab mark lab1_prepare_data learner01 lab1_identify_reasons 1.5 --comment \"Cite it.\"\n"
               "  factorylab mark --pending --sheet to_grade.csv   (fill in the score column, then)\n"
               "  factorylab mark --csv to_grade.csv")
    mark.add_argument("cell", nargs="*", metavar="LAB LEARNER GRADE_ID SCORE",
                      help="the answer to grade and its score (0 to the cell's points; 1,5 or 1.5)")
    mark.add_argument("--comment", help="a comment for the learner (nbgrader's manual comment, on the feedback page)")
    mark.add_argument("--pending", nargs="*", metavar="LAB",
                      help="list the answers awaiting a manual grade (in these labs; default: all)")
    mark.add_argument("--sheet", type=Path, metavar="FILE.csv", help="with --pending: write them to this CSV")
    mark.add_argument("--csv", type=Path, metavar="FILE.csv",
                      help="record every line of a filled-in sheet (columns learner, lab, grade_id, score, comment)")
    mark.add_argument("--course", type=Path, help=course_help)
    mark.set_defaults(handler=_mark)

    observe = commands.add_parser(
        "observe", help="record a trainer's or jury's decision on a criterion assessed outside the labs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Record that a learner acquired (or not) a criterion, with the evidence in words, who decided\n"
                    "and when: an observation at work, the oral, a written document (E1 to E4), the company. It is\n"
                    "kept in the course's database beside nbgrader's gradebook, shown in `factorylab report`, and\n"
                    "gives the criterion its status (it also settles a flagged submission after review). A later\n"
                    "decision supersedes an earlier one; none is deleted. --csv records a sheet, all or none\n"
                    f"(columns {', '.join(OBSERVATION_COLUMNS)}; context and date optional).",
        epilog="examples:\n  factorylab observe learner01 Cr1.1.1 acquired --context document --assessor \"J. Martin\" "
               "\\\n      --evidence \"E1 report, section 2: strategy aligned with the plant's objectives\"\n"
               "  factorylab observe --csv jury_decisions.csv")
    observe.add_argument("decision", nargs="*", metavar="LEARNER CRITERION acquired|not_acquired",
                         help="the learner, the criterion's key (e.g. Cr1.1.1, CCPM-C1-MO3) and the decision")
    observe.add_argument("--evidence", help="what was observed or read, and where (shown to the jury)")
    observe.add_argument("--assessor", help="who decided: trainer, jury member, company tutor")
    observe.add_argument("--context", choices=CONTEXTS, default="observation",
                         help="how it was assessed (default: %(default)s)")
    observe.add_argument("--date", help="the day of the assessment, YYYY-MM-DD (default: today)")
    observe.add_argument("--csv", type=Path, metavar="FILE.csv", help="record every decision of this sheet")
    observe.add_argument("--course", type=Path, help=course_help)
    observe.add_argument("--db-url", help="the course's database URL (default: sqlite:///<course>/gradebook.db)")
    observe.set_defaults(handler=_observe)


def _mark(args) -> int:
    if args.pending is not None:
        if args.cell or args.csv:
            raise AutogradeError("mark --pending lists answers: give no LAB LEARNER GRADE_ID SCORE and no --csv")
        answers = pending_answers(course_dir=args.course, labs=args.pending)
        for answer in answers:
            print(f"{answer.lab} {answer.learner} {answer.grade_id} (/{answer.max_score:g} pt)")
            print("\n".join(f"    | {line}" for line in (answer.text.strip() or "(empty)").splitlines()))
        print(f"{len(answers)} answer(s) awaiting a manual grade")
        if args.sheet:
            print(f"sheet written to {write_sheet(answers, args.sheet)}: fill in the score column, then "
                  f"factorylab mark --csv {args.sheet}")
        return 0
    if args.sheet:
        raise AutogradeError("mark --sheet FILE.csv goes with --pending (it writes the answers awaiting a grade)")
    if args.csv:
        if args.cell:
            raise AutogradeError("mark --csv FILE.csv records a sheet: give no LAB LEARNER GRADE_ID SCORE with it")
        marks, left = import_marks(args.csv, course_dir=args.course)
        print(f"{len(marks)} answer(s) graded from {args.csv}" + (f"; {left} line(s) without a score left" if left
                                                                   else ""))
        return 0
    if len(args.cell) != 4:
        raise AutogradeError("mark: give LAB LEARNER GRADE_ID SCORE (e.g. factorylab mark lab1_prepare_data "
                             "learner01 lab1_identify_reasons 2), or --pending, or --csv FILE.csv")
    lab, learner, grade_id, score = args.cell
    done = mark_answer(lab=lab, learner=learner, grade_id=grade_id, score=score, comment=args.comment,
                       course_dir=args.course)
    print(f"{done.lab} {done.learner} {done.grade_id}: {done.score:g} / {done.max_score:g}")
    return 0


def _observe(args) -> int:
    if args.csv:
        if args.decision:
            raise AutogradeError("observe --csv FILE.csv records a sheet: give no LEARNER CRITERION DECISION with it")
        recorded = import_observations(args.csv, course_dir=args.course, db_url=args.db_url)
        print(f"{len(recorded)} decision(s) recorded from {args.csv}")
        return 0
    if len(args.decision) != 3:
        raise AutogradeError("observe: give LEARNER CRITERION acquired|not_acquired with --evidence and --assessor, "
                             "or --csv FILE.csv")
    learner, criterion, decision = args.decision
    day = _day_option(args.date)
    recorded = record_observation(learner=learner, criterion=criterion, decision=decision,
                                  evidence=args.evidence or "", assessor=args.assessor or "", context=args.context,
                                  observed_on=day, course_dir=args.course, db_url=args.db_url)
    print(f"recorded: {recorded.learner} {recorded.criterion} {recorded.decision} ({recorded.context}, "
          f"{recorded.observed_on.isoformat()}, {recorded.assessor})")
    return 0


def _day_option(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise AutogradeError(f"--date {text}: not a date: write it YYYY-MM-DD") from None


def _register_grading(commands: argparse._SubParsersAction) -> None:
    """The trainer's grading verbs: release, grade, feedback, export, similarity (autograde/release.py...)."""
    from autograde.course import COURSE_ENV

    course_help = f"nbgrader course folder (default: ${COURSE_ENV}, else ~/.local/share/factorylab/course)"
    release = commands.add_parser(
        "release", help="validate lab sources and make the learners' versions",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Generate each lab's learners' version with nbgrader (no solutions, no hidden tests) into\n"
                    "<course>/release/, after checking the lab against itself: its solution must score full marks\n"
                    "and its blank release zero on the automatic parts (--no-check skips this).",
        epilog="examples:\n  factorylab release\n  factorylab release lab1_prepare_data lab2_dashboard --no-check")
    release.add_argument("labs", nargs="*", metavar="LAB", help="labs to release (default: all under --labs)")
    release.add_argument("--labs-dir", type=Path, default=_default(release_labs, "labs_dir"),
                         help="folder of the lab sources, <lab>/<lab>.ipynb (default: %(default)s)")
    release.add_argument("--course", type=Path, help=course_help)
    release.add_argument("--no-check", action="store_true",
                         help="skip grading the solution and the blank release against the tests")
    release.set_defaults(handler=_release)

    collect = commands.add_parser(
        "collect", help="import a cohort's notebooks (an LMS download, folder or zip) into submitted/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Moodle, Canvas, Brightspace, Blackboard, Teams, Google Classroom, nbgrader's exchange and\n"
                    "JupyterHub home folders are recognised by their names; the learner is the LMS's own identity.\n"
                    "Every file is reported: placed, superseded (an older copy), skipped or refused; the exit\n"
                    "status is 1 when something was refused.",
        epilog="examples:\n  factorylab collect moodle-download.zip\n"
               "  factorylab collect submissions/ --roster roster.csv --timezone Europe/Paris")
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

    grade = commands.add_parser(
        "grade", help="autograde every submission in parallel, sandboxed; print a summary",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run every submission of <course>/submitted/ in the bubblewrap sandbox, on each learner's\n"
                    "secret variant, and record nbgrader's grades in the gradebook. The summary gives each\n"
                    "submission's status, score, failed tests and answers to grade by hand; the exit status is 1\n"
                    "when a submission could not be graded. An unknown lab or learner is an error naming those\n"
                    "that exist.",
        epilog="examples:\n  factorylab grade\n  factorylab grade lab1_prepare_data --learner learner01 --learner ada")
    grade.add_argument("labs", nargs="*", metavar="LAB", help="labs to grade (default: every released lab)")
    grade.add_argument("--course", type=Path, help=course_help)
    grade.add_argument("--learner", action="append", default=[], help="grade only this learner (repeatable)")
    grade.add_argument("--labs-dir", type=Path, default=_default(grade_cohort, "labs_dir"),
                       help="lab sources, hidden from the learners' kernels (default: %(default)s)")
    grade.add_argument("--workers", type=int, help="parallel kernels (default: one per core)")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on this Dask cluster, e.g. tcp://grader:8786 (its workers need factorylab, "
                            "bubblewrap and the course folder at the same path); the gradebook stays written here")
    grade.add_argument("--cell-timeout", type=int, default=DEFAULT_LIMITS.cell_timeout_s, help="seconds per cell")
    grade.add_argument("--notebook-timeout", type=int, default=DEFAULT_LIMITS.notebook_timeout_s,
                       help="seconds per notebook (default: %(default)s)")
    grade.add_argument("--memory-mb", type=int, default=DEFAULT_LIMITS.memory_mb,
                       help="memory per kernel, MB (default: %(default)s)")
    grade.add_argument("--unsafe", action="store_true",
                       help="grade without the bubblewrap sandbox where it is missing (not fit for certification: "
                            "every summary says so)")
    grade.set_defaults(handler=_grade)

    feedback = commands.add_parser(
        "feedback", help="per-learner feedback pages (HTML) without hidden tests",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write nbgrader's feedback page of every graded submission into <course>/feedback/<learner>/\n"
                    "<lab>/: each graded cell with its score and the grader's message, never the hidden tests.\n"
                    "Send them after manual grading: answers still to grade show as pending.",
        epilog="examples:\n  factorylab feedback\n  factorylab feedback lab2_dashboard")
    feedback.add_argument("labs", nargs="*", metavar="LAB", help="labs (default: every graded lab)")
    feedback.add_argument("--course", type=Path, help=course_help)
    feedback.set_defaults(handler=_feedback)

    export = commands.add_parser(
        "export", help="grades as CSV: per learner and lab, and per cell",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write grades.csv (one row per learner and lab) and cells.csv (one row per graded cell) from\n"
                    "nbgrader's gradebook, for a spreadsheet or an LMS's grade import.",
        epilog="examples:\n  factorylab export --out grades/")
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
                            limits=limits, workers=args.workers, scheduler=args.scheduler, unsafe=args.unsafe)
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
