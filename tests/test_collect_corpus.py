"""A corpus of LMS downloads, one per format, each with the mess of real ones, built here; where every file lands.

Each download is built by the test (a zip or a folder under tmp_path) to its LMS's naming conventions (see
autograde/collect/__init__.py). Every notebook carries a tag, so that `landed` shows which file was placed
where; the reports are asserted path by path. The builders are shared with the other test_collect_* files.
"""

import json
import os
import unicodedata
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from grading_fixtures import LAB

from autograde.collect import collect
from autograde.course import Course

NB = f"{LAB}.ipynb"
MARCH_1 = (2024, 3, 1, 10, 0, 0)


def notebook(tag: str) -> bytes:
    """A small notebook whose metadata says which file of the corpus it is."""
    return json.dumps({"cells": [], "metadata": {"corpus": tag}, "nbformat": 4, "nbformat_minor": 5}).encode()


def write_zip(path: Path, members: dict[str, bytes | str | tuple], when: tuple = MARCH_1) -> Path:
    """A zip of `members` (name -> content, or (content, date_time)); text is written as UTF-8."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, value in members.items():
            content, date_time = value if isinstance(value, tuple) else (value, when)
            archive.writestr(zipfile.ZipInfo(name, date_time), content)
    return path


def write_tree(root: Path, files: dict[str, bytes | str], when: datetime | None = None) -> Path:
    """A folder holding `files` (relative path -> content), each modified at `when` if given."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        if when:
            os.utime(path, (when.timestamp(), when.timestamp()))
    return root


def landed(course: Course) -> dict[str, str]:
    """Every notebook under submitted/, as `learner/lab/file` -> the corpus tag of what was placed there."""
    return {str(path.relative_to(course.submitted)): json.loads(path.read_text())["metadata"].get("corpus", "?")
            for path in sorted(course.submitted.rglob("*.ipynb"))}


def stamp(course: Course, learner: str) -> str | None:
    path = course.submitted / learner / LAB / "timestamp.txt"
    return path.read_text().strip() if path.is_file() else None


def reasons(items) -> dict[str, str]:
    return dict(items)


def test_moodle_folders_wrapped_with_accents_scripts_homonyms_and_copies(course_copy, tmp_path):
    nfd = unicodedata.normalize("NFD", "Éloïse Dupré")
    folder = "{}_{}_assignsubmission_file_"
    download = write_zip(tmp_path / "moodle.zip", {
        f"Lab rate/{folder.format('Ada Lovelace', 101)}/{NB}": notebook("ada first"),
        f"Lab rate/{folder.format('Ada Lovelace', 101)}/{LAB} (1).ipynb": (notebook("ada second"),
                                                                            (2024, 3, 1, 11, 0, 0)),
        f"Lab rate/{folder.format('Aaron Smith', 102)}/ada_lovelace_{NB}": notebook("aaron's, named after ada"),
        f"Lab rate/{folder.format(nfd, 103)}/{NB}": notebook("eloise"),
        f"Lab rate/{folder.format('王芳', 104)}/{NB}": notebook("wang fang"),
        f"Lab rate/{folder.format('Иван Петров', 105)}/{NB}": notebook("ivan"),
        f"Lab rate/{folder.format('Jean Martin', 106)}/{NB}": notebook("jean 106"),
        f"Lab rate/{folder.format('Jean Martin', 107)}/{NB}": notebook("jean 107"),
        f"Lab rate/{folder.format('Zoé Roux', 108)}/{NB}": notebook("zoe acute"),
        f"Lab rate/{folder.format('Zoë Roux', 109)}/{NB}": notebook("zoe diaeresis"),
        "Lab rate/Ada Lovelace_101_assignsubmission_onlinetext_/onlinetext.html": "<p>hi</p>",
        "__MACOSX/Lab rate/._x": "mac",
    })
    result = collect(source=download, course_dir=course_copy.root, timezone="UTC")
    assert result.format == "Moodle"
    assert landed(course_copy) == {
        f"ada_lovelace/{LAB}/{NB}": "ada second",
        f"aaron_smith/{LAB}/{NB}": "aaron's, named after ada",
        f"eloise_dupre/{LAB}/{NB}": "eloise",
        f"wangfang/{LAB}/{NB}": "wang fang",
        f"ivan_petrov/{LAB}/{NB}": "ivan",
    }
    assert stamp(course_copy, "ada_lovelace") == "2024-03-01 11:00:00.000000 UTC"
    assert {placed.who for placed in result.placed} >= {"Ada Lovelace (Moodle participant 101)",
                                                          "Éloïse Dupré (Moodle participant 103)"}
    assert reasons(result.superseded) == {
        f"Lab rate/{folder.format('Ada Lovelace', 101)}/{NB}":
            f"an older copy or resubmission of {LAB} by Ada Lovelace (Moodle participant 101): the latest is placed "
            f"(Lab rate/{folder.format('Ada Lovelace', 101)}/{LAB} (1).ipynb)"}
    refused = reasons(result.refused)
    assert sorted(refused) == sorted(f"Lab rate/{folder.format(name, number)}/{NB}" for name, number in
                                     (("Jean Martin", 106), ("Jean Martin", 107), ("Zoé Roux", 108), ("Zoë Roux", 109)))
    jean = refused[f"Lab rate/{folder.format('Jean Martin', 106)}/{NB}"]
    assert "Jean Martin (Moodle participant 106) and Jean Martin (Moodle participant 107)" in jean
    assert f"Lab rate/{folder.format('Jean Martin', 107)}/{NB}" in jean and "'jean_martin'" in jean
    assert "never merged" in refused[f"Lab rate/{folder.format('Zoë Roux', 109)}/{NB}"]
    assert reasons(result.skipped) == {
        "__MACOSX/": "a system or hidden file or folder: not read",
        "Lab rate/Ada Lovelace_101_assignsubmission_onlinetext_/onlinetext.html": "not a notebook"}


def test_moodle_flat_download_under_blind_marking_keeps_every_participant(course_copy, tmp_path):
    download = write_tree(tmp_path / "blind", {
        f"Participant_201_assignsubmission_file_{NB}": notebook("p201"),
        f"Participant_202_assignsubmission_file_{NB}": notebook("p202"),
        f"Participant_203_assignsubmission_file_Copy of {NB}": notebook("p203"),
    })
    result = collect(source=download, course_dir=course_copy.root)
    assert landed(course_copy) == {f"participant_201/{LAB}/{NB}": "p201", f"participant_202/{LAB}/{NB}": "p202",
                                   f"participant_203/{LAB}/{NB}": "p203"}
    assert result.placed[0].who == "Moodle participant 201 (blind marking)"
    assert not result.refused


def test_canvas_user_ids_resubmissions_and_late_without_a_false_time(course_copy, tmp_path):
    download = write_zip(tmp_path / "submissions.zip", {
        f"lovelaceada_301_9001_{NB}": notebook("ada first"),
        f"lovelaceada_301_9005_{LAB}-1.ipynb": notebook("ada resubmitted"),
        f"smithaaron_LATE_302_9002_{NB}": notebook("aaron late"),
        f"dupreeloise_303_9003_Copy of {NB}": notebook("eloise"),
        "smithaaron_LATE_302_9004_notes.pdf": b"%PDF",
    })
    result = collect(source=download, course_dir=course_copy.root)
    assert result.format == "Canvas"
    assert landed(course_copy) == {f"lovelaceada/{LAB}/{NB}": "ada resubmitted", f"smithaaron/{LAB}/{NB}": "aaron late",
                                   f"dupreeloise/{LAB}/{NB}": "eloise"}
    late = next(placed for placed in result.placed if placed.learner == "smithaaron")
    assert (late.note, late.moment, late.who) == ("marked LATE by Canvas", None, "smithaaron (Canvas user 302)")
    assert stamp(course_copy, "smithaaron") is None  # the zip's time is the download's, not the submission's
    assert list(reasons(result.superseded)) == [f"lovelaceada_301_9001_{NB}"]
    assert reasons(result.skipped) == {"smithaaron_LATE_302_9004_notes.pdf": "not a notebook"}


def test_brightspace_folders_and_files_with_their_dates(course_copy, tmp_path):
    download = write_zip(tmp_path / "brightspace.zip", {
        "Lab Rate Download/index.html": "<html/>",
        f"Lab Rate Download/5001-401 - Lovelace, Ada - Mar 1, 2024 1005 AM/{NB}": notebook("ada first"),
        f"Lab Rate Download/5009-401 - Lovelace, Ada - Mar 2, 2024 105 PM/{NB}": notebook("ada second"),
        f"Lab Rate Download/5002-402 - Aaron Smith - Mar 1, 2024 1130 AM - {NB}": notebook("aaron"),
    })
    result = collect(source=download, course_dir=course_copy.root, timezone="UTC")
    assert result.format == "Brightspace"
    assert landed(course_copy) == {f"ada_lovelace/{LAB}/{NB}": "ada second", f"aaron_smith/{LAB}/{NB}": "aaron"}
    assert stamp(course_copy, "ada_lovelace") == "2024-03-02 13:05:00.000000 UTC"
    assert stamp(course_copy, "aaron_smith") == "2024-03-01 11:30:00.000000 UTC"
    assert list(reasons(result.superseded)) == [
        f"Lab Rate Download/5001-401 - Lovelace, Ada - Mar 1, 2024 1005 AM/{NB}"]
    assert reasons(result.skipped) == {"Lab Rate Download/index.html": "not a notebook"}


def test_blackboard_attempts_by_user_name_with_receipts_in_the_trainers_zone(course_copy, tmp_path):
    download = write_tree(tmp_path / "gradebook", {
        f"Lab Rate_ada01_attempt_2024-03-01-10-05-00_{NB}": notebook("ada first"),
        "Lab Rate_ada01_attempt_2024-03-01-10-05-00.txt": "Name: Ada Lovelace (ada01)",
        f"Lab Rate_ada01_attempt_2024-03-02-09-00-00_{NB}": notebook("ada second"),
        f"Lab Rate_bob02_attempt_2024-03-01-23-30-00_{LAB} - Copy.ipynb": notebook("bob"),
    }, when=datetime(2024, 6, 1, tzinfo=UTC))
    result = collect(source=download, course_dir=course_copy.root, timezone="Europe/Paris")
    assert result.format == "Blackboard"
    assert landed(course_copy) == {f"ada01/{LAB}/{NB}": "ada second", f"bob02/{LAB}/{NB}": "bob"}
    assert stamp(course_copy, "ada01") == "2024-03-02 08:00:00.000000 UTC"
    assert stamp(course_copy, "bob02") == "2024-03-01 22:30:00.000000 UTC"
    assert reasons(result.skipped) == {"Lab Rate_ada01_attempt_2024-03-01-10-05-00.txt": "not a notebook"}
    assert list(reasons(result.superseded)) == [f"Lab Rate_ada01_attempt_2024-03-01-10-05-00_{NB}"]


def test_teams_student_work_seen_through_and_drafts_left_out(course_copy, tmp_path):
    download = write_tree(tmp_path / "OneDrive_1", {
        f"Student Work/Submitted files/Ada Lovelace/Lab rate/{NB}": notebook("ada"),
        f"Student Work/Submitted files/Aaron Smith/Lab rate/{LAB} - Copy.ipynb": notebook("aaron"),
        f"Student Work/Working files/Ada Lovelace/Lab rate/{NB}": notebook("ada draft"),
    })
    result = collect(source=download, course_dir=course_copy.root)
    assert result.format.startswith("folders or names")
    assert landed(course_copy) == {f"ada_lovelace/{LAB}/{NB}": "ada", f"aaron_smith/{LAB}/{NB}": "aaron"}
    assert reasons(result.skipped) == {f"Student Work/Working files/Ada Lovelace/Lab rate/{NB}":
                                       "in Teams' \"Working files\": a draft the learner has not handed in"}


def test_google_classroom_drive_zip_names_learners_before_the_file(course_copy, tmp_path):
    download = write_zip(tmp_path / "Lab rate-20240301T100000Z-001.zip", {
        f"Lab rate/Ada Lovelace - {NB}": notebook("ada"),
        f"Lab rate/Aaron Smith - {LAB} (1).ipynb": notebook("aaron"),
        f"Lab rate/{NB}": notebook("the trainer's template"),
        f"Lab rate/{LAB} (1).ipynb": notebook("a copy of the template"),
    })
    result = collect(source=download, course_dir=course_copy.root)
    assert landed(course_copy) == {f"ada_lovelace/{LAB}/{NB}": "ada", f"aaron_smith/{LAB}/{NB}": "aaron"}
    skipped = reasons(result.skipped)
    assert sorted(skipped) == [f"Lab rate/{LAB} (1).ipynb", f"Lab rate/{NB}"]  # no learner "1" or "lab"
    assert skipped[f"Lab rate/{NB}"].startswith("names no learner")


def test_nbgrader_exchange_inbound_keeps_each_students_latest_by_timestamp(course_copy, tmp_path):
    inbound = "course101/inbound"
    download = write_zip(tmp_path / "exchange.zip", {
        f"{inbound}/ada+{LAB}+2024-03-01 10:00:00.000000 UTC+AbCd12/{NB}": notebook("ada first"),
        f"{inbound}/ada+{LAB}+2024-03-01 10:00:00.000000 UTC+AbCd12/timestamp.txt": "2024-03-01 10:00:00.000000 UTC",
        f"{inbound}/ada+{LAB}+2024-03-02 09:00:00.000000 UTC+Xy-_34/{NB}": notebook("ada second"),
        f"{inbound}/ada+{LAB}+2024-03-02 09:00:00.000000 UTC+Xy-_34/timestamp.txt":
            "2024-03-02 09:15:00.500000 UTC",
        f"{inbound}/bob+{LAB}+2024-03-01 12:00:00.000000 UTC/{NB}": notebook("bob"),
        f"course101/outbound/{LAB}/{NB}": notebook("the release"),
    }, when=(2024, 6, 1, 0, 0, 0))
    result = collect(source=download, course_dir=course_copy.root)
    assert result.format == "nbgrader exchange"
    assert landed(course_copy) == {f"ada/{LAB}/{NB}": "ada second", f"bob/{LAB}/{NB}": "bob"}
    assert stamp(course_copy, "ada") == "2024-03-02 09:15:00.500000 UTC"
    assert stamp(course_copy, "bob") == "2024-03-01 12:00:00.000000 UTC"
    assert reasons(result.skipped)[f"course101/outbound/{LAB}/{NB}"].startswith("names no learner")


def test_jupyterhub_home_folders_lose_their_prefix_and_keep_the_files_time(course_copy, tmp_path):
    when = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    download = write_tree(tmp_path / "homes", {
        f"jupyter-ada/{NB}": notebook("ada"),
        f"jupyter-ada/.ipynb_checkpoints/{LAB}-checkpoint.ipynb": notebook("checkpoint"),
        "jupyter-ada/scratch.ipynb": notebook("scratch"),
        f"jupyter-bob/work/{NB}": notebook("bob"),
    }, when=when)
    result = collect(source=download, course_dir=course_copy.root)
    assert result.format == "JupyterHub home folders"
    assert landed(course_copy) == {f"ada/{LAB}/{NB}": "ada", f"bob/{LAB}/{NB}": "bob"}
    assert stamp(course_copy, "ada") == "2024-03-01 09:30:00.000000 UTC"
    skipped = reasons(result.skipped)
    assert skipped["jupyter-ada/.ipynb_checkpoints/"] == "a system or hidden file or folder: not read"
    assert skipped["jupyter-ada/scratch.ipynb"].startswith("JupyterHub user ada: names no released notebook")


def test_home_folders_of_a_hub_server(course_copy, tmp_path):
    download = write_zip(tmp_path / "homes.zip", {f"home/carol/labs/{NB}": notebook("carol"),
                                                  f"home/dan/{NB}": notebook("dan")})
    collect(source=download, course_dir=course_copy.root)
    assert landed(course_copy) == {f"carol/{LAB}/{NB}": "carol", f"dan/{LAB}/{NB}": "dan"}


def test_a_single_learners_folder_is_that_learner_not_a_wrapper(course_copy, tmp_path):
    download = write_tree(tmp_path / "one", {f"ada/{NB}": notebook("ada"), "ada/data.csv": "x"})
    collect(source=download, course_dir=course_copy.root)
    assert landed(course_copy) == {f"ada/{LAB}/{NB}": "ada"}
