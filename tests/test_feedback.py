"""Feedback pages and CSV exports: every score is there, no hidden test source or output is."""

import pytest
from grading_fixtures import (
    FAST_LIMITS,
    HIDDEN_MARKER,
    RIGHT_COUNTS,
    RIGHT_RATE,
    WRONG_RATE,
    answer,
    copy_course,
    released_notebook,
    submit,
)

from autograde.export import export
from autograde.feedback import feedback
from autograde.grade import grade
from autograde.preprocessors.hide_hidden_tests import HIDDEN_FAILED, HIDDEN_PASSED


@pytest.fixture(scope="module")
def graded(released_course, tmp_path_factory):
    course = copy_course(released_course, tmp_path_factory.mktemp("feedback"))
    released = released_notebook(course)
    submit(course, "ada", answer(released, rate_function=RIGHT_RATE, rate_counts=RIGHT_COUNTS))
    submit(course, "bea", answer(released, rate_function=WRONG_RATE))
    grade(course_dir=course.root, limits=FAST_LIMITS, progress=False)
    pages = feedback(course_dir=course.root)
    exported = export(course_dir=course.root, out_dir=course.root.parent / "export")
    return course, pages, exported


def test_one_page_per_learner_with_the_scores(graded):
    _, pages, _ = graded
    assert [page.parent.parent.name for page in pages] == ["ada", "bea"]
    assert HIDDEN_PASSED in pages[0].read_text()
    assert HIDDEN_FAILED in pages[1].read_text()


def test_no_hidden_test_in_any_feedback_or_export_file(graded):
    course, pages, exported = graded
    files = [*pages, *exported, *(course.feedback.rglob("*"))]
    assert files
    for path in files:
        if path.is_file():
            assert HIDDEN_MARKER not in path.read_text(errors="ignore"), path


def test_the_failing_hidden_assertion_message_is_not_quoted(graded):
    _, pages, _ = graded
    assert "wrong rate" not in pages[1].read_text()
    assert "AssertionError" not in pages[1].read_text()
