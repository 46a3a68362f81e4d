"""The criteria x labs coverage matrix: for every criterion of the catalogue, which lab cells assess it and how.

For evaluators and trainers: each criterion's official French text (English beside it), its assessment mode in
the catalogue, and per lab the graded cells evidencing it (grade_id, auto or manual, points, and the `checks`
sentence saying what the cell verifies). The status column says whether the labs assess the criterion as the
catalogue says (rule in autograde/criteria_tags.py `coverage_gap`): `covered`, `incomplete` (some cells, but not
of the mode the catalogue needs), `not_covered`, or `outside_labs` (judged outside the labs: by the jury, in
the workplace). Written as a self-contained HTML page, CSV (one row per criterion x cell) and Markdown.
Only tags and statements are read from the labs, never cell sources: hidden tests cannot leak into a report.
"""

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from autograde import html_report
from autograde.catalogue import load_catalogue
from autograde.criteria_tags import GradedCell, cells_by_criterion, coverage_gap, criterion_group, load_tagged_cells
from autograde.errors import AutogradeError
from autograde.html_report import Cell, Column, Row, Table, escape

FORMATS = ("html", "csv", "md")
STATUS_LABELS = {
    "covered": "covered ✓",
    "incomplete": "incomplete ⚠",
    "not_covered": "NOT COVERED ✗",
    "outside_labs": "outside the labs",
}


@dataclass(frozen=True)
class CoverageRow:
    """One criterion with the cells evidencing it and its coverage status (a key of STATUS_LABELS)."""

    criterion: object
    cells: tuple[GradedCell, ...]
    status: str
    gap: str | None

    @property
    def points(self) -> float:
        return sum(cell.points for cell in self.cells)


def coverage_rows(cells: Iterable[GradedCell], catalogue) -> list[CoverageRow]:
    """Every criterion of the catalogue, in catalogue order, with its evidencing cells and status."""
    evidence = cells_by_criterion(cells)
    rows = []
    for key, criterion in catalogue.criteria.items():
        found = tuple(evidence.get(key, ()))
        gap = None if criterion.assessment == "outside" else coverage_gap(criterion, found)
        if criterion.assessment == "outside":
            status = "outside_labs"
        elif gap is None:
            status = "covered"
        else:
            status = "incomplete" if found else "not_covered"
        rows.append(CoverageRow(criterion=criterion, cells=found, status=status, gap=gap))
    return rows


def build_coverage(*, labs_dir: Path = Path("labs"), out_dir: Path = Path("reports"),
                   formats: Sequence[str] = FORMATS, catalogue_dir: Path | None = None) -> list[Path]:
    """Write the coverage matrix of the labs under `labs_dir` into `out_dir` (coverage.html/.csv/.md).

    Raises TagError when the labs' tags are wrong (unknown criterion, graded cell untagged…), since a matrix
    built on them would be silently wrong. Returns the files written.
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise AutogradeError(f"--format: {', '.join(unknown) or 'nothing given'}: allowed formats are "
                             f"{', '.join(FORMATS)} (comma-separated)")
    catalogue = load_catalogue(catalogue_dir)
    cells = load_tagged_cells(Path(labs_dir), catalogue)
    rows = coverage_rows(cells, catalogue)
    labs = sorted({cell.lab for cell in cells})
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    writers = {"html": _write_html, "csv": _write_csv, "md": _write_markdown}
    written = []
    for fmt in FORMATS:
        if fmt in formats:
            path = out_dir / f"coverage.{fmt}"
            writers[fmt](path, rows, labs, Path(labs_dir))
            written.append(path)
    return written


def _cell_summary(cell: GradedCell) -> str:
    return f"{cell.grade_id} ({cell.mode}, {cell.points:g} pt): {cell.checks}"


def _html_row(position: int, row: CoverageRow, labs: Sequence[str]) -> Row:
    criterion = row.criterion
    lab_cells = []
    for lab in labs:
        cells = [cell for cell in row.cells if cell.lab == lab]
        items = "".join(
            f'<li><code>{escape(cell.grade_id)}</code> <b>{escape(cell.mode)}</b>, {cell.points:g} pt: '
            f"{escape(cell.checks)}</li>" for cell in cells)
        lab_cells.append(Cell(
            text="; ".join(_cell_summary(cell) for cell in cells),
            html=f'<ul class="cells">{items}</ul>' if cells else "",
            sort=sum(cell.points for cell in cells),
        ))
    status_title = row.gap or ""
    return Row(
        key=criterion.key,
        css="gap" if row.status in ("not_covered", "incomplete") else "",
        cells=[
            *html_report.criterion_cells(criterion, criterion_group(criterion), position),
            *lab_cells,
            Cell(f"{row.points:g}", sort=row.points),
            Cell(", ".join(criterion.planned_labs)),
            Cell(row.status, html=escape(STATUS_LABELS[row.status]), css=f"status-{row.status}",
                 title=status_title),
        ],
    )


def _write_html(path: Path, rows: Sequence[CoverageRow], labs: Sequence[str], labs_dir: Path) -> None:
    columns = [
        *html_report.CRITERION_COLUMNS,
        *[Column(f"lab:{lab}", lab) for lab in labs],
        Column("points", "Points"),
        Column("planned", "Planned labs"),
        Column("status", "Status", filter=True),
    ]
    counts = {status: sum(row.status == status for row in rows) for status in STATUS_LABELS}
    summary = ", ".join(f"{count} {STATUS_LABELS[status]}" for status, count in counts.items())
    intro = (
        f"<p>Labs read from <code>{escape(labs_dir)}</code>: {len(labs)} lab(s). "
        f"{len(rows)} criteria: {escape(summary)}.</p>"
        "<p>Mode: <b>auto</b> = autograded test cell, <b>manual</b> = manually graded answer or task. "
        "Each cell is described by what it verifies; test code is never shown. Criteria whose labs do not "
        "assess them as the catalogue says are marked with a red edge and a red status.</p>"
    )
    table = Table(columns=columns, rows=[_html_row(position, row, labs) for position, row in enumerate(rows)])
    path.write_text(html_report.render_page(title="factorylab: criteria coverage of the labs",
                                            intro_html=intro, table=table), encoding="utf-8")


CSV_FIELDS = ("referential", "group", "criterion_id", "criterion_key", "assessment", "status", "gap",
              "text_fr", "text_en", "planned_labs", "lab", "notebook", "grade_id", "cell_mode", "points", "checks")


def _write_csv(path: Path, rows: Sequence[CoverageRow], labs: Sequence[str], labs_dir: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in rows:
            criterion = row.criterion
            base = {
                "referential": criterion.referential, "group": criterion_group(criterion),
                "criterion_id": criterion.id, "criterion_key": criterion.key, "assessment": criterion.assessment,
                "status": row.status, "gap": row.gap or "", "text_fr": criterion.text_fr,
                "text_en": criterion.text_en, "planned_labs": " ".join(criterion.planned_labs),
            }
            for cell in row.cells or (None,):
                writer.writerow(base | ({} if cell is None else {
                    "lab": cell.lab, "notebook": cell.notebook, "grade_id": cell.grade_id,
                    "cell_mode": cell.mode, "points": f"{cell.points:g}", "checks": cell.checks,
                }))


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _write_markdown(path: Path, rows: Sequence[CoverageRow], labs: Sequence[str], labs_dir: Path) -> None:
    lines = [
        "# Criteria coverage of the labs",
        "",
        f"Labs read from `{labs_dir}`: {', '.join(labs) or 'none yet'}. Mode: auto = autograded test cell, "
        "manual = manually graded answer or task.",
        "",
        "| Referential | Bloc / competence | ID | Mode | Status | Cells (lab/grade_id, mode, points: what it checks) "
        "| Official text (FR) | English |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        criterion = row.criterion
        cells = "<br>".join(f"{cell.lab}/{_cell_summary(cell)}" for cell in row.cells)
        lines.append("| " + " | ".join(_md(value) for value in (
            criterion.referential, criterion_group(criterion), criterion.id, criterion.assessment,
            STATUS_LABELS[row.status], cells, criterion.text_fr, criterion.text_en)) + " |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
