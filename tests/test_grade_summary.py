"""The summary `factorylab grade` prints: each submission's outcome, failed tests and answers to grade, and the
learners who did not submit, so "did not submit", "unreadable" and "failed" read differently."""

from autograde.course import Course
from autograde.grade import NOT_SUBMITTED, Outcome, _not_submitted, format_summary


def outcome(learner, status, score, max_score, *, tests=0, failed=0, pending=0, messages=()):
    return Outcome(lab="lab1", learner=learner, status=status, score=score, max_score=max_score,
                   needs_manual_grade=bool(pending), messages=messages, duration_s=1.0, tests=tests,
                   failed_tests=failed, pending_cells=pending)


def test_each_status_reads_differently():
    summary = format_summary([
        outcome("ada", "ok", 20, 30, tests=11, failed=1, pending=5),
        outcome("bea", "ok", 0, 30, tests=11, failed=11),
        outcome("cem", "ungradable", 0, 30, tests=0, messages=("lab1.ipynb is not valid JSON (scored zero)",)),
        outcome("dan", "incident", 4, 30, tests=11, failed=9, messages=("lab1.ipynb: cell 3 timed out",)),
        outcome("eve", NOT_SUBMITTED, 0, 0),
    ])
    lines = {line.split()[1]: " ".join(line.split()[2:]) for line in summary.splitlines()[2:-1]}
    assert lines["ada"] == "ok 20/30 1 of 11 5 to grade"
    assert lines["bea"] == "ok 0/30 11 of 11"  # crashed at its first answer: every test failed, said so
    assert lines["cem"] == "ungradable 0/30 lab1.ipynb is not valid JSON (scored zero)"  # no test, nothing to grade
    assert lines["dan"] == "incident 4/30 9 of 11 lab1.ipynb: cell 3 timed out"
    assert lines["eve"] == "not submitted"
    assert summary.splitlines()[-1] == ("4 submission(s): 2 ok, 1 incident, 1 ungradable; 1 not submitted; 1 await "
                                        "manual grading (5 answer(s): factorylab mark, or nbgrader's formgrader)")


def test_a_learner_of_the_course_without_a_lab_s_submission_is_listed(tmp_path):
    course = Course.at(tmp_path)
    for lab, learners in (("lab1", ("ada", "bea")), ("lab2", ("ada",))):
        (course.release / lab).mkdir(parents=True, exist_ok=True)
        for learner in learners:
            (course.submitted / learner / lab).mkdir(parents=True)
    assert [(o.lab, o.learner, o.status) for o in _not_submitted(course, ["lab1", "lab2"], [])] == [
        ("lab2", "bea", NOT_SUBMITTED)]
    assert [o.learner for o in _not_submitted(course, ["lab2"], ["bea", "cyd"])] == ["bea", "cyd"]
