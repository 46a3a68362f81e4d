"""The report pages in a real headless Chromium: they render, sort, filter, and show the official text.

Views are set through the URL fragment and read back with `--dump-dom` (the DOM after the page's script ran);
one test clicks and types through the DevTools protocol, as a person would.
"""

import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from chromium import CHROMIUM_FLAGS, devtools_page, find_chromium
from example_course import CATALOGUE_CRITERIA, demo_notebook, extra_notebook, shared_example_course

from autograde.catalogue import load_catalogue
from autograde.competency import build_report
from autograde.coverage import build_coverage

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> str:
    return find_chromium()


@pytest.fixture(scope="module")
def coverage_page(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser_coverage")
    for lab, notebook in (("lab_demo", demo_notebook(CATALOGUE_CRITERIA)),
                          ("lab_extra", extra_notebook(CATALOGUE_CRITERIA))):
        (root / "labs" / lab).mkdir(parents=True)
        nbformat.write(notebook, root / "labs" / lab / f"{lab}.ipynb")
    build_coverage(labs_dir=root / "labs", out_dir=root / "out", formats=["html"])
    return root / "out" / "coverage.html"


@pytest.fixture(scope="module")
def cohort_page(tmp_path_factory) -> Path:
    course = shared_example_course(tmp_path_factory)
    out = tmp_path_factory.mktemp("browser_report")
    build_report(course_dir=course.root, labs_dir=course.labs_dir, out_dir=out)
    return out / "cohort.html"


class _Rows(HTMLParser):
    """The table rows of a dumped DOM: key, hidden or not, and each cell's text."""

    def __init__(self):
        super().__init__()
        self.rows: list[dict] = []
        self.count_text = ""
        self._cell: list[str] | None = None
        self._in_count = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-key" in attrs:
            self.rows.append({"key": attrs["data-key"], "hidden": "hidden" in attrs, "cells": []})
        elif tag == "td" and self.rows:
            self._cell = []
        elif tag == "span" and attrs.get("id") == "row-count":
            self._in_count = True

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "span":
            self._in_count = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_count:
            self.count_text += data


def dump(chromium: str, page: Path, fragment: str, tmp_path: Path) -> _Rows:
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         f"{page.as_uri()}#{fragment}"],
        capture_output=True, text=True, timeout=90, check=True)
    parsed = _Rows()
    parsed.feed(result.stdout)
    assert parsed.rows, result.stderr[-2000:]
    return parsed


def visible(rows: _Rows) -> list[str]:
    return [row["key"] for row in rows.rows if not row["hidden"]]


def test_coverage_page_renders_every_criterion_with_its_official_text(chromium, coverage_page, tmp_path):
    catalogue = load_catalogue()
    rows = dump(chromium, coverage_page, "", tmp_path)
    assert visible(rows) == list(catalogue.criteria)
    assert rows.count_text == f"{len(catalogue.criteria)} of {len(catalogue.criteria)} rows shown"
    by_key = {row["key"]: row for row in rows.rows}
    for key in ("Cr1.2.4@A1.3", "CCPM-C1-M1", "Cr3.2.3"):
        criterion = catalogue.criteria[key]
        text_cell = by_key[key]["cells"][3]
        assert text_cell.startswith(" ".join(criterion.text_fr.split()))
        assert by_key[key]["cells"][2] == criterion.id


def test_coverage_page_filters_by_referential_status_and_text(chromium, coverage_page, tmp_path):
    rows = dump(chromium, coverage_page, "referential=rncp_mnsi&status=covered", tmp_path)
    assert visible(rows) == ["Cr3.2.3"]
    assert rows.count_text.startswith("1 of ")
    rows = dump(chromium, coverage_page, "q=idle%20machine", tmp_path)
    assert visible(rows) == ["CCPM-C1-M1"]


def test_coverage_page_sorts_numerically_and_in_both_directions(chromium, coverage_page, tmp_path):
    rows = dump(chromium, coverage_page, "sort=points&dir=desc", tmp_path)
    assert visible(rows)[:4] == ["CCPM-C1-MO2", "CCPM-C1-M1", "CCPM-C1-MO1", "Cr3.2.3"]  # 4, 3, 3, 1 points
    rows = dump(chromium, coverage_page, "sort=id&dir=desc", tmp_path)
    assert visible(rows)[0] == list(load_catalogue().criteria)[-1]  # catalogue order, reversed


def test_cohort_heat_map_filters_by_bloc_and_sorts_by_learner(chromium, cohort_page, tmp_path):
    rows = dump(chromium, cohort_page, "group=CCPM-C1&sort=learner%3Abob&dir=asc", tmp_path)
    shown = [row for row in rows.rows if not row["hidden"]]
    assert {row["key"] for row in shown} == {
        key for key, criterion in load_catalogue().criteria.items() if criterion.parents == {"competence": "CCPM-C1"}}
    # bob's column sorts by status name: "not_acquired" before "not_attempted", catalogue order kept among equals.
    assert [row["key"] for row in shown[:3]] == ["CCPM-C1-M1", "CCPM-C1-MO1", "CCPM-C1-MO2"]
    assert shown[0]["cells"][5:9] == ["✓", "✗", "✓", "·"]  # alice, bob, carol, dave on CCPM-C1-M1


def test_clicking_headers_and_typing_in_the_filter_work(chromium, coverage_page, tmp_path):
    with devtools_page(chromium, tmp_path / "profile") as page:
        call, evaluate = page.call, page.evaluate

        def click(selector):
            box = evaluate(f"(() => {{ const e = document.querySelector('{selector}');"
                           f" e.scrollIntoView({{block: 'center', inline: 'center'}});"
                           f" const r = e.getBoundingClientRect();"
                           f" return [r.x + r.width / 2, r.y + r.height / 2]; }})()")
            for kind in ("mousePressed", "mouseReleased"):
                call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

        first_visible = "document.querySelector('#report-table tbody tr:not([hidden])').dataset.key"
        call("Page.navigate", url=coverage_page.as_uri())
        deadline = time.monotonic() + 30
        while evaluate("document.readyState") != "complete" or not evaluate(
                "document.getElementById('row-count').textContent"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        click("th[data-key=points]")
        assert evaluate("location.hash") == "#sort=points&dir=asc"
        click("th[data-key=points]")
        assert evaluate("location.hash") == "#sort=points&dir=desc"
        assert evaluate(first_visible) == "CCPM-C1-MO2"
        assert evaluate("document.querySelector('th[data-key=points]').getAttribute('aria-sort')") == "descending"
        click("#text-filter")
        call("Input.insertText", text="idle machine")
        assert evaluate("document.getElementById('row-count').textContent").startswith("1 of ")
        assert evaluate(first_visible) == "CCPM-C1-M1"
