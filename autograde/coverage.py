"""The criteria x labs coverage matrix: for every criterion of the catalogue, which lab cells assess it and how.

For evaluators and trainers: each criterion's official French text, its mode read from the cells that assess it
(`auto`: autograded test cells only, `manual`: cells the trainer grades only, `mixed`: both; `outside` for a
criterion the catalogue leaves to the jury or the company, `none` while no cell assesses it), and the graded
cells evidencing it (lab, grade_id, mode, points, and the `checks` sentence saying what the cell verifies). The
status says whether the labs assess the criterion as the catalogue plans (rule in autograde/criteria_tags.py
`coverage_gap`): `covered`, `incomplete` (some cells, but not of the mode the catalogue needs), `not_covered`,
or `outside_labs`; every criterion's reason from the catalogue is shown beside it, in every format.
Written as a self-contained HTML page and a Markdown file from templates (autograde/templates/coverage.html,
coverage.md; French by default, English with `language="en"`), and a CSV (one row per criterion x cell).
Only tags and statements are read from the labs, never cell sources: hidden tests cannot leak into a report.
"""

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from autograde import html_report
from autograde.catalogue import load_catalogue
from autograde.criteria_tags import (
    AUTO,
    MANUAL,
    GradedCell,
    cells_by_criterion,
    coverage_gap,
    criterion_group,
    load_tagged_cells,
)
from autograde.errors import AutogradeError
from autograde.i18n import DEFAULT_LANGUAGE, check_language, translated_checks, translations

FORMATS = ("html", "csv", "md")
STATUSES = ("covered", "incomplete", "not_covered", "outside_labs")
MODES = (AUTO, MANUAL, "mixed", "outside", "none")


def assessed_mode(criterion, cells: Sequence[GradedCell]) -> str:
    """How the labs assess `criterion`, read from the cells that evidence it (never from the catalogue's plan,
    which may differ): `auto`, `manual` or `mixed`; `outside` or `none` when no cell does."""
    modes = {cell.mode for cell in cells}
    if modes == {AUTO}:
        return AUTO
    if modes == {MANUAL}:
        return MANUAL
    if modes:
        return "mixed"
    return "outside" if criterion.assessment == "outside" else "none"


@dataclass(frozen=True)
class CoverageRow:
    """One criterion with the cells evidencing it, its mode read from them and its coverage status."""

    criterion: object
    cells: tuple[GradedCell, ...]
    status: str
    gap: str | None
    position: int = 0  # in catalogue order, by which the ID column sorts (Cr3.10 after Cr3.9)

    @property
    def points(self) -> float:
        return sum(cell.points for cell in self.cells)

    @property
    def mode(self) -> str:
        return assessed_mode(self.criterion, self.cells)

    @property
    def group(self) -> str:
        return criterion_group(self.criterion)

    @property
    def labs(self) -> list[str]:
        return list(dict.fromkeys(cell.lab for cell in self.cells))


@dataclass(frozen=True)
class Group:
    """The rows of one bloc (RNCP) or competence (CCPM), the unit by which the pages group criteria."""

    unit: object
    referential: object
    rows: list


def coverage_rows(cells: Iterable[GradedCell], catalogue) -> list[CoverageRow]:
    """Every criterion of the catalogue, in catalogue order, with its evidencing cells and status."""
    evidence = cells_by_criterion(cells)
    rows = []
    for position, (key, criterion) in enumerate(catalogue.criteria.items()):
        found = tuple(evidence.get(key, ()))
        gap = None if criterion.assessment == "outside" else coverage_gap(criterion, found)
        if criterion.assessment == "outside":
            status = "outside_labs"
        elif gap is None:
            status = "covered"
        else:
            status = "incomplete" if found else "not_covered"
        rows.append(CoverageRow(criterion=criterion, cells=found, status=status, gap=gap, position=position))
    return rows


def groups(rows: Sequence, catalogue) -> list[Group]:
    """`rows` (anything with a `.criterion`) by bloc or competence, in catalogue order."""
    grouped: dict[str, Group] = {}
    for row in rows:
        unit_id = criterion_group(row.criterion)
        if unit_id not in grouped:
            grouped[unit_id] = Group(unit=catalogue.units[unit_id],
                                     referential=catalogue.referentials[row.criterion.referential], rows=[])
        grouped[unit_id].rows.append(row)
    return list(grouped.values())


def build_coverage(*, labs_dir: Path = Path("labs"), out_dir: Path = Path("reports"),
                   formats: Sequence[str] = FORMATS, catalogue_dir: Path | None = None,
                   language: str = DEFAULT_LANGUAGE) -> list[Path]:
    """Write the coverage matrix of the labs under `labs_dir` into `out_dir` (coverage.html/.csv/.md), in
    `language` (fr or en; the official texts stay French).

    Raises TagError when the labs' tags are wrong (unknown criterion, graded cell untagged…), since a matrix
    built on them would be silently wrong. Returns the files written.
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise AutogradeError(f"--format: {', '.join(unknown) or 'nothing given'}: allowed formats are "
                             f"{', '.join(FORMATS)} (comma-separated)")
    check_language(language)
    catalogue = load_catalogue(catalogue_dir)
    cells = translated_checks(load_tagged_cells(Path(labs_dir), catalogue), language)
    rows = coverage_rows(cells, catalogue)
    context = {
        "rows": rows,
        "groups": groups(rows, catalogue),
        "labs": sorted({cell.lab for cell in cells}),
        "referentials": catalogue.referentials,
        "counts": {status: sum(row.status == status for row in rows) for status in STATUSES},
        "modes": [mode for mode in MODES if any(row.mode == mode for row in rows)],
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in FORMATS:
        if fmt not in formats:
            continue
        path = out_dir / f"coverage.{fmt}"
        if fmt == "csv":
            _write_csv(path, rows, language)
        else:
            html_report.write(path, f"coverage.{fmt}", language=language, **context)
        written.append(path)
    return written


CSV_FIELDS = ("referential", "group", "criterion_id", "criterion_key", "assessment", "mode", "status", "gap",
              "reason", "text_fr", "text_en", "planned_labs", "lab", "notebook", "grade_id", "cell_mode", "points",
              "checks")


def _write_csv(path: Path, rows: Sequence[CoverageRow], language: str) -> None:
    """One row per criterion x evidencing cell (one row alone for a criterion no cell evidences). `assessment`
    is the catalogue's plan, `mode` what the cells do; `reason` is the catalogue's, in `language`. A cell is named
    by lab, notebook (nbgrader's name: the file's stem) and grade_id, never by a path on this machine."""
    reasons = translations("referentials", language)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in rows:
            criterion = row.criterion
            base = {
                "referential": criterion.referential, "group": criterion_group(criterion),
                "criterion_id": criterion.id, "criterion_key": criterion.key, "assessment": criterion.assessment,
                "mode": row.mode, "status": row.status, "gap": row.gap or "",
                "reason": reasons.gettext(criterion.reason) if criterion.reason else "",
                "text_fr": criterion.text_fr, "text_en": criterion.text_en,
                "planned_labs": " ".join(criterion.planned_labs),
            }
            for cell in row.cells or (None,):
                writer.writerow(base | ({} if cell is None else {
                    "lab": cell.lab, "notebook": cell.notebook, "grade_id": cell.grade_id,
                    "cell_mode": cell.mode, "points": f"{cell.points:g}", "checks": cell.checks,
                }))
