"""The criteria x labs coverage matrix: statuses, the three output formats, and its refusals."""

import csv
import html
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from example_course import CATALOGUE_CRITERIA, HIDDEN_MARKER, demo_notebook, extra_notebook

from autograde.catalogue import load_catalogue
from autograde.coverage import build_coverage, coverage_rows
from autograde.criteria_tags import load_tagged_cells
from autograde.errors import AutogradeError, TagError
from autograde.i18n import translations

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture()
def labs_dir(tmp_path) -> Path:
    for lab, notebook in (("lab_demo", demo_notebook(CATALOGUE_CRITERIA)),
                          ("lab_extra", extra_notebook(CATALOGUE_CRITERIA))):
        (tmp_path / "labs" / lab).mkdir(parents=True)
        nbformat.write(notebook, tmp_path / "labs" / lab / f"{lab}.ipynb")
    return tmp_path / "labs"


def test_every_criterion_gets_a_row_with_its_status(labs_dir, catalogue):
    rows = {row.criterion.key: row for row in coverage_rows(load_tagged_cells(labs_dir, catalogue), catalogue)}
    assert list(rows) == list(catalogue.criteria)
    assert rows["CCPM-C1-M1"].status == "covered"
    assert [cell.grade_id for cell in rows["CCPM-C1-M1"].cells] == ["demo_mean_rate_test", "demo_zero_rate_test"]
    assert rows["CCPM-C1-M1"].points == 3.0
    assert rows["CCPM-C1-MO2"].status == "covered"  # mixed: one auto and one manual cell
    assert rows["Cr3.2.3"].status == "covered"
    assert rows["CCPM-C1-M2"].status == "not_covered"
    outside = next(key for key, criterion in catalogue.criteria.items() if criterion.assessment == "outside")
    assert rows[outside].status == "outside_labs"


def test_an_auto_criterion_with_only_manual_cells_is_incomplete(tmp_path, catalogue):
    notebook = demo_notebook(CATALOGUE_CRITERIA)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "demo_explain":
            cell.metadata["factorylab"]["criteria"] = ["Cr3.3.1"]  # auto in the catalogue
    (tmp_path / "lab_demo").mkdir()
    nbformat.write(notebook, tmp_path / "lab_demo" / "lab_demo.ipynb")
    rows = {row.criterion.key: row for row in coverage_rows(load_tagged_cells(tmp_path, catalogue), catalogue)}
    assert rows["Cr3.3.1"].status == "incomplete"
    assert "no autograded test cell" in rows["Cr3.3.1"].gap


def test_build_coverage_writes_html_csv_and_markdown(labs_dir, tmp_path, catalogue):
    out = tmp_path / "out"
    written = build_coverage(labs_dir=labs_dir, out_dir=out)
    assert written == [out / "coverage.html", out / "coverage.csv", out / "coverage.md"]

    with (out / "coverage.csv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    # one row per criterion x evidencing cell (M1, MO1, MO2: 2 cells each; Cr3.2.3: 1), one row for the others
    assert len(rows) == len(catalogue.criteria) - 4 + 2 + 2 + 2 + 1
    mean_rate = [row for row in rows if row["grade_id"] == "demo_mean_rate_test"]
    assert {row["criterion_id"] for row in mean_rate} == {"CCPM-C1-M1", "CCPM-C1-MO2"}
    assert mean_rate[0]["cell_mode"] == "auto" and mean_rate[0]["points"] == "2"
    assert mean_rate[0]["text_fr"] == catalogue.criteria["CCPM-C1-M1"].text_fr
    uncovered = next(row for row in rows if row["criterion_id"] == "CCPM-C1-M2")
    assert (uncovered["status"], uncovered["grade_id"]) == ("not_covered", "")

    page = (out / "coverage.html").read_text(encoding="utf-8")
    assert "✗ non couvert" in page and 'class="gap"' in page  # French by default
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page  # no CDN

    markdown = (out / "coverage.md").read_text(encoding="utf-8")
    assert "| ccpm_iiot | CCPM-C1 | CCPM-C1-M1 | automatique | couvert |" in markdown
    assert "lab_demo/demo_zero_rate_test — automatique, 1 pt : An idle machine gives a zero rate." in markdown


def test_a_criterion_s_mode_is_read_from_its_cells_beside_the_catalogue_s_plan(labs_dir, tmp_path, catalogue):
    """The real lab1: CCPM-C1-M3 is planned `auto`, but one of its cells is graded by the trainer: `mixed`."""
    lab1 = tmp_path / "labs" / "lab1_prepare_data"
    lab1.mkdir(parents=True)
    shutil.copy(ROOT / "labs" / "lab1_prepare_data" / "lab1_prepare_data.ipynb", lab1)
    real = {row.criterion.key: row for row in coverage_rows(load_tagged_cells(lab1.parent, catalogue), catalogue)}
    m3 = real["CCPM-C1-M3"]
    assert (m3.criterion.assessment, m3.mode) == ("auto", "mixed")
    assert {cell.mode for cell in m3.cells} == {"auto", "manual"}
    build_coverage(labs_dir=lab1.parent, out_dir=tmp_path, formats=["csv", "html"], language="en")
    with (tmp_path / "coverage.csv").open(encoding="utf-8") as stream:
        rows = [row for row in csv.DictReader(stream) if row["criterion_key"] == "CCPM-C1-M3"]
    assert {(row["assessment"], row["mode"]) for row in rows} == {("auto", "mixed")}
    page = _visible(tmp_path / "coverage.html")
    assert "mixed planned: automatic" in page


def test_every_format_gives_an_outside_criterion_s_reason_as_text(labs_dir, tmp_path, catalogue):
    outside = next(criterion for criterion in catalogue.criteria.values() if criterion.assessment == "outside")
    french = translations("referentials", "fr").gettext(outside.reason)
    assert french != outside.reason  # translated
    build_coverage(labs_dir=labs_dir, out_dir=tmp_path / "fr")
    build_coverage(labs_dir=labs_dir, out_dir=tmp_path / "en", language="en")
    assert french in _visible(tmp_path / "fr" / "coverage.html")  # shown, not a tooltip
    assert outside.reason in _visible(tmp_path / "en" / "coverage.html")
    assert french.replace("|", "\\|") in (tmp_path / "fr" / "coverage.md").read_text(encoding="utf-8")
    with (tmp_path / "en" / "coverage.csv").open(encoding="utf-8") as stream:
        row = next(row for row in csv.DictReader(stream) if row["criterion_key"] == outside.key)
    assert (row["status"], row["reason"]) == ("outside_labs", outside.reason)


def test_english_on_request_french_by_default_no_machine_path(labs_dir, tmp_path):
    build_coverage(labs_dir=labs_dir, out_dir=tmp_path / "fr")
    build_coverage(labs_dir=labs_dir, out_dir=tmp_path / "en", language="en")
    french, english = _visible(tmp_path / "fr" / "coverage.html"), _visible(tmp_path / "en" / "coverage.html")
    assert "Couverture des critères par les labs" in french and "Statut" in french
    assert "Criteria coverage of the labs" in english and "Status" in english
    for path in [*(tmp_path / "fr").iterdir(), *(tmp_path / "en").iterdir()]:
        assert str(tmp_path) not in path.read_text(encoding="utf-8"), path  # no folder of this machine
    with pytest.raises(AutogradeError, match="--lang de: not a language of factorylab: choose one of fr, en"):
        build_coverage(labs_dir=labs_dir, out_dir=tmp_path / "de", language="de")


def _visible(page: Path) -> str:
    """The text a reader sees on a page: tags, style and script removed, spaces collapsed."""
    text = re.sub(r"<(script|style)>.*?</\1>", " ", page.read_text(encoding="utf-8"), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def test_reports_show_statements_never_test_code(labs_dir, tmp_path):
    for path in build_coverage(labs_dir=labs_dir, out_dir=tmp_path / "out"):
        text = path.read_text(encoding="utf-8")
        assert HIDDEN_MARKER not in text
        assert "assert mean_rate" not in text


def test_a_format_subset_writes_only_those(labs_dir, tmp_path):
    assert build_coverage(labs_dir=labs_dir, out_dir=tmp_path, formats=["md"]) == [tmp_path / "coverage.md"]


def test_unknown_format_is_refused(labs_dir, tmp_path):
    with pytest.raises(AutogradeError, match="--format: pdf: allowed formats are html, csv, md"):
        build_coverage(labs_dir=labs_dir, out_dir=tmp_path, formats=["html", "pdf"])


def test_wrong_tags_stop_the_matrix(tmp_path):
    notebook = demo_notebook(CATALOGUE_CRITERIA)
    notebook.cells[2].metadata["factorylab"]["criteria"] = ["Cr3.2.99"]
    (tmp_path / "labs" / "lab_demo").mkdir(parents=True)
    nbformat.write(notebook, tmp_path / "labs" / "lab_demo" / "lab_demo.ipynb")
    with pytest.raises(TagError, match=r"unknown criterion key 'Cr3\.2\.99'"):
        build_coverage(labs_dir=tmp_path / "labs", out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_no_lab_yet_lists_every_criterion_as_not_covered_or_outside(tmp_path, catalogue):
    (tmp_path / "labs").mkdir()
    build_coverage(labs_dir=tmp_path / "labs", out_dir=tmp_path, formats=["csv"])
    with (tmp_path / "coverage.csv").open(encoding="utf-8") as stream:
        statuses = {row["criterion_key"]: row["status"] for row in csv.DictReader(stream)}
    assert len(statuses) == len(catalogue.criteria)
    assert set(statuses.values()) == {"not_covered", "outside_labs"}


def test_the_repository_labs_assess_the_rncp_title_with_automatic_evidence_for_most_criteria(catalogue):
    """Issue 12's bar: at least 42 of the 46 RNCP criteria assessed in the labs as the catalogue says, at least 28
    of them with automatic evidence (an autograded test cell)."""
    rows = [row for row in coverage_rows(load_tagged_cells(ROOT / "labs", catalogue), catalogue)
            if row.criterion.referential == "rncp_mnsi"]
    assert len(rows) == 46
    assessed = [row.criterion.key for row in rows if row.status == "covered"]
    automatic = [row.criterion.key for row in rows if any(cell.mode == "auto" for cell in row.cells)]
    assert len(assessed) >= 42, sorted(set(row.criterion.key for row in rows) - set(assessed))
    assert len(automatic) >= 28, len(automatic)
