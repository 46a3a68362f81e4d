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
from factorylab.messages import _
from factorylab.verbs import add_verb


def _default(function, name: str):
    return inspect.signature(function).parameters[name].default


def register(commands: argparse._SubParsersAction) -> None:
    coverage = add_verb(
        commands, "coverage",
        help=_("criteria x labs matrix: which lab cells assess each criterion, and how (HTML, CSV, MD)"),
        description=_("For every criterion of both referentials: the lab cells that assess it, their mode (automatic,\n"
                      "trainer-graded), points and what each checks, read from the criteria tags of the lab sources.\n"
                      "Needs no grading: run it when writing or reviewing labs."),
        examples=["factorylab coverage --out reports/", "factorylab coverage --format csv --out reports/"])
    coverage.add_argument("--labs", type=Path, default=_default(build_coverage, "labs_dir"),
                          help=_("folder of the lab sources, <lab>/<lab>.ipynb (default: %(default)s)"))
    coverage.add_argument("--out", type=Path, default=_default(build_coverage, "out_dir"),
                          help=_("output folder (created; default: %(default)s)"))
    coverage.add_argument("--format", default=",".join(_default(build_coverage, "formats")),
                          help=_("comma-separated, among {formats} (default: %(default)s)").format(
                              formats=", ".join(FORMATS)))
    coverage.add_argument("--catalogue", type=Path, help=_("referentials folder (default: course/referentials)"))
    _language_option(coverage)
    coverage.set_defaults(handler=_coverage)

    report = add_verb(
        commands, "report",
        help=_("each learner's status on every criterion from nbgrader's gradebook; heat map, CSV, badges"),
        description=_("Join nbgrader's gradebook with the labs' criteria tags: the cohort page, one page per learner,\n"
                      "competency.csv for the jury, and a signed Open Badge per acquired criterion (badges/). The\n"
                      "badges' issuer and the certifications' RNCP/RS numbers are set in <course>/badges.toml\n"
                      "(course/guides/trainer.md)."),
        examples=[
            "factorylab report --out reports/",
            "factorylab report --course ~/courses/iiot-2025 --out reports/ --lang en",
        ])
    report.add_argument("--course", type=Path, default=_default(build_report, "course_dir"),
                        help=_("nbgrader course folder holding gradebook.db and feedback/ "
                               "(default: $FACTORYLAB_COURSE, else ~/.local/share/factorylab/course)"))
    report.add_argument("--labs", type=Path, default=_default(build_report, "labs_dir"),
                        help=_("folder of the lab sources, <lab>/<lab>.ipynb (default: %(default)s)"))
    report.add_argument("--out", type=Path, default=_default(build_report, "out_dir"),
                        help=_("output folder (created; default: %(default)s)"))
    report.add_argument("--db-url", help=_("gradebook database URL (default: sqlite:///<course>/gradebook.db)"))
    report.add_argument("--catalogue", type=Path, help=_("referentials folder (default: course/referentials)"))
    _language_option(report)
    report.set_defaults(handler=_report)
    _register_evaluation(commands)

    verify = add_verb(
        commands, "verify-badge",
        help=_("check a signed badge (.jwt): signature, issuer's key, Open Badges 3.0 schema"),
        description=_("Verify badges written by `factorylab report` (reports/badges/<learner>/<criterion>.jwt):\n"
                      "the signature against the issuer's key (a did:key holds it; a did:web's is in the did.json\n"
                      "the trainer publishes), the claims against the credential, and the official 1EdTech schema.\n"
                      "The issuer and the certification numbers are set in <course>/badges.toml\n"
                      "(course/guides/trainer.md). Exit status 1 when a badge does not verify."),
        examples=[
            "factorylab verify-badge reports/badges/alice/CCPM-C1-M1.jwt",
            "factorylab verify-badge reports/badges/*/*.jwt --did-document reports/badges/did.json",
        ])
    verify.add_argument("badges", nargs="+", type=Path, metavar="FILE.jwt", help=_("signed badges to verify"))
    verify.add_argument("--did-document", type=Path, metavar="did.json",
                        help=_("the issuer's DID document, for a did:web issuer (as published)"))
    verify.set_defaults(handler=_verify_badges)
    _register_grading(commands)


def _coverage(args) -> int:
    formats = [fmt.strip() for fmt in args.format.split(",") if fmt.strip()]
    written = build_coverage(labs_dir=args.labs, out_dir=args.out, formats=formats, catalogue_dir=args.catalogue,
                             language=args.lang)
    print(_("coverage written to {files}").format(files=", ".join(str(path) for path in written)))
    return 0


def _report(args) -> int:
    written = build_report(course_dir=args.course, labs_dir=args.labs, out_dir=args.out, db_url=args.db_url,
                           catalogue_dir=args.catalogue, language=args.lang)
    print(_("report written to {page} ({count} files: learner pages, competency.csv, badges/)").format(
        page=args.out / "cohort.html", count=len(written)))
    return 0


def _verify_badges(args) -> int:
    failed = 0
    for path in args.badges:
        try:
            badge = verify_badge(path, args.did_document)
        except BadgeError as error:
            failed += 1
            print(_("NOT VALID {error}").format(error=error))
            continue
        print(_("valid     {path}: {badge}, issued by {issuer} ({issuer_id}) on {day}").format(
            path=path, badge=badge["name"], issuer=badge["issuer"]["name"], issuer_id=badge["issuer"]["id"],
            day=badge["validFrom"][:10]))
    return 1 if failed else 0


def _language_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE,
                        help=_("language of the pages (default: %(default)s); the official referential texts stay "
                               "French"))


def _register_evaluation(commands: argparse._SubParsersAction) -> None:
    """The verbs that record what a person decides: `mark` (a manual grade) and `observe` (a criterion)."""
    from autograde.course import COURSE_ENV

    course_help = _("nbgrader course folder (default: ${variable}, else ~/.local/share/factorylab/course)").format(
        variable=COURSE_ENV)
    mark = add_verb(
        commands, "mark",
        help=_("grade written answers from the terminal or a spreadsheet, in nbgrader's gradebook"),
        description=_("Give a manual grade to an answer, as nbgrader's formgrader does (same gradebook fields, so\n"
                      "formgrader, feedback, exports and reports see it, and a regrade keeps it while the answer\n"
                      "is unchanged). --pending lists the answers awaiting a grade with their text; --sheet writes\n"
                      "them as a CSV to fill in (score, comment) and --csv records a filled-in sheet, all or none."),
        examples=[
            "factorylab mark --pending lab1_prepare_data",
            'factorylab mark lab1_prepare_data learner01 lab1_identify_reasons 1.5 --comment "Cite it."',
            "factorylab mark --pending --sheet to_grade.csv   (fill in the score column, then)",
            "factorylab mark --csv to_grade.csv",
        ])
    mark.add_argument("cell", nargs="*", metavar="LAB LEARNER GRADE_ID SCORE",
                      help=_("the answer to grade and its score (0 to the cell's points; 1,5 or 1.5)"))
    mark.add_argument("--comment",
                      help=_("a comment for the learner (nbgrader's manual comment, on the feedback page)"))
    mark.add_argument("--pending", nargs="*", metavar="LAB",
                      help=_("list the answers awaiting a manual grade (in these labs; default: all)"))
    mark.add_argument("--sheet", type=Path, metavar="FILE.csv", help=_("with --pending: write them to this CSV"))
    mark.add_argument("--csv", type=Path, metavar="FILE.csv",
                      help=_("record every line of a filled-in sheet (columns learner, lab, grade_id, score, comment)"))
    mark.add_argument("--course", type=Path, help=course_help)
    mark.set_defaults(handler=_mark)

    observe = add_verb(
        commands, "observe",
        help=_("record a trainer's or jury's decision on a criterion assessed outside the labs"),
        description=_("Record that a learner acquired (or not) a criterion, with the evidence in words, who decided\n"
                      "and when: an observation at work, the oral, a written document (E1 to E4), the company. It "
                      "is\nkept in the course's database beside nbgrader's gradebook, shown in `factorylab report`, "
                      "and\ngives the criterion its status (it also settles a flagged submission after review). A "
                      "later\ndecision supersedes an earlier one; none is deleted. --csv records a sheet, all or "
                      "none\n(columns {columns}; context and date optional).").format(
                          columns=", ".join(OBSERVATION_COLUMNS)),
        examples=[
            'factorylab observe learner01 Cr1.1.1 acquired --context document --assessor "J. Martin" \\',
            '    --evidence "E1 report, section 2: strategy aligned with the plant\'s objectives"',
            "factorylab observe --csv jury_decisions.csv",
        ])
    observe.add_argument("decision", nargs="*", metavar="LEARNER CRITERION acquired|not_acquired",
                         help=_("the learner, the criterion's key (e.g. Cr1.1.1, CCPM-C1-MO3) and the decision"))
    observe.add_argument("--evidence", help=_("what was observed or read, and where (shown to the jury)"))
    observe.add_argument("--assessor", help=_("who decided: trainer, jury member, company tutor"))
    observe.add_argument("--context", choices=CONTEXTS, default="observation",
                         help=_("how it was assessed (default: %(default)s)"))
    observe.add_argument("--date", help=_("the day of the assessment, YYYY-MM-DD (default: today)"))
    observe.add_argument("--csv", type=Path, metavar="FILE.csv", help=_("record every decision of this sheet"))
    observe.add_argument("--course", type=Path, help=course_help)
    observe.add_argument("--db-url", help=_("the course's database URL (default: sqlite:///<course>/gradebook.db)"))
    observe.set_defaults(handler=_observe)


def _mark(args) -> int:
    if args.pending is not None:
        if args.cell or args.csv:
            raise AutogradeError(_("mark --pending lists answers: give no LAB LEARNER GRADE_ID SCORE and no --csv"))
        answers = pending_answers(course_dir=args.course, labs=args.pending)
        for answer in answers:
            print(f"{answer.lab} {answer.learner} {answer.grade_id} (/{answer.max_score:g} pt)")
            print("\n".join(f"    | {line}" for line in (answer.text.strip() or _("(empty)")).splitlines()))
        print(_("{count} answer(s) awaiting a manual grade").format(count=len(answers)))
        if args.sheet:
            print(_("sheet written to {sheet}: fill in the score column, then factorylab mark --csv {path}").format(
                sheet=write_sheet(answers, args.sheet), path=args.sheet))
        return 0
    if args.sheet:
        raise AutogradeError(_("mark --sheet FILE.csv goes with --pending (it writes the answers awaiting a grade)"))
    if args.csv:
        if args.cell:
            raise AutogradeError(_("mark --csv FILE.csv records a sheet: give no LAB LEARNER GRADE_ID SCORE with it"))
        marks, left = import_marks(args.csv, course_dir=args.course)
        print(_("{count} answer(s) graded from {path}").format(count=len(marks), path=args.csv)
              + (_("; {left} line(s) without a score left").format(left=left) if left
                                                                   else ""))
        return 0
    if len(args.cell) != 4:
        raise AutogradeError(_("mark: give LAB LEARNER GRADE_ID SCORE (e.g. factorylab mark lab1_prepare_data "
                               "learner01 lab1_identify_reasons 2), or --pending, or --csv FILE.csv"))
    lab, learner, grade_id, score = args.cell
    done = mark_answer(lab=lab, learner=learner, grade_id=grade_id, score=score, comment=args.comment,
                       course_dir=args.course)
    print(f"{done.lab} {done.learner} {done.grade_id}: {done.score:g} / {done.max_score:g}")
    return 0


def _observe(args) -> int:
    if args.csv:
        if args.decision:
            raise AutogradeError(_("observe --csv FILE.csv records a sheet: give no LEARNER CRITERION DECISION with "
                                   "it"))
        recorded = import_observations(args.csv, course_dir=args.course, db_url=args.db_url)
        print(_("{count} decision(s) recorded from {path}").format(count=len(recorded), path=args.csv))
        return 0
    if len(args.decision) != 3:
        raise AutogradeError(_("observe: give LEARNER CRITERION acquired|not_acquired with --evidence and "
                               "--assessor, or --csv FILE.csv"))
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
        raise AutogradeError(_("--date {text}: not a date: write it YYYY-MM-DD").format(text=text)) from None


def _register_grading(commands: argparse._SubParsersAction) -> None:
    """The trainer's grading verbs: release, grade, feedback, export, similarity (autograde/release.py...)."""
    from autograde.course import COURSE_ENV

    course_help = _("nbgrader course folder (default: ${variable}, else ~/.local/share/factorylab/course)").format(
        variable=COURSE_ENV)
    release = add_verb(
        commands, "release",
        help=_("validate lab sources and make the learners' versions"),
        description=_("Generate each lab's learners' version with nbgrader (no solutions, no hidden tests) into\n"
                      "<course>/release/, after checking the lab against itself: its solution must score full marks\n"
                      "and its blank release zero on the automatic parts (--no-check skips this)."),
        examples=["factorylab release", "factorylab release lab1_prepare_data lab2_dashboard --no-check --lang en"])
    release.add_argument("labs", nargs="*", metavar="LAB", help=_("labs to release (default: all under --labs)"))
    release.add_argument("--labs-dir", type=Path, default=_default(release_labs, "labs_dir"),
                         help=_("folder of the lab sources, <lab>/<lab>.ipynb (default: %(default)s)"))
    release.add_argument("--course", type=Path, help=course_help)
    release.add_argument("--no-check", action="store_true",
                         help=_("skip grading the solution and the blank release against the tests"))
    release.add_argument("--lang", choices=LANGUAGES,
                         help=_("language of the learners' notebooks (default: the course's setting, language in "
                                "<course>/course.toml, else fr); grading is the same in every language"))
    release.set_defaults(handler=_release)

    collect = add_verb(
        commands, "collect",
        help=_("import a cohort's notebooks (an LMS download, folder or zip) into submitted/"),
        description=_("Moodle, Canvas, Brightspace, Blackboard, Teams, Google Classroom, nbgrader's exchange and\n"
                      "JupyterHub home folders are recognised by their names; the learner is the LMS's own identity.\n"
                      "Every file is reported: placed, superseded (an older copy), skipped or refused; the exit\n"
                      "status is 1 when something was refused."),
        examples=[
            "factorylab collect moodle-download.zip",
            "factorylab collect submissions/ --roster roster.csv --timezone Europe/Paris",
        ])
    collect.add_argument("path", type=Path, help=_("the LMS download: a folder or a zip file"))
    collect.add_argument("--course", type=Path, help=course_help)
    collect.add_argument("--roster", type=Path, metavar="FILE.csv",
                         help=_("CSV (Excel's too) with a 'learner' column (the learner id) and any of name, email, "
                                "username, lms_id: only its learners are placed"))
    collect.add_argument("--replace", action="store_true",
                         help=_("overwrite a learner's earlier submission of a lab (never another learner's)"))
    collect.add_argument("--timezone", metavar="ZONE",
                         help=_("IANA time zone of the LMS's local times (zip dates, Blackboard's and Brightspace's "
                                "names), e.g. Europe/Paris (default: this machine's)"))
    collect.set_defaults(handler=_collect)

    grade = add_verb(
        commands, "grade",
        help=_("autograde every submission in parallel, sandboxed; print a summary"),
        description=_("Run every submission of <course>/submitted/ in the bubblewrap sandbox, on each learner's\n"
                      "secret variant, and record nbgrader's grades in the gradebook. The summary gives each\n"
                      "submission's status, score, failed tests and answers to grade by hand; the exit status is 1\n"
                      "when a submission could not be graded. An unknown lab or learner is an error naming those\n"
                      "that exist."),
        examples=["factorylab grade", "factorylab grade lab1_prepare_data --learner learner01 --learner ada"])
    grade.add_argument("labs", nargs="*", metavar="LAB", help=_("labs to grade (default: every released lab)"))
    grade.add_argument("--course", type=Path, help=course_help)
    grade.add_argument("--learner", action="append", default=[], help=_("grade only this learner (repeatable)"))
    grade.add_argument("--labs-dir", type=Path, default=_default(grade_cohort, "labs_dir"),
                       help=_("lab sources, hidden from the learners' kernels (default: %(default)s)"))
    grade.add_argument("--workers", type=int, help=_("parallel kernels (default: one per core)"))
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help=_("grade on this Dask cluster, e.g. tcp://grader:8786 (its workers need factorylab, "
                              "bubblewrap and the course folder at the same path); the gradebook stays written here"))
    grade.add_argument("--cell-timeout", type=int, default=DEFAULT_LIMITS.cell_timeout_s, help=_("seconds per cell"))
    grade.add_argument("--notebook-timeout", type=int, default=DEFAULT_LIMITS.notebook_timeout_s,
                       help=_("seconds per notebook (default: %(default)s)"))
    grade.add_argument("--memory-mb", type=int, default=DEFAULT_LIMITS.memory_mb,
                       help=_("memory per kernel, MB (default: %(default)s)"))
    grade.add_argument("--unsafe", action="store_true",
                       help=_("grade without the bubblewrap sandbox where it is missing (not fit for certification: "
                              "every summary says so)"))
    grade.set_defaults(handler=_grade)

    feedback = add_verb(
        commands, "feedback",
        help=_("per-learner feedback pages (HTML) without hidden tests"),
        description=_("Write nbgrader's feedback page of every graded submission into <course>/feedback/<learner>/\n"
                      "<lab>/: each graded cell with its score and the grader's message, never the hidden tests.\n"
                      "Send them after manual grading: answers still to grade show as pending."),
        examples=["factorylab feedback", "factorylab feedback lab2_dashboard"])
    feedback.add_argument("labs", nargs="*", metavar="LAB", help=_("labs (default: every graded lab)"))
    feedback.add_argument("--course", type=Path, help=course_help)
    feedback.set_defaults(handler=_feedback)

    export = add_verb(
        commands, "export",
        help=_("grades as CSV: per learner and lab, and per cell"),
        description=_("Write grades.csv (one row per learner and lab) and cells.csv (one row per graded cell) from\n"
                      "nbgrader's gradebook, for a spreadsheet or an LMS's grade import."),
        examples=["factorylab export --out grades/"])
    export.add_argument("--course", type=Path, help=course_help)
    export.add_argument("--out", type=Path, default=_default(export_grades, "out_dir"),
                        help=_("output folder (default: %(default)s)"))
    export.set_defaults(handler=_export)

    similarity = add_verb(
        commands, "similarity",
        help=_("pairs of learners whose answers share much code, or share it with the solution"),
        description=_("Compare the code of the answer cells of each learner's submitted notebook with every other\n"
                      "learner's and with the reference solution (copydetect's winnowing: variable names and\n"
                      "comments do not matter, the released stubs do not count). Notebooks are read, never run.\n"
                      "The result is a list for the trainer to read, never an automatic penalty."),
        examples=["factorylab similarity lab1_prepare_data --threshold 0.6 --out similarity.csv"])
    similarity.add_argument("labs", nargs="*", metavar="LAB", help=_("labs to compare (default: every released lab)"))
    similarity.add_argument("--course", type=Path, metavar="DIR", help=course_help)
    similarity.add_argument("--threshold", type=float, metavar="X", default=_default(find_similar, "threshold"),
                            help=_("list a pair when this fraction of either answer's code is found in the other "
                                   "(0 to 1, default: %(default)s)"))
    similarity.add_argument("--out", type=Path, metavar="FILE.csv", help=_("also write the pairs to this CSV file"))
    similarity.set_defaults(handler=_similarity)


def _release(args) -> int:
    released = release_labs(labs_dir=args.labs_dir, course_dir=args.course, labs=args.labs, check=not args.no_check,
                            language=args.lang)
    print(_("released {labs}").format(labs=", ".join(str(path) for path in released)))
    return 0


def _collect(args) -> int:
    result = collect_cohort(source=args.path, course_dir=args.course, roster=args.roster, replace=args.replace,
                            timezone=args.timezone)
    print(_("download read as: {format}").format(format=result.format))
    print(_("placed {count} notebook(s):").format(count=len(result.placed)))
    for placed in result.placed:
        print(f"  {placed}")
    for title, items in ((_("superseded by a later copy"), result.superseded), (_("skipped"), result.skipped),
                         (_("REFUSED, to act on, then collect again"), result.refused)):
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
    print(_("{count} feedback page(s) under {folder}").format(count=len(pages),
                                                              folder=Course.at(args.course).feedback))
    return 0


def _export(args) -> int:
    written = export_grades(course_dir=args.course, out_dir=args.out)
    print(_("grades written to {files}").format(files=", ".join(str(path) for path in written)))
    return 0


def _similarity(args) -> int:
    report = find_similar(course_dir=args.course, labs=args.labs, threshold=args.threshold)
    print(format_table(report))
    if args.out:
        print(_("pairs written to {path}").format(path=write_csv(report, args.out)))
    return 0
