"""The bad-submission and cheating corpus, graded in one cohort run: each case gets a clear status and message,
earns no points it did not earn, and stops no other submission.

In every hostile case `mean_rate` is wrong or missing, so both test cells must score exactly what the blank
release scores (zero); the control learner (`ok_control`) shows that the same run still grades a right answer.
The cheats are named by what they do (as nbgrader names its fixtures): silencing later cells, patching the
evidence recorder or the testing libraries, objects equal to everything, silenced tracebacks, killing the
parent, reading the secret and the solutions, writing the gradebook or the grader's environment, network,
fork, memory and disk bombs, processes that outlive the kernel, and a submitted module named like the
kernel's launcher. Tampering that gains nothing is still flagged.
"""

import json
import os
import socket
import sys
from pathlib import Path

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

from autograde.bwrap import sandbox_available
from autograde.course import Course
from autograde.grade import format_summary, grade
from autograde.secret import secret_path

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
        "input_transformer": answer(released, rate_function=PLAUSIBLE_RATE + "get_ipython().input_transformers_post"
                                    ".append(lambda lines: ['pass\\n'])\n"),
        "patched_recorder": answer(released, rate_function=PLAUSIBLE_RATE + "import labkit.evidence\n"
                                   "labkit.evidence.record = lambda *args, **kwargs: None\n"),
        "patched_testing": answer(released, rate_function=PLAUSIBLE_RATE + "import numpy.testing, pandas.testing\n"
                                  "numpy.testing.assert_allclose = lambda *a, **k: None\n"
                                  "pandas.testing.assert_frame_equal = lambda *a, **k: None\n"),
        "always_equal": answer(released, rate_function=ALWAYS_EQUAL),
        "forged_evidence": answer(released, rate_function=PLAUSIBLE_RATE + FORGED_EVIDENCE),
        "silenced_tracebacks": answer(released, rate_function=WRONG_RATE + "get_ipython().set_custom_exc("
                                      "(BaseException,), lambda *args, **kwargs: None)\n"),
        "kill_parent": answer(released, rate_function=WRONG_RATE + "import os, signal\n"
                              "os.kill(os.getppid(), signal.SIGKILL)\n"),
        "read_secret": answer(released, rate_function=WRONG_RATE + f"print(open({str(secret_path(course.root))!r})"
                              ".read())\n"),
        "write_gradebook": answer(released, rate_function=WRONG_RATE + "import sqlite3\n"
                                  f"db = sqlite3.connect({str(course.root / 'gradebook.db')!r})\n"
                                  "db.execute('UPDATE grade SET auto_score = 99'); db.commit()\n"),
        "write_grader_env": answer(released, rate_function=WRONG_RATE + f"open({str(PLANTED)!r}, 'w').write('x')\n"),
        "fork_bomb": answer(released, rate_function=WRONG_RATE + FORK_BOMB),
        "disk_bomb": answer(released, rate_function=WRONG_RATE + "with open('filler', 'wb') as out:\n"
                            "    for _ in range(400):\n        out.write(b'x' * 2**20)\n"),
        "outlive_kernel": answer(released, rate_function=WRONG_RATE + "import subprocess\n"
                                 f"subprocess.Popen(['sleep', '{SURVIVOR}'], start_new_session=True)\n"),
        "launcher_module": [("ipykernel_launcher.py", f"open({str(PLANTED)!r}, 'w').write('x')\n"),
                            (f"{LAB}.ipynb", answer(released, rate_function=WRONG_RATE))],
    }


@pytest.fixture(scope="module")
def corpus(released_course, tmp_path_factory):
    """The whole corpus graded in one run: learner -> Outcome, with the course."""
    course = copy_course(released_course, tmp_path_factory.mktemp("hostile"))
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        for learner, content in _cases(course, server.getsockname()[1]).items():
            files = content if isinstance(content, list) else [
                content if isinstance(content, tuple) else (f"{LAB}.ipynb", content)]
            for name, data in files:
                submit(course, learner, data, name=name)
        outcomes = grade(course_dir=course.root, limits=FAST_LIMITS, progress=False)
    return {outcome.learner: outcome for outcome in outcomes}, course


# The cheats' helpers: a mean_rate that passes the visible self-check only (a cheat silencing the hidden
# part would gain the points if the kernel decided them); one whose result equals everything; a bounded fork
# bomb (each child sleeps, so they pile up until the process limit); a file planted beside the grader's
# interpreter; a survivor's marker.
PLAUSIBLE_RATE = "def mean_rate(counts, period_s):\n    return 3.0\n"
# Evidence written by hand, in a shape the recorder never produces, for the cell after this one.
FORGED_EVIDENCE = """from IPython.display import display
import labkit.evidence
def forged(grade_id, **artefacts):
    display({labkit.evidence.MIME_TYPE: {"grade_id": grade_id, "artefacts": [2.0]}}, raw=True)
labkit.evidence.record = forged
"""
ALWAYS_EQUAL = """class AlwaysEqual(float):
    def __eq__(self, other):
        return True
    __hash__ = float.__hash__
def mean_rate(counts, period_s):
    return AlwaysEqual(0)
"""
FORK_BOMB = """import os, time
for _ in range(5000):
    if os.fork() == 0:
        time.sleep(120)
        os._exit(0)
"""
PLANTED = Path(sys.prefix) / "factorylab-planted-by-a-kernel.txt"
SURVIVOR = "4321"


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
    "other_language", "input_transformer", "patched_recorder", "patched_testing", "always_equal",
    "silenced_tracebacks", "kill_parent", "read_secret", "write_gradebook", "write_grader_env", "fork_bomb",
    "disk_bomb", "outlive_kernel", "launcher_module", "forged_evidence"])
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
    ("input_transformer", "flagged", "rate_function_test: the cell completed without recording its evidence"),
    ("patched_recorder", "flagged", "rate_function_test: the cell completed without recording its evidence"),
    ("launcher_module", "flagged", "left out of grading: ipykernel_launcher.py"),
    ("forged_evidence", "flagged", "rate_function_test: malformed or misplaced evidence"),
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


def test_cheats_change_nothing_outside_their_sandbox(corpus):
    """No file planted beside the grader's Python, no process left behind, the control's grade intact."""
    course = corpus[1]
    assert not PLANTED.exists()
    survivors = [entry for entry in os.scandir("/proc") if entry.name.isdigit()
                 and _cmdline(entry.path) == f"sleep\0{SURVIVOR}"]
    assert survivors == []
    assert _auto_scores(course, "ok_control") == {"rate_function_test": 2.0, "rate_counts_test": 1.0}
    secret = secret_path(course.root).read_text()
    autograded = "".join(path.read_text(errors="ignore") for path in course.autograded.rglob("*.ipynb"))
    assert secret.strip() not in autograded


def _cmdline(proc: str) -> str:
    try:
        return Path(proc, "cmdline").read_text().rstrip("\0")
    except OSError:
        return ""


def test_every_submission_is_in_the_gradebook_with_every_cell(corpus):
    outcomes, course = corpus
    with Gradebook(course.db_url) as gradebook:
        for learner in outcomes:
            notebook = gradebook.find_submission_notebook(LAB, LAB, learner)
            assert sorted(g.name for g in notebook.grades) == [
                "rate_counts_test", "rate_explain", "rate_function_test"], learner
            assert all(g.auto_score is not None or g.needs_manual_grade for g in notebook.grades)
    assert json.dumps([o.status for o in outcomes.values()]).count("error") == 0
