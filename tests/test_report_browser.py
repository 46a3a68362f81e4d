"""The report pages in a real headless Chromium, as a jury and a trainer see them: no horizontal scrolling at
1,400 px, every status shown in words, links that land on their target, filters and sorting that work, a
learner page that prints on A4. A screenshot of each page (and the learner page's PDF) is written to
test-artifacts/report-pages/ (or $FACTORYLAB_TEST_ARTIFACTS), for a person to look at after a run.
"""

import base64
import os
import subprocess
import time
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from chromium import CHROMIUM_FLAGS, devtools_page, find_chromium
from example_course import CATALOGUE_CRITERIA, copy_course, demo_notebook, extra_notebook, shared_example_course

from autograde.catalogue import load_catalogue
from autograde.competency import build_report
from autograde.coverage import build_coverage
from autograde.observations import record_observation
from autograde.provenance import record_grading

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1400, 900
A4_WIDTH_PX = 794  # 210 mm at 96 px per inch: what a printed page is laid out on
ARTIFACTS = Path(os.environ.get("FACTORYLAB_TEST_ARTIFACTS")
                 or Path(__file__).resolve().parents[1] / "test-artifacts") / "report-pages"
OUTSIDE = [key for key, criterion in load_catalogue().criteria.items() if criterion.assessment == "outside"][:2]


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
def report(tmp_path_factory) -> Path:
    """The example course with a grading outcome and decisions recorded outside the labs: alice acquired, bob's
    notebook unreadable, carol's answers awaiting a manual grade, dave absent but assessed by the jury."""
    course = copy_course(shared_example_course(tmp_path_factory), tmp_path_factory.mktemp("browser_course") / "c")
    record_grading(course.db_url, "lab_demo", "bob", sandboxed=True, outcome="ungradable",
                   messages=["lab_demo.ipynb is not valid JSON (line 1: Expecting value) (scored zero)"])
    for key, decision in zip(OUTSIDE, ("acquired", "not_acquired"), strict=True):
        record_observation(learner="dave", criterion=key, decision=decision, context="oral", assessor="Jury",
                           evidence="Defended before the jury", observed_on=date(2024, 6, 12), course_dir=course.root)
    out = tmp_path_factory.mktemp("browser_report")
    build_report(course_dir=course.root, labs_dir=course.labs_dir, out_dir=out)
    return out


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    """One Chromium for the module's page checks, its window 1,400 px wide."""
    with devtools_page(chromium, tmp_path_factory.mktemp("profile"),
                       extra_flags=[f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars"]) as page:
        page.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1,
                  mobile=False)
        yield page


def open_page(page, url: str) -> None:
    page.call("Page.navigate", url=url)
    deadline = time.monotonic() + 30
    while page.evaluate("document.readyState") != "complete" or page.evaluate("location.href") != url:
        assert time.monotonic() < deadline, f"{url} did not load"
        time.sleep(0.05)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
    path = ARTIFACTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot))
    return path


def overflow(page) -> int:
    """How many pixels the page is wider than the window (what would need a horizontal scroll bar)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("name", ["coverage", "cohort", "learner"])
def test_every_page_fits_1400_px_without_horizontal_scrolling(browser, coverage_page, report, name):
    url = {"coverage": coverage_page, "cohort": report / "cohort.html",
           "learner": report / "learners" / "carol.html"}[name].as_uri()
    open_page(browser, url)
    assert overflow(browser) <= 0, f"{name}: {overflow(browser)} px too wide at {WIDTH} px"
    widest = browser.evaluate("Math.max(...Array.from(document.querySelectorAll('table'), t => t.scrollWidth))")
    assert widest <= WIDTH
    assert screenshot(browser, name).stat().st_size > 10_000


def test_the_cohort_page_shows_every_status_a_summary_per_bloc_and_scores(browser, report):
    open_page(browser, (report / "cohort.html").as_uri())
    legend = browser.evaluate("document.querySelector('.legend').innerText")
    for label in ("acquis", "non acquis", "en attente de correction manuelle", "signalé : à vérifier",
                  "incident de correction", "notebook illisible", "non rendu", "à évaluer hors des labs"):
        assert label in legend
    cell = "(l, k) => document.querySelector(`tr[data-key='${k}'] td[title^='${l}:']`)"
    status = browser.evaluate(f"[['alice','CCPM-C1-M1'],['bob','CCPM-C1-M1'],['carol','CCPM-C1-MO2'],"
                              f"['dave','CCPM-C1-M1'],['dave','{OUTSIDE[0]}'],['dave','{OUTSIDE[1]}']]"
                              f".map(([l, k]) => ({cell})(l, k).dataset.status)")
    assert status == ["acquired", "ungradable", "pending_manual_grading", "not_submitted", "acquired", "not_acquired"]
    scores = browser.evaluate(f"[['alice','CCPM-C1-M1'],['carol','CCPM-C1-MO2']].map(([l, k]) => "
                              f"({cell})(l, k).innerText.replace(/\\s+/g, ' ').trim())")
    assert scores == ["✓ 3/3", "? 2/2 + ?/2"]  # on the page, not in a tooltip
    summary = browser.evaluate("Array.from(document.querySelectorAll('#summary-table thead th'), th => "
                               "th.innerText.split('\\n')[0])")
    assert summary[2:] == list(dict.fromkeys(next(iter(c.parents.values()))
                                             for c in load_catalogue().criteria.values()))
    ccpm_c1 = sum(c.parents == {"competence": "CCPM-C1"} for c in load_catalogue().criteria.values())
    alice = browser.evaluate("document.querySelector('#summary-table tr[data-learner=alice] td:nth-child(3)')"
                             ".innerText")
    assert " ".join(alice.split()).startswith(f"3 / {ccpm_c1} acquis")  # M1, MO1, MO2


def test_filters_keep_the_criteria_where_a_learner_has_a_status(browser, report):
    open_page(browser, (report / "cohort.html").as_uri() + "#status=ungradable&group=CCPM-C1")
    shown = browser.evaluate("Array.from(document.querySelectorAll('#report-table tr[data-key]:not([hidden])'),"
                             " r => r.dataset.key)")
    assert shown == ["CCPM-C1-M1", "CCPM-C1-MO1", "CCPM-C1-MO2"]  # bob's unreadable lab_demo evidences these
    assert browser.evaluate("document.getElementById('row-count').textContent").startswith("Lignes affichées : 3 sur")
    hidden_groups = browser.evaluate("Array.from(document.querySelectorAll('#report-table tbody'))"
                                     ".filter(b => b.hidden).length")
    assert hidden_groups == len({next(iter(c.parents.values())) for c in load_catalogue().criteria.values()}) - 1


def test_every_link_lands_on_its_page_and_anchor(browser, report):
    """Each link of the cohort page and a learner page, followed in the browser: the page exists (relative to
    the report folder) and its anchor is there (a criterion's row, a cell of nbgrader's feedback page)."""
    targets: dict[str, set[str]] = {}
    for page in ("cohort.html", "learners/alice.html", "learners/dave.html"):
        open_page(browser, (report / page).as_uri())
        for href in browser.evaluate("Array.from(document.querySelectorAll('a[href]'), a => a.href)"):
            target, _, fragment = href.partition("#")
            targets.setdefault(target, set())
            if fragment and "=" not in fragment:
                targets[target].add(fragment)
    assert any("/feedback/alice/lab_demo/lab_demo.html" in target for target in targets)
    for target, fragments in targets.items():
        assert target.startswith(report.as_uri()), target  # inside the report folder
        assert Path(target.removeprefix("file://")).is_file(), target
        open_page(browser, target)
        missing = browser.evaluate(f"{sorted(fragments)}.filter(f => !document.getElementById(f) && "
                                   "!document.getElementsByName(f).length)")
        assert missing == [], (target, missing)


def test_the_learner_page_prints_on_a4_with_every_criterion(browser, report):
    open_page(browser, (report / "learners" / "dave.html").as_uri() + "#status=acquired")
    assert browser.evaluate("document.querySelectorAll('#report-table tr[data-key]:not([hidden])').length") == 1
    browser.call("Emulation.setEmulatedMedia", media="print")
    browser.call("Emulation.setDeviceMetricsOverride", width=A4_WIDTH_PX, height=1123, deviceScaleFactor=1,
                 mobile=False)
    try:
        assert overflow(browser) <= 0, f"{overflow(browser)} px wider than an A4 page"
        assert browser.evaluate("getComputedStyle(document.querySelector('.controls')).display") == "none"
        printed = browser.evaluate("Array.from(document.querySelectorAll('#report-table tr[data-key]'))"
                                   ".filter(r => r.offsetParent !== null).length")
        assert printed == len(load_catalogue().criteria)  # the filter is not the printout
        text = browser.evaluate("document.body.innerText")
        assert "Décision : acquis" in text and "par Jury : Defended before the jury" in text
        pdf = browser.call("Page.printToPDF", paperWidth=8.27, paperHeight=11.69, printBackground=True)["data"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "learner-dave-A4.pdf").write_bytes(base64.b64decode(pdf))
        assert base64.b64decode(pdf).startswith(b"%PDF")
    finally:
        browser.call("Emulation.setEmulatedMedia", media="")
        browser.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1,
                     mobile=False)
    open_page(browser, (report / "learners" / "dave.html").as_uri())
    screenshot(browser, "learner-dave")


class _Rows(HTMLParser):
    """The table rows of a dumped DOM: key, hidden or not, and each cell's text."""

    def __init__(self):
        super().__init__()
        self.rows: list[dict] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-key" in attrs:
            self.rows.append({"key": attrs["data-key"], "hidden": "hidden" in attrs, "cells": []})
        elif tag == "td" and self.rows:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def dump(chromium: str, page: Path, fragment: str, tmp_path: Path) -> list[str]:
    """The keys of the rows shown once the page's script applied the view in `fragment` (`--dump-dom`)."""
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         f"{page.as_uri()}#{fragment}"],
        capture_output=True, text=True, timeout=90, check=True)
    parsed = _Rows()
    parsed.feed(result.stdout)
    assert parsed.rows, result.stderr[-2000:]
    return [row["key"] for row in parsed.rows if not row["hidden"]]


def test_coverage_page_filters_by_referential_status_lab_and_text(chromium, coverage_page, tmp_path):
    assert dump(chromium, coverage_page, "", tmp_path) == list(load_catalogue().criteria)
    assert dump(chromium, coverage_page, "referential=rncp_mnsi&status=covered", tmp_path) == ["Cr3.2.3"]
    assert dump(chromium, coverage_page, "lab=lab_extra", tmp_path) == ["Cr3.2.3"]
    assert dump(chromium, coverage_page, "q=idle%20machine", tmp_path) == ["CCPM-C1-M1"]
    assert dump(chromium, coverage_page, "mode=mixed", tmp_path) == ["CCPM-C1-MO2"]


def test_coverage_page_sorts_numerically_and_in_both_directions(chromium, coverage_page, tmp_path):
    shown = dump(chromium, coverage_page, "sort=points&dir=desc&group=CCPM-C1", tmp_path)
    assert shown[:3] == ["CCPM-C1-MO2", "CCPM-C1-M1", "CCPM-C1-MO1"]  # 4, 3, 3 points; catalogue order on a tie
    criteria = [key for key, c in load_catalogue().criteria.items() if c.parents == {"competence": "CCPM-C1"}]
    assert dump(chromium, coverage_page, "sort=id&dir=desc&group=CCPM-C1", tmp_path) == criteria[::-1]


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

        first_visible = "document.querySelector('#report-table tbody tr[data-key]:not([hidden])').dataset.key"
        open_page(page, coverage_page.as_uri())
        click("th[data-key=points]")
        assert evaluate("location.hash") == "#sort=points&dir=asc"
        click("th[data-key=points]")
        assert evaluate("location.hash") == "#sort=points&dir=desc"
        assert evaluate(first_visible) == "CCPM-C1-MO2"
        assert evaluate("document.querySelector('th[data-key=points]').getAttribute('aria-sort')") == "descending"
        click("#text-filter")
        call("Input.insertText", text="idle machine")
        assert evaluate("document.getElementById('row-count').textContent").startswith("Lignes affichées : 1 sur")
        assert evaluate(first_visible) == "CCPM-C1-M1"
