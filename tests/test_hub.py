"""A course's session on JupyterHub (`factorylab hub`), end to end on this machine, through the hub's REST API
and the users' servers' (no browser): three learners and their trainer log in; the trainer releases a lab
through nbgrader's exchange; each learner fetches it, runs it against the course's one live plant (reading
the line and commanding it), and submits; the trainer collects, grades with `factorylab grade` and reports.

The lab is the tests' `lab_rate` (tests/grading_fixtures.py) with one more cell, ungraded, that reads the
plant's status and sends it a setpoint command: in a learner's server it reaches the hub's plant through
`FACTORYLAB_BROKER`; in the grader's sandbox, where no broker is reachable, `start_plant` runs one inside.
"""

import json
import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
import requests
from example_course import _venv_on_path
from grading_fixtures import LAB, RIGHT_COUNTS, RIGHT_RATE, WRONG_RATE, answer, copy_course, write_labs
from hub_client import HubUser, KernelError
from nbgrader.api import Gradebook

from autograde.course import Course
from autograde.release import release
from factorylab.hub.run import find_proxy, prepare
from factorylab.hub.settings import HubError
from simulators.broker import free_port

pytestmark = pytest.mark.slow  # four JupyterLab servers and a graded cohort: about a minute and a half
TRAINER = "tess"
ANSWERS = {  # each learner's answers, by grade_id, and the automatic points nbgrader should give them (of 3)
    "ann": ({"rate_function": RIGHT_RATE, "rate_counts": RIGHT_COUNTS,
             "rate_explain": "Le compteur repart de zéro à chaque changement d'équipe."}, 3.0),
    "ben": ({"rate_function": WRONG_RATE, "rate_counts": "counts = [1, 2]\n"}, 0.0),
    "cleo": ({"rate_function": RIGHT_RATE}, 2.0),
}
PLANT_CELL = """import json, os, queue
from simulators.learner import start_plant
from simulators.transport import MqttClient

plant = start_plant()
me = os.environ.get("JUPYTERHUB_USER", "grader")
statuses, replies = queue.Queue(), queue.Queue()
with MqttClient(plant.broker_url) as client:
    client.subscribe(f"{plant.prefix}/_status", lambda message: statuses.put(json.loads(message.payload)))
    client.subscribe(f"{plant.prefix}/_reply", lambda message: replies.put(json.loads(message.payload)))
    status = statuses.get(timeout=20)
    station = sorted(status["states"])[0]
    command = {"command": "set_speed", "id": me, "station": station, "value": 1.0}
    client.publish(f"{plant.prefix}/_cmd", json.dumps(command).encode(), qos=1)
    reply = replies.get(timeout=20)
    while reply["id"] != me:
        reply = replies.get(timeout=20)
plant.stop()
print(json.dumps({"broker": plant.broker_url.rpartition("@")[2], "line": plant.prefix, "status": status["status"],
                  "command_ok": reply["ok"]}))
"""


def _hub_lab(labs_dir: Path) -> Path:
    write_labs(labs_dir)
    path = labs_dir / LAB / f"{LAB}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_code_cell(PLANT_CELL))
    nbformat.write(nb, path)
    return labs_dir


def _shell(kernel, *command: str, timeout_s: float = 180) -> str:
    """Run a command in the trainer's kernel, as a `!command` cell would; its output, or KernelError."""
    code = (f"import subprocess\nrun = subprocess.run({list(command)!r}, capture_output=True, text=True)\n"
            "print(run.stdout + run.stderr)\nassert run.returncode == 0, run.returncode\n")
    return kernel.run(code, timeout_s=timeout_s)


def _learner_session(learner: HubUser, course_id: str) -> dict:
    """Fetch the lab, answer it, run every cell in a kernel of the learner's server, save, submit."""
    fetched = learner.server("POST", "assignments/fetch", data={"course_id": course_id, "assignment_id": LAB})
    assert fetched.json()["success"], fetched.text
    path = f"{LAB}/{LAB}.ipynb"
    nb = answer(nbformat.from_dict(learner.read_notebook(path)), **ANSWERS[learner.name][0])
    learner.save_notebook(path, nb)
    kernel = learner.kernel(path)
    printed, failed = [], []
    try:
        env = kernel.run("import os; print(os.environ['FACTORYLAB_BROKER'].rpartition('@')[2], os.getcwd())")
        for cell in nb.cells:
            if cell.cell_type == "code":
                try:
                    printed.append(kernel.run(cell.source))
                except KernelError:
                    failed.append(cell.metadata.get("nbgrader", {}).get("grade_id", "?"))
    finally:
        kernel.close()
    submitted = learner.server("POST", "assignments/submit", data={"course_id": course_id, "assignment_id": LAB})
    assert submitted.json()["success"], submitted.text
    plant = next(json.loads(line) for text in printed for line in text.splitlines() if line.startswith('{"broker"'))
    return {"env": env.split(), "plant": plant, "failed": failed}


@pytest.fixture(scope="module")
def proxy() -> None:
    """JupyterHub's proxy is installed (skipped with the reason otherwise, failed under CI)."""
    try:
        find_proxy()
    except HubError as error:
        if os.environ.get("CI"):
            pytest.fail(f"{error}; CI must install it (.ci/run)")
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def session(tmp_path_factory, proxy):
    """The whole session on one hub: what each person saw and what the course holds afterwards."""
    root = tmp_path_factory.mktemp("hub")
    course = Course.at(root / "course")
    with _venv_on_path():
        release(labs_dir=_hub_lab(root / "labs"), course_dir=course.root, check=False)
    settings = prepare(course_dir=course.root, trainer=TRAINER, learners=list(ANSWERS), port=free_port(), speed=60)
    base = f"http://127.0.0.1:{settings.port}"
    log = (settings.state / "hub.log").open("wb")
    hub = subprocess.Popen([settings.python, "-m", "jupyterhub", "-f", str(settings.state / "jupyterhub_config.py")],
                           cwd=settings.state, stdout=log, stderr=log, start_new_session=True)
    try:
        _wait_for(f"{base}/hub/api", hub, settings.state / "hub.log")
        people = {name: HubUser.login(base, name, settings.trainer_password if name == TRAINER
                                      else settings.learner_password) for name in (TRAINER, *ANSWERS)}
        with ThreadPoolExecutor(max_workers=len(people)) as pool:  # everyone arrives at once
            list(pool.map(HubUser.start_server, people.values()))
            ready = dict(zip(people, pool.map(HubUser.wait_ready, people.values()), strict=True))
            trainer = people[TRAINER].kernel()
            released = _shell(trainer, "nbgrader", "release_assignment", LAB)
            learners = dict(zip(ANSWERS, pool.map(lambda name: _learner_session(people[name], settings.course_id),
                                                  ANSWERS), strict=True))
        collected = _shell(trainer, "nbgrader", "collect", LAB)
        graded = _shell(trainer, "factorylab", "grade", LAB, "--cell-timeout", "20")
        reported = _shell(trainer, "factorylab", "report", "--course", str(course.root), "--labs",
                          str(course.source), "--out", str(course.root / "report"))
        cwd = trainer.run("import os; print(os.getcwd(), os.environ['FACTORYLAB_COURSE'])").split()
        pages = {name: {"formgrader": person.server("GET", "formgrader").status_code,
                        "lab": _page_config(person.server("GET", "lab").text)} for name, person in people.items()}
        trainer.close()
        yield {"settings": settings, "course": course, "ready": ready, "learners": learners, "released": released,
               "collected": collected, "graded": graded, "reported": reported, "trainer_cwd": cwd, "pages": pages}
    finally:
        hub.terminate()  # JupyterHub stops the servers and services it started
        try:
            hub.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(hub.pid, signal.SIGKILL)
            hub.wait()
        log.close()


def _wait_for(url: str, hub: subprocess.Popen, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            raise AssertionError(f"JupyterHub exited with {hub.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"JupyterHub did not answer on {url} within {timeout_s} s:\n{log.read_text()[-3000:]}")


def _page_config(html: str) -> dict:
    """The configuration JupyterLab's page hands the browser (its disabled extensions among it)."""
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "not a JupyterLab page"
    return json.loads(found.group(1))


def test_every_server_opens_on_jupyterlab(session):
    assert {name: server["url"] for name, server in session["ready"].items()} == {
        name: f"/user/{name}/" for name in (TRAINER, *ANSWERS)}
    assert all(page["lab"]["appName"] == "JupyterLab" for page in session["pages"].values())


def test_learners_have_no_trainer_tools_and_the_trainer_has_them(session):
    pages = session["pages"]
    for learner in ANSWERS:
        assert pages[learner]["formgrader"] == 404
        assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"} <= set(
            pages[learner]["lab"]["disabledExtensions"])
    assert pages[TRAINER]["formgrader"] == 200
    assert not {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"} & set(
        pages[TRAINER]["lab"].get("disabledExtensions", []))


def test_every_learner_reads_and_commands_the_courses_one_plant(session):
    broker = f"127.0.0.1:{session['settings'].broker_port}"
    for name, seen in session["learners"].items():
        home = session["settings"].home(name) / LAB
        assert seen["env"] == [broker, str(home)], name
        assert seen["plant"] == {"broker": broker, "line": seen["plant"]["line"], "status": "running",
                                 "command_ok": True}, name
    assert len({seen["plant"]["line"] for seen in session["learners"].values()}) == 1


def test_the_exchange_carries_release_fetch_submit_and_collect(session):
    course: Course = session["course"]
    assert f"Released as: {session['settings'].course_id} {LAB}" in session["released"]
    assert "Collecting submission" in session["collected"]
    assert sorted(path.name for path in course.submitted.iterdir()) == sorted(ANSWERS)
    for name in ANSWERS:
        assert (course.submitted / name / LAB / f"{LAB}.ipynb").is_file()
        assert (course.submitted / name / LAB / "timestamp.txt").is_file()
    assert session["learners"]["ben"]["failed"] == ["rate_function_test", "rate_counts_test"]  # his visible checks


def test_the_trainer_grades_the_collected_work_and_reports(session):
    course: Course = session["course"]
    assert session["trainer_cwd"] == [str(course.root), str(course.root)]
    assert "3 submission(s)" in session["graded"] and "error" not in session["graded"].split("submission(s)")[1]
    with Gradebook(course.db_url) as gradebook:
        scores = {name: sum(grade.auto_score or 0 for notebook in gradebook.find_submission(LAB, name).notebooks
                            for grade in notebook.grades if grade.auto_score is not None) for name in ANSWERS}
    assert scores == {name: points for name, (_, points) in ANSWERS.items()}
    report = (course.root / "report" / "competency.csv").read_text()
    assert all(name in report for name in ANSWERS)


def test_a_hub_is_refused_a_trainer_among_its_learners_and_unusable_names(released_course, tmp_path):
    course = copy_course(released_course, tmp_path)
    with pytest.raises(HubError, match=r"--trainer 'ann' is also in --learners"):
        prepare(course_dir=course.root, trainer="ann", learners=["ann", "ben"])
    with pytest.raises(HubError, match=r"user name 'Ann Smith': use lower-case letters"):
        prepare(course_dir=course.root, trainer="tess", learners=["Ann Smith"])


def test_the_course_gets_an_id_and_the_hub_keeps_its_passwords_owner_only(released_course, tmp_path, proxy):
    course = copy_course(released_course, tmp_path)
    first = prepare(course_dir=course.root, trainer="tess", learners=["ann"])
    again = prepare(course_dir=course.root, trainer="tess", learners=["ann", "ben"])
    assert Course.at(course.root).course_id == first.course_id == "course"
    assert (again.learner_password, again.trainer_password) == (first.learner_password, first.trainer_password)
    assert len(first.trainer_password) >= 32 and first.learner_password != first.trainer_password
    assert (first.state / "hub.json").stat().st_mode & 0o077 == 0
    assert first.state.stat().st_mode & 0o077 == 0
