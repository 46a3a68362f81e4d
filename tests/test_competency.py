"""Learners' criterion statuses from a real nbgrader gradebook: the rule, the distinct statuses, the report files
(French by default, English on request, no machine path) and the refusals."""

import argparse
import csv
import re
from datetime import date
from html.parser import HTMLParser

import nbformat
import pytest
from example_course import HIDDEN_MARKER, copy_course, shared_example_course
from nbgrader.api import Gradebook

from autograde import cli
from autograde.catalogue import load_catalogue
from autograde.competency import (
    CellGrade,
    build_report,
    decide_status,
    learner_statuses,
    read_gradebook,
)
from autograde.course import Course
from autograde.coverage import build_coverage
from autograde.criteria_tags import load_tagged_cells
from autograde.errors import GradebookError
from autograde.observations import read_observations, record_observation
from autograde.provenance import UNSANDBOXED_NOTICE, record_grading

# Two criteria the catalogue leaves to the jury or the company (which ones changes as labs arrive).
OUTSIDE, OTHER_OUTSIDE = [key for key, criterion in load_catalogue().criteria.items()
                          if criterion.assessment == "outside"][:2]


@pytest.fixture(scope="session")
def course(tmp_path_factory):
    return shared_example_course(tmp_path_factory)


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def statuses_of(course, catalogue) -> dict:
    """learner -> criterion key -> CriterionStatus, for a course."""
    cells = load_tagged_cells(course.labs_dir, catalogue)
    observations = read_observations(course.db_url)
    return {learner.learner: {status.criterion.key: status for status in learner_statuses(
        learner, cells, catalogue, lambda *_: course.root / "x", observations.get(learner.learner, {}))}
        for learner in read_gradebook(course.db_url, cells)}


@pytest.fixture(scope="module")
def statuses(course, catalogue) -> dict:
    return statuses_of(course, catalogue)


@pytest.fixture(scope="module")
def report_dir(course, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    build_report(course_dir=course.root, labs_dir=course.labs_dir, out_dir=out)
    return out


def grade(score, max_score, manual=False):
    return CellGrade(score=score, max_score=max_score, needs_manual_grade=manual)


@pytest.mark.parametrize(("grades", "expected"), [
    ([], "not_submitted"),
    ([grade(2, 2), grade(0, 1, manual=True)], "pending_manual_grading"),  # the answer decides
    ([grade(0, 2), grade(0, 2, manual=True)], "not_acquired"),  # the test failed: no grade of the answer helps
    ([grade(3, 3), grade(0, 1, manual=True), grade(0, 1, manual=True)], "pending_manual_grading"),
    ([grade(2, 2), grade(1, 1)], "acquired"),
    ([grade(1, 2), grade(2, 3)], "acquired"),  # every cell >= 50 %, total 3/5 = 60 %
    ([grade(3, 3), grade(0.9, 2)], "not_acquired"),  # one cell below half marks, though 3.9/5 overall
    ([grade(1, 2), grade(1, 2), grade(1, 1)], "acquired"),  # 3/5
    ([grade(1, 2), grade(1, 2), grade(0.5, 1)], "not_acquired"),  # every cell at 50 % but 2.5/5 < 60 %
])
def test_the_status_rule(grades, expected):
    assert decide_status(grades) == expected


def test_right_answers_with_graded_manual_cells_acquire_every_criterion(statuses):
    alice = statuses["alice"]
    assert {key: alice[key].status for key in ("CCPM-C1-M1", "CCPM-C1-MO2", "CCPM-C1-MO1")} == dict.fromkeys(
        ("CCPM-C1-M1", "CCPM-C1-MO2", "CCPM-C1-MO1"), "acquired")
    assert (alice["CCPM-C1-M1"].score, alice["CCPM-C1-M1"].max_score) == (3.0, 3.0)
    assert alice["CCPM-C1-M1"].decided_by == "labs"


def test_wrong_answers_do_not_acquire(statuses):
    bob = statuses["bob"]
    assert bob["CCPM-C1-M1"].status == "not_acquired"  # 1 / 3: the mean-rate test failed
    assert (bob["CCPM-C1-M1"].score, bob["CCPM-C1-M1"].max_score) == (1.0, 3.0)
    assert bob["CCPM-C1-MO1"].status == "not_acquired"


def test_ungraded_manual_cells_leave_only_undecided_criteria_awaiting(statuses):
    carol = statuses["carol"]
    assert carol["CCPM-C1-M1"].status == "acquired"  # autograded cells only
    assert carol["CCPM-C1-MO2"].status == "pending_manual_grading"
    assert carol["CCPM-C1-MO1"].status == "pending_manual_grading"
    assert (carol["CCPM-C1-MO2"].score, carol["CCPM-C1-MO2"].pending_points) == (2.0, 2.0)


def test_a_mixed_criterion_failed_on_its_tests_is_decided_while_its_answer_awaits(course, catalogue, tmp_path):
    copy = copy_course(course, tmp_path / "course")
    with Gradebook(copy.db_url) as gradebook:
        for cell in ("demo_explain", "demo_dataflow_task"):
            gradebook.find_grade(cell, "lab_demo", "lab_demo", "bob").needs_manual_grade = True
        gradebook.db.commit()
    bob = statuses_of(copy, catalogue)["bob"]
    assert bob["CCPM-C1-MO2"].status == "not_acquired"  # 0/2 on the test: no grade of the answer can save it
    assert bob["CCPM-C1-MO1"].status == "pending_manual_grading"  # its two cells are both still to grade


def test_a_criterion_s_mode_is_read_from_its_cells(statuses, catalogue):
    alice = statuses["alice"]
    assert (alice["CCPM-C1-M1"].mode, alice["CCPM-C1-MO2"].mode, alice["CCPM-C1-MO1"].mode) == (
        "auto", "mixed", "manual")
    assert alice[OUTSIDE].mode == "outside" and alice["CCPM-C1-M2"].mode == "none"


def test_not_submitted_outside_and_unassessed_criteria_have_their_own_statuses(statuses):
    assert statuses["alice"]["Cr3.2.3"].status == "not_submitted"  # lab_extra: nobody submitted it
    assert [item.state for item in statuses["alice"]["Cr3.2.3"].evidence] == ["not_submitted"]
    assert {status.status for key, status in statuses["dave"].items() if status.evidence} == {"not_submitted"}
    assert statuses["alice"]["CCPM-C1-M2"].status == "not_assessed"  # no lab evidences it yet
    assert statuses["alice"][OUTSIDE].status == "awaiting_observation"  # outside the labs, nothing recorded


def test_an_unreadable_notebook_is_ungradable_not_failed(course, catalogue, tmp_path):
    """nbgrader scores an unreadable notebook zero on every cell; the grader's outcome says it was unreadable."""
    copy = copy_course(course, tmp_path / "course")
    record_grading(copy.db_url, "lab_demo", "bob", sandboxed=True, outcome="ungradable",
                   messages=["lab_demo.ipynb is not valid JSON (line 1: Expecting value) (scored zero)"])
    bob = statuses_of(copy, catalogue)["bob"]
    assert bob["CCPM-C1-M1"].status == "ungradable"
    assert {item.state for item in bob["CCPM-C1-M1"].evidence} == {"ungradable"}
    assert bob["CCPM-C1-M1"].graded == [] and bob["CCPM-C1-M1"].provisional is None


@pytest.mark.parametrize(("outcome", "status"), [("flagged", "flagged"), ("incident", "incident"),
                                                 ("error", "incident")])
def test_a_flagged_or_cut_grading_keeps_the_scores_provisional(course, catalogue, tmp_path, outcome, status):
    copy = copy_course(course, tmp_path / "course")
    record_grading(copy.db_url, "lab_demo", "alice", sandboxed=True, outcome=outcome, messages=["why"])
    alice = statuses_of(copy, catalogue)["alice"]
    assert (alice["CCPM-C1-M1"].status, alice["CCPM-C1-M1"].provisional) == (status, "acquired")
    assert alice["CCPM-C1-M1"].score == 3.0  # the scores are still shown


def test_a_recorded_decision_decides_and_the_latest_wins(course, catalogue, tmp_path):
    copy = copy_course(course, tmp_path / "course")
    record_grading(copy.db_url, "lab_demo", "alice", sandboxed=True, outcome="flagged", messages=["extra file"])
    for decision, day in (("not_acquired", "2024-03-02"), ("acquired", "2024-03-05")):
        record_observation(learner="alice", criterion="CCPM-C1-M1", decision=decision, course_dir=copy.root,
                           evidence="Reviewed: the extra file is a draft", assessor="R. Dupont",
                           observed_on=date.fromisoformat(day))
    record_observation(learner="dave", criterion=OUTSIDE, decision="acquired", context="document",
                       evidence="E1, section 2", assessor="Jury", course_dir=copy.root)
    result = statuses_of(copy, catalogue)
    alice = result["alice"]["CCPM-C1-M1"]
    assert (alice.status, alice.lab_status, alice.decided_by) == ("acquired", "flagged", "observation")
    assert [o.decision for o in alice.observations] == ["acquired", "not_acquired"]
    assert alice.submitted_at.date().isoformat() == "2024-03-05"
    assert result["dave"][OUTSIDE].status == "acquired"
    assert result["dave"][OTHER_OUTSIDE].status == "awaiting_observation"


def test_report_writes_cohort_learner_pages_csv_feedback_and_badges(report_dir, catalogue):
    assert (report_dir / "cohort.html").is_file()
    assert sorted(path.name for path in (report_dir / "learners").iterdir()) == [
        "alice.html", "bob.html", "carol.html", "dave.html"]
    assert (report_dir / "feedback" / "alice" / "lab_demo" / "lab_demo.html").is_file()
    assert {path.stem for path in (report_dir / "badges" / "alice").glob("*.json")} == {
        "CCPM-C1-M1", "CCPM-C1-MO1", "CCPM-C1-MO2"}
    assert not (report_dir / "badges" / "bob").exists()
    with (report_dir / "competency.csv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 4 * len(catalogue.criteria)
    by_key = {(r["learner"], r["criterion_key"]): r for r in rows}
    bob = by_key[("bob", "CCPM-C1-M1")]
    assert (bob["status"], bob["score"], bob["max_score"], bob["mode"]) == ("not_acquired", "1", "3", "auto")
    assert "lab_demo/lab_demo/demo_mean_rate_test (auto) 0/2" in bob["evidence"]
    carol = by_key[("carol", "CCPM-C1-MO2")]
    assert (carol["status"], carol["score"], carol["max_score"], carol["pending_points"]) == (
        "pending_manual_grading", "2", "2", "2")
    assert by_key[("dave", "CCPM-C1-M1")]["status"] == "not_submitted"
    assert by_key[("alice", OUTSIDE)]["status"] == "awaiting_observation"
    assert by_key[("alice", "CCPM-C1-M1")]["feedback"].split() == [
        "feedback/alice/lab_demo/lab_demo.html#demo_mean_rate_test",
        "feedback/alice/lab_demo/lab_demo.html#demo_zero_rate_test"]  # at each evidence cell, from the CSV's folder
    assert by_key[("alice", "CCPM-C1-MO1")]["feedback"].split() == [
        "feedback/alice/lab_demo/lab_demo.html#comment-demo_explain",
        "feedback/alice/lab_demo/lab_demo.html#comment-demo_dataflow_task"]  # nbgrader's anchors for answers


class _Page(HTMLParser):
    """The visible text of a page, its links, and the ids and anchor names it holds."""

    def __init__(self):
        super().__init__()
        self.text, self.links, self.anchors, self._skip = [], [], set(), 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._skip += tag in ("script", "style")
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        self.anchors |= {attrs[key] for key in ("id", "name") if attrs.get(key)}

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.visible = " ".join(" ".join(page.text).split())
    return page


def test_pages_are_french_by_default_with_the_official_texts(report_dir, catalogue):
    cohort = parse(report_dir / "cohort.html")
    assert '<html lang="fr">' in (report_dir / "cohort.html").read_text(encoding="utf-8")
    assert "Critères acquis par la promotion" in cohort.visible
    for label in ("acquis", "non acquis", "en attente de correction manuelle", "non rendu",
                  "à évaluer hors des labs"):
        assert label in cohort.visible
    assert "not_acquired" not in cohort.visible and "outside_labs" not in cohort.visible  # no code names
    assert " ".join(catalogue.criteria["CCPM-C1-M1"].text_fr.split()) in cohort.visible
    assert catalogue.criteria["CCPM-C1-M1"].text_en not in cohort.visible  # the French page is French


def test_english_on_request_keeps_the_official_french_beside(course, catalogue, tmp_path):
    build_report(course_dir=course.root, labs_dir=course.labs_dir, out_dir=tmp_path, language="en")
    alice = parse(tmp_path / "learners" / "alice.html")
    assert "Criteria of alice" in alice.visible and "Every criterion, with its evidence" in alice.visible
    assert " ".join(catalogue.criteria["CCPM-C1-M1"].text_fr.split()) in alice.visible
    assert " ".join(catalogue.criteria["CCPM-C1-M1"].text_en.split()) in alice.visible


def test_learner_pages_show_every_piece_of_evidence_and_its_state(report_dir):
    carol = parse(report_dir / "learners" / "carol.html").visible
    assert "lab_demo/demo_explain" in carol and "en attente de correction manuelle (sur 2 pt)" in carol
    bob = parse(report_dir / "learners" / "bob.html").visible
    assert "0 / 2 pt" in bob  # the mean-rate test failed: a real zero
    dave = parse(report_dir / "learners" / "dave.html").visible
    assert "Aucun lab rendu" in dave and "lab non rendu" in dave


def test_every_link_resolves_to_a_file_and_its_anchor(report_dir):
    """Links are relative, point into the report folder, and land on the cell of the feedback page."""
    pages = [report_dir / "cohort.html", *sorted((report_dir / "learners").glob("*.html"))]
    checked = 0
    for page in pages:
        for href in parse(page).links:
            assert not re.match(r"^(/|[a-z]+:)", href), (page, href)  # no absolute path, no scheme
            target, _, fragment = href.partition("#")
            path = (page.parent / target).resolve() if target else page
            assert path.is_file(), (page, href)
            assert report_dir.resolve() in path.parents, (page, href)  # the report folder travels alone
            if fragment and "=" not in fragment:
                assert fragment in parse(path).anchors, (page, href)
            checked += 1
    assert checked > 20
    alice = parse(report_dir / "learners" / "alice.html")
    assert "../feedback/alice/lab_demo/lab_demo.html#demo_mean_rate_test" in alice.links


def test_no_report_file_names_a_path_of_the_grading_machine(report_dir, course):
    for path in report_dir.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".csv") and "feedback" not in path.parts:
            text = path.read_text(encoding="utf-8")
            assert str(course.root) not in text and str(report_dir) not in text, path
            assert "gradebook.db" not in text, path


def test_evidence_graded_without_the_sandbox_is_marked_everywhere_and_earns_no_badge(course, tmp_path):
    copy = copy_course(course, tmp_path / "course")
    record_grading(copy.db_url, "lab_demo", "alice", sandboxed=False)
    record_grading(copy.db_url, "lab_demo", "bob", sandboxed=True)
    out = tmp_path / "report"
    build_report(course_dir=copy.root, labs_dir=copy.labs_dir, out_dir=out, language="en")
    assert not (out / "badges" / "alice").exists()  # acquired on unsandboxed evidence: no credential
    alice = parse(out / "learners" / "alice.html").visible
    assert "graded without the sandbox" in alice and "no badge rests on them" in alice
    assert "without the sandbox" not in parse(out / "learners" / "carol.html").visible
    assert "alice: lab_demo graded without the sandbox" in parse(out / "cohort.html").visible
    with (out / "competency.csv").open(encoding="utf-8") as stream:
        rows = {(row["learner"], row["criterion_key"]): row for row in csv.DictReader(stream)}
    assert (rows[("alice", "CCPM-C1-M1")]["status"], rows[("alice", "CCPM-C1-M1")]["sandboxed"]) == ("acquired", "no")
    assert rows[("bob", "CCPM-C1-M1")]["sandboxed"] == "yes"
    assert rows[("dave", "CCPM-C1-M1")]["sandboxed"] == ""  # nothing graded
    record_grading(copy.db_url, "lab_demo", "alice", sandboxed=True)  # graded again in the sandbox
    build_report(course_dir=copy.root, labs_dir=copy.labs_dir, out_dir=out)
    assert (out / "badges" / "alice" / "CCPM-C1-M1.json").is_file()
    assert UNSANDBOXED_NOTICE  # the grading pages' own notice (autograde/provenance.py) stays


def test_the_report_shows_outcomes_and_decisions_a_jury_needs(course, tmp_path):
    copy = copy_course(course, tmp_path / "course")
    record_grading(copy.db_url, "lab_demo", "bob", sandboxed=True, outcome="ungradable",
                   messages=["lab_demo.ipynb is not valid JSON (line 1: Expecting value) (scored zero)"])
    record_observation(learner="dave", criterion=OUTSIDE, decision="acquired", context="oral",
                       evidence="Strategy defended before the jury", assessor="M. Leroy", course_dir=copy.root)
    out = tmp_path / "report"
    build_report(course_dir=copy.root, labs_dir=copy.labs_dir, out_dir=out)
    bob = parse(out / "learners" / "bob.html").visible
    assert "notebook illisible" in bob and "non corrigé : le notebook n'a pas pu être lu" in bob
    assert "is not valid JSON" in bob  # the grader's note
    assert "0 / 2 pt" not in bob  # nbgrader's placeholder zeros are not shown as grades
    dave = parse(out / "learners" / "dave.html").visible
    assert "Décision : acquis" in dave and "oral" in dave and "par M. Leroy : Strategy defended before the jury" in dave
    with (out / "competency.csv").open(encoding="utf-8") as stream:
        rows = {(row["learner"], row["criterion_key"]): row for row in csv.DictReader(stream)}
    assert (rows[("dave", OUTSIDE)]["status"], rows[("dave", OUTSIDE)]["decided_by"]) == ("acquired",
                                                                                                 "observation")
    assert "oral" in rows[("dave", OUTSIDE)]["evidence"] and "M. Leroy" in rows[("dave", OUTSIDE)]["evidence"]
    assert rows[("bob", "CCPM-C1-M1")]["status"] == "ungradable" and rows[("bob", "CCPM-C1-M1")]["score"] == ""


def test_no_report_file_contains_hidden_tests(report_dir, course, tmp_path):
    """A hidden test's text (HIDDEN_MARKER) is in the sources and nbgrader's feedback, never in our reports."""
    assert HIDDEN_MARKER in (course.labs_dir / "lab_demo" / "lab_demo.ipynb").read_text()
    written = list(build_coverage(labs_dir=course.labs_dir, out_dir=tmp_path))
    written += [path for path in report_dir.rglob("*") if path.is_file() and path.suffix != ".jwt"]
    assert len(written) > 10
    for path in written:
        assert HIDDEN_MARKER not in path.read_text(encoding="utf-8"), path


def test_missing_gradebook_is_a_clear_error(course, tmp_path):
    with pytest.raises(GradebookError, match=r"gradebook\.db: gradebook not found"):
        build_report(course_dir=tmp_path, labs_dir=course.labs_dir, out_dir=tmp_path / "out")
    assert not (tmp_path / "gradebook.db").exists()  # looking did not create one


def test_a_file_that_is_not_a_gradebook_is_a_clear_error(course, tmp_path):
    (tmp_path / "gradebook.db").write_bytes(b"")
    with pytest.raises(GradebookError, match="not an nbgrader gradebook"):
        build_report(course_dir=tmp_path, labs_dir=course.labs_dir, out_dir=tmp_path / "out")


def test_a_gradebook_without_submissions_is_a_clear_error(course, tmp_path, catalogue):
    copy = copy_course(course, tmp_path / "course")
    with Gradebook(copy.db_url) as gradebook:
        for learner in ("alice", "bob", "carol"):
            gradebook.remove_submission("lab_demo", learner)
    cells = load_tagged_cells(copy.labs_dir, catalogue)
    with pytest.raises(GradebookError, match="no submission in the gradebook yet"):
        read_gradebook(copy.db_url, cells)
    with Gradebook(copy.db_url) as gradebook:
        for learner in ("alice", "bob", "carol", "dave"):
            gradebook.remove_student(learner)
    with pytest.raises(GradebookError, match="the gradebook has no learner"):
        read_gradebook(copy.db_url, cells)
    with Gradebook(copy.db_url) as gradebook:
        for lab in ("lab_demo", "lab_extra"):
            gradebook.remove_assignment(lab)
    with pytest.raises(GradebookError, match=r"the gradebook is empty \(no assignment\)"):
        read_gradebook(copy.db_url, cells)


def test_lab_sources_that_changed_after_grading_are_refused(course, tmp_path, catalogue):
    copy = copy_course(course, tmp_path / "course")
    source = copy.labs_dir / "lab_demo" / "lab_demo.ipynb"
    notebook = nbformat.read(source, as_version=4)
    notebook.cells[3].metadata["nbgrader"]["grade_id"] = "demo_zero_rate_renamed"
    nbformat.write(notebook, source)
    with pytest.raises(GradebookError, match=(
            r"lab_demo/lab_demo: the graded cells differ from the lab source \(only in the gradebook: "
            r"demo_zero_rate_test; only in the lab source: demo_zero_rate_renamed\)")):
        read_gradebook(copy.db_url, load_tagged_cells(copy.labs_dir, catalogue))


def test_an_assignment_without_lab_source_is_refused(course, tmp_path, catalogue):
    copy = copy_course(course, tmp_path / "course")
    (copy.labs_dir / "lab_extra" / "lab_extra.ipynb").unlink()
    with pytest.raises(GradebookError, match="assignment 'lab_extra' has no graded cells in the lab sources"):
        read_gradebook(copy.db_url, load_tagged_cells(copy.labs_dir, catalogue))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    return parser


def test_the_command_line_calls_build_report_with_a_database_url_and_a_language(course, tmp_path, capsys):
    args = _parser().parse_args(["report", "--course", str(course.root), "--labs", str(course.labs_dir),
                                 "--out", str(tmp_path), "--db-url", Course.at(course.root).db_url, "--lang", "en"])
    assert args.handler(args) == 0
    assert f"report written to {tmp_path / 'cohort.html'}" in capsys.readouterr().out
    assert "Criteria acquired by the cohort" in parse(tmp_path / "cohort.html").visible
    with pytest.raises(SystemExit):
        _parser().parse_args(["report", "--lang", "de"])
    assert "invalid choice: 'de'" in capsys.readouterr().err


def test_the_command_line_writes_the_coverage_formats_asked(course, tmp_path):
    args = _parser().parse_args(["coverage", "--labs", str(course.labs_dir), "--out", str(tmp_path),
                                 "--format", "csv, md"])
    assert args.handler(args) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["coverage.csv", "coverage.md"]
