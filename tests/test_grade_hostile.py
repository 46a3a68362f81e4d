"""The bad-submission corpus, graded in one cohort run: each case gets a clear status and message, earns no
points it did not earn, and stops no other submission.

In every hostile case `mean_rate` is wrong or missing, so both test cells must score zero; the control learner
(`ok_control`) shows that the same run still grades a right answer. Where the platform has no user
namespaces (see autograde.bwrap.sandbox_available) the network and file cases assert only what
then holds: no points.
"""

import json
import os
import socket

import nbformat
import pytest
from grading_fixtures import (
    FAST_LIMITS,
    LAB,
    RIGHT_COUNTS,
    RIGHT_RATE,
    WRONG_RATE,
    answer,
    copy_course,
    released_notebook,
    submit,
)
from nbgrader.api import Gradebook

from autograde.course import Course
from autograde.grade import format_summary, grade
from autograde.bwrap import sandbox_available

STEAL = ("import glob\nfor path in glob.glob('{root}/**/*', recursive=True):\n"
         "    if path.endswith('.ipynb') or path.endswith('.db'):\n"
         "        text = open(path, errors='ignore').read()\n"
         "        if 'BEGIN SOLUTION' in text or 'SQLite' in text:\n"
         "            exec('def mean_rate(counts, period_s):\\n    return sum(counts) / (len(counts) * period_s)')\n"
         "print(len(glob.glob('{root}/**/*', recursive=True)), 'files seen')\n")


def _cases(course: Course, port: int) -> dict:
    released = released_notebook(course)
    right = answer(released, rate_function=RIGHT_RATE, rate_counts=RIGHT_COUNTS)
    wrong = {"rate_function": WRONG_RATE}
    deleted = answer(released, **wrong)
    deleted.cells = [c for c in deleted.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "rate_counts_test"]
    reordered = answer(released, **wrong)
    reordered.cells[2], reordered.cells[4] = reordered.cells[4], reordered.cells[2]
    other_language = answer(released, rate_function="mean_rate <- function(counts, period_s) sum(counts)\n")
    other_language.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    return {
        "ok_control": right,
        "invalid_json": b'{"cells": [',
        "empty_file": b"",
        "wrong_name": ("lab_rate (1).ipynb", right),
        "deleted_cells": deleted,
        "reordered_cells": reordered,
        "edited_tests": answer(released, rate_function=WRONG_RATE, rate_function_test="pass\n",
                               rate_counts_test="pass\n"),
        "infinite_loop": answer(released, rate_function="while True:\n    pass\n"),
        "hung_kernel": answer(released, rate_function="import signal, time\nsignal.signal(signal.SIGINT, "
                                                      "signal.SIG_IGN)\nwhile True:\n    time.sleep(0.1)\n"),
        "memory_bomb": answer(released, rate_function="hog = []\nwhile True:\n    hog.append(bytearray(10**8))\n"),
        "output_flood": answer(released, rate_function="while True:\n    print('x' * 10000)\n"),
        "import_error": answer(released, rate_function="import factorylab_no_such_module\n" + RIGHT_RATE),
        "sys_exit": answer(released, rate_function=WRONG_RATE + "import sys\nsys.exit(0)\n"),
        "os_exit": answer(released, rate_function=RIGHT_RATE + "import os\nos._exit(0)\n"),
        "read_solution": answer(released, rate_function=WRONG_RATE + STEAL.format(root=course.root)),
        "network": answer(released, rate_function=WRONG_RATE + "import socket\n"
                          f"socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n" + RIGHT_RATE),
        "other_language": other_language,
        "own_loopback": answer(released, rate_function=OWN_LOOPBACK + RIGHT_RATE, rate_counts=RIGHT_COUNTS),
    }


@pytest.fixture(scope="module")
def corpus(released_course, tmp_path_factory):
    """The whole corpus graded in one run: learner -> Outcome, with the course."""
    course = copy_course(released_course, tmp_path_factory.mktemp("hostile"))
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        for learner, content in _cases(course, server.getsockname()[1]).items():
            name, content = content if isinstance(content, tuple) else (f"{LAB}.ipynb", content)
            submit(course, learner, content, name=name)
        outcomes = grade(course_dir=course.root, limits=FAST_LIMITS, progress=False)
    return {outcome.learner: outcome for outcome in outcomes}, course


# A lab may run its own broker or SMTP server on 127.0.0.1 (the alerts lab does): the kernel's loopback is its
# own, up, and reachable from inside the kernel only.
OWN_LOOPBACK = """import socket
with socket.create_server(("127.0.0.1", 0)) as own_server:
    socket.create_connection(own_server.getsockname(), timeout=2).close()
"""


def test_a_kernel_may_serve_and_connect_on_its_own_loopback(corpus):
    outcomes = corpus[0]
    assert (outcomes["own_loopback"].status, outcomes["own_loopback"].score) == ("ok", 3.0)


def _auto_scores(course: Course, learner: str) -> dict[str, float]:
    with Gradebook(course.db_url) as gradebook:
        notebook = gradebook.find_submission_notebook(LAB, LAB, learner)
        return {g.name: g.auto_score for g in notebook.grades if g.name.endswith("_test")}


def test_the_control_submission_is_graded_in_the_same_run(corpus):
    outcomes, course = corpus
    assert (outcomes["ok_control"].status, outcomes["ok_control"].score) == ("ok", 3.0)
    assert _auto_scores(course, "ok_control") == {"rate_function_test": 2.0, "rate_counts_test": 1.0}


@pytest.mark.parametrize("learner", [
    "invalid_json", "empty_file", "wrong_name", "deleted_cells", "reordered_cells", "edited_tests", "infinite_loop",
    "hung_kernel", "memory_bomb", "output_flood", "import_error", "sys_exit", "os_exit", "read_solution", "network",
    "other_language"])
def test_no_hostile_submission_scores_a_point(corpus, learner):
    outcomes, course = corpus
    assert outcomes[learner].score == 0.0
    assert set(_auto_scores(course, learner).values()) <= {0.0, None}  # None: left to manual grading
    assert 0.0 in set(_auto_scores(course, learner).values())


@pytest.mark.parametrize(("learner", "status", "message"), [
    ("invalid_json", "ungradable", "is not valid JSON (line 1"),
    ("empty_file", "ungradable", "lab_rate.ipynb is empty (scored zero)"),
    ("wrong_name", "ungradable", "found instead: lab_rate (1).ipynb: rename it"),
    ("deleted_cells", "flagged", "graded cell(s) deleted: rate_counts_test (nbgrader re-adds them from the source, "
                                 "left to manual grading)"),
    ("reordered_cells", "flagged", "graded cells reordered"),
    ("edited_tests", "flagged", "test cell(s) edited: rate_function_test, rate_counts_test"),
    ("infinite_loop", "incident", "cell timeout (4 s) in cell(s) 1"),
    ("hung_kernel", "incident", "lab_rate.ipynb:"),
    # an output flood hits the output cap, the memory limit (the kernel buffers it) or kills the kernel, by load
    ("output_flood", "incident", "lab_rate.ipynb:"),
    ("memory_bomb", "incident", "memory limit (1024 MB) in cell(s) 1"),
    ("os_exit", "incident", "the kernel died"),
    ("other_language", "flagged", "written for the 'R' kernel"),
    ("import_error", "ok", None),
    ("sys_exit", "ok", None),
])
def test_each_case_gets_a_clear_status_and_message(corpus, learner, status, message):
    outcome = corpus[0][learner]
    assert outcome.status == status, outcome
    if message is None:
        assert outcome.messages == ()
    else:
        assert any(message in line for line in outcome.messages), outcome.messages


def test_no_false_alarm_on_untouched_submissions(corpus):
    """nbgrader warns of changed checksums on every hidden test; the summary flags only real changes."""
    outcomes, _ = corpus
    assert outcomes["ok_control"].messages == ()
    assert "checksum" not in format_summary(list(outcomes.values())).lower()


# A machine without unprivileged user namespaces cannot isolate kernels (the summary says so); CI's can, so
# there the test runs, and fails, rather than skip.
@pytest.mark.skipif(not sandbox_available() and not os.environ.get("CI"),
                    reason="needs unprivileged user namespaces")
def test_kernels_see_neither_the_course_nor_the_network(corpus):
    course = corpus[1]
    autograded = nbformat.read(course.autograded / "read_solution" / LAB / f"{LAB}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in autograded.cells for o in c.get("outputs", []))
    assert "0 files seen" in printed
    network = nbformat.read(course.autograded / "network" / LAB / f"{LAB}.ipynb", as_version=4)
    assert any(o.get("ename") in ("OSError", "ConnectionRefusedError") for o in network.cells[1].outputs)


def test_every_submission_is_in_the_gradebook_with_every_cell(corpus):
    outcomes, course = corpus
    with Gradebook(course.db_url) as gradebook:
        for learner in outcomes:
            notebook = gradebook.find_submission_notebook(LAB, LAB, learner)
            assert sorted(g.name for g in notebook.grades) == [
                "rate_counts_test", "rate_explain", "rate_function_test"], learner
            assert all(g.auto_score is not None or g.needs_manual_grade for g in notebook.grades)
    assert json.dumps([o.status for o in outcomes.values()]).count("error") == 0
