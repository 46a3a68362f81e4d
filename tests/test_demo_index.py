"""The demo's front page: a page to read, every result linked where it is, nothing shown as raw Markdown or JSON.

Built on a small output folder laid out as `factorylab demo` leaves it (the demo's own end-to-end test,
tests/test_demo.py, checks the index of a real run links every output).
"""

import csv
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from factorylab.demo import OUTPUTS
from factorylab.demo_index import write_index

KPIS = {"window_s": 432000.0, "throughput_per_hour": 24.4, "good_parts": 2900, "scrapped_parts": 70,
        "mean_cycle_time_s": 749.5, "mean_wip": 6.0,
        "stations": {"cnc": {"utilisation": 0.81, "oee": {"availability": 0.81, "performance": 0.69,
                                                           "quality": 0.96, "oee": 0.537}}}}


@pytest.fixture
def out(tmp_path) -> Path:
    out = tmp_path / "demo"
    (out / "dataset").mkdir(parents=True)
    (out / "dataset" / "DATACARD.md").write_text("# Data card\n\n| column | unit |\n|---|---|\n| `value` | SI |\n")
    (out / "kpis.json").write_text(json.dumps(KPIS))
    (out / "live.json").write_text(json.dumps({"messages": 2219, "simulated_s": 355.0, "replies": [
        {"id": "demo-conwip", "ok": True}, {"id": "demo-speed", "ok": False, "reason": "out of range"}]}))
    (out / "grades").mkdir()
    with (out / "grades" / "grades.csv").open("w", newline="") as stream:
        writer = csv.DictWriter(stream, ["assignment", "student_id", "score", "max_score", "status"])
        writer.writeheader()
        writer.writerow({"assignment": "lab1", "student_id": "learner01", "score": "28", "max_score": "30",
                         "status": "ok"})
        writer.writerow({"assignment": "lab2", "student_id": "learner01", "score": "", "max_score": "20",
                         "status": "not_submitted"})
    for path in ("reports/learners/learner01.html", "reports/badges/index.html",
                 "reports/badges/learner01/CCPM-C1-M1.html", "course/feedback/learner01/lab1/lab1.html",
                 "course/release/lab1/lab1.ipynb"):
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text("<!doctype html>")
    return out


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.links += [value for name, value in attrs if name == "href"]

    def handle_data(self, data):
        self.text.append(data)


def test_the_index_links_each_learner_s_pages_and_shows_the_results(out):
    page = _Page()
    page.feed(write_index(out, OUTPUTS, "lab1").read_text(encoding="utf-8"))
    text = " ".join(page.text)
    for link in ("reports/learners/learner01.html", "reports/badges/learner01/CCPM-C1-M1.html",
                 "course/feedback/learner01/lab1/lab1.html", "reports/badges/index.html", "dataset/DATACARD.html"):
        assert link in page.links, link
    assert "`" not in text, "Markdown backticks shown literally"
    assert "53.7 %" in text and "24.4 parts/h" in text, "the KPIs are shown as a table, not as raw JSON"
    assert "2219 messages" in text and "refused: out of range" in text
    assert "28 / 30" in text
    for link in page.links:
        assert "://" not in link and not link.startswith("/"), f"{link}: links stay relative to the folder"
    missing = [path for path, _ in OUTPUTS if not (out / path).exists()]
    assert all(f"{path} (missing)" in text for path in missing), "an output the demo did not write is flagged"


def test_the_data_card_is_rendered_as_a_page(out):
    write_index(out, OUTPUTS, "lab1")
    card = (out / "dataset" / "DATACARD.html").read_text(encoding="utf-8")
    assert "<h1>Data card</h1>" in card and "<table>" in card and "<code>value</code>" in card
    assert 'href="../index.html"' in card
