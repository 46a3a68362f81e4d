"""Sub-commands for evaluators and trainers: `factorylab coverage` and `factorylab report`.

Each handler only turns parsed arguments into a call of the keyword-only function that does the work
(`build_coverage`, `build_report`), and takes its defaults from that function, so the command line and the
Python API cannot drift. Errors are AutogradeError subclasses, which factorylab/cli.py prints as one line.
"""

import argparse
import inspect
from pathlib import Path

from autograde.badges import Issuer
from autograde.competency import build_report
from autograde.coverage import FORMATS, build_coverage


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
                        help="nbgrader course folder holding gradebook.db and feedback/ (default: %(default)s)")
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
