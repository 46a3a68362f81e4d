"""Learners' criterion statuses from a real nbgrader gradebook: the rule, the report files and the refusals."""

import argparse
import csv
import json
import os

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
from autograde.provenance import UNSANDBOXED_NOTICE, record_grading


@pytest.fixture(scope="session")
def course(tmp_path_factory):
    return shared_example_course(tmp_path_factory)


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def statuses(course, catalogue):
    """learner -> criterion key -> CriterionStatus, for the example course."""
    cells = load_tagged_cells(course.labs_dir, catalogue)
    learners = read_gradebook(course.db_url, cells)
    return {learner.learner: {status.criterion.key: status
                              for status in learner_statuses(learner, cells, catalogue, lambda *_: course.root / "x")}
            for learner in learners}


@pytest.fixture(scope="module")
def report_dir(course, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    build_report(course_dir=course.root, labs_dir=course.labs_dir, out_dir=out)
    return out


def grade(score, max_score, manual=False):
    return CellGrade(score=score, max_score=max_score, needs_manual_grade=manual)


@pytest.mark.parametrize(("grades", "expected"), [
    ([], "not_attempted"),
    ([grade(2, 2), grade(0, 1, manual=True)], "awaiting_manual_grading"),
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


def test_wrong_answers_do_not_acquire(statuses):
    bob = statuses["bob"]
    assert bob["CCPM-C1-M1"].status == "not_acquired"  # 1 / 3: the mean-rate test failed
    assert (bob["CCPM-C1-M1"].score, bob["CCPM-C1-M1"].max_score) == (1.0, 3.0)
    assert bob["CCPM-C1-MO1"].status == "not_acquired"


def test_ungraded_manual_cells_leave_their_criteria_awaiting(statuses):
    carol = statuses["carol"]
    assert carol["CCPM-C1-M1"].status == "acquired"  # autograded cells only
    assert carol["CCPM-C1-MO2"].status == "awaiting_manual_grading"
    assert carol["CCPM-C1-MO1"].status == "awaiting_manual_grading"


def test_unsubmitted_labs_and_absent_learners_are_not_attempted(statuses):
    assert statuses["alice"]["Cr3.2.3"].status == "not_attempted"  # lab_extra: nobody submitted it
    assert [item.grade for item in statuses["alice"]["Cr3.2.3"].evidence] == [None]
    assert {status.status for status in statuses["dave"].values()} == {"not_attempted"}
    assert statuses["alice"]["CCPM-C1-M2"].evidence == ()  # no lab evidences it yet


def test_report_writes_cohort_learner_pages_csv_and_badges(report_dir, catalogue):
    assert (report_dir / "cohort.html").is_file()
    assert sorted(path.name for path in (report_dir / "learners").iterdir()) == [
        "alice.html", "bob.html", "carol.html", "dave.html"]
    assert sorted(path.name for path in (report_dir / "badges" / "alice").iterdir()) == [
        "CCPM-C1-M1.json", "CCPM-C1-MO1.json", "CCPM-C1-MO2.json"]
    assert not (report_dir / "badges" / "bob").exists()
    with (report_dir / "competency.csv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 4 * len(catalogue.criteria)
    row = next(r for r in rows if (r["learner"], r["criterion_key"]) == ("bob", "CCPM-C1-M1"))
    assert (row["status"], row["score"], row["max_score"]) == ("not_acquired", "1", "3")
    assert "lab_demo/lab_demo/demo_mean_rate_test (auto) 0/2" in row["evidence"]
    cohort = (report_dir / "cohort.html").read_text(encoding="utf-8")
    assert "learner &#x27;dave&#x27; has no submission in the gradebook" in cohort
    assert "at least 50% of its points" in cohort  # the rule is on the page


def test_evidence_graded_without_the_sandbox_is_marked_everywhere_and_earns_no_badge(course, tmp_path):
    copy = copy_course(course, tmp_path / "course")
    record_grading(copy.db_url, "lab_demo", "alice", sandboxed=False)
    record_grading(copy.db_url, "lab_demo", "bob", sandboxed=True)
    out = tmp_path / "report"
    build_report(course_dir=copy.root, labs_dir=copy.labs_dir, out_dir=out)
    assert not (out / "badges" / "alice").exists()  # acquired on unsandboxed evidence: no credential
    alice = (out / "learners" / "alice.html").read_text(encoding="utf-8")
    assert UNSANDBOXED_NOTICE.split(":")[0] in alice and "No badge is issued" in alice
    assert "No badge is issued" not in (out / "learners" / "carol.html").read_text(encoding="utf-8")
    assert "learner &#x27;alice&#x27;: lab_demo: Graded without the sandbox" in (out / "cohort.html").read_text(
        encoding="utf-8")
    with (out / "competency.csv").open(encoding="utf-8") as stream:
        rows = {(row["learner"], row["criterion_key"]): row for row in csv.DictReader(stream)}
    assert (rows[("alice", "CCPM-C1-M1")]["status"], rows[("alice", "CCPM-C1-M1")]["sandboxed"]) == ("acquired", "no")
    assert rows[("bob", "CCPM-C1-M1")]["sandboxed"] == "yes"
    assert rows[("dave", "CCPM-C1-M1")]["sandboxed"] == ""  # nothing graded
    record_grading(copy.db_url, "lab_demo", "alice", sandboxed=True)  # graded again in the sandbox
    build_report(course_dir=copy.root, labs_dir=copy.labs_dir, out_dir=out)
    assert (out / "badges" / "alice" / "CCPM-C1-M1.json").is_file()


def test_learner_page_links_the_feedback_that_exists(report_dir, course):
    alice = (report_dir / "learners" / "alice.html").read_text(encoding="utf-8")
    feedback = course.root / "feedback" / "alice" / "lab_demo" / "lab_demo.html"
    assert feedback.is_file()
    assert f'href="{os.path.relpath(feedback, report_dir / "learners")}"' in alice
    bob = (report_dir / "learners" / "bob.html").read_text(encoding="utf-8")
    assert ">feedback</a>" not in bob  # nbgrader wrote no feedback for bob
    assert "0 / 2 pt" in bob


def test_no_report_file_contains_hidden_tests(report_dir, course, tmp_path):
    """A hidden test's text (HIDDEN_MARKER) is in the sources and nbgrader's feedback, never in our reports."""
    assert HIDDEN_MARKER in (course.labs_dir / "lab_demo" / "lab_demo.ipynb").read_text()
    written = list(build_coverage(labs_dir=course.labs_dir, out_dir=tmp_path))
    written += [path for path in report_dir.rglob("*") if path.is_file()]
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


def test_the_command_line_calls_build_report_with_a_database_url(course, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", "--course", str(course.root), "--labs", str(course.labs_dir),
                              "--out", str(tmp_path), "--db-url", Course.at(course.root).db_url,
                              "--issuer-id", "https://training.example/", "--issuer-name", "Centre"])
    assert args.handler(args) == 0
    assert f"report written to {tmp_path / 'cohort.html'}" in capsys.readouterr().out
    badge = json.loads((tmp_path / "badges" / "carol" / "CCPM-C1-M1.json").read_text())
    assert badge["issuer"] == {"id": "https://training.example/", "type": ["Profile"], "name": "Centre"}


def test_the_command_line_writes_the_coverage_formats_asked(course, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["coverage", "--labs", str(course.labs_dir), "--out", str(tmp_path),
                              "--format", "csv, md"])
    assert args.handler(args) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["coverage.csv", "coverage.md"]
