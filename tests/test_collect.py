"""`factorylab collect`: an LMS download (folder or zip) placed into submitted/, with what was not placed."""

import zipfile

import pytest
from grading_fixtures import LAB

from autograde.collect import collect, learner_id
from autograde.errors import CollectError


def test_moodle_folder_names_become_learner_ids():
    assert learner_id("Ada Lovelace_123_assignsubmission_file_") == "ada_lovelace"


def test_a_zip_with_folders_and_flat_files_is_placed_and_the_rest_reported(course_copy, tmp_path):
    download = tmp_path / "download.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.writestr(f"Ada Lovelace_123_assignsubmission_file_/{LAB}.ipynb", "{}")
        archive.writestr(f"bea_{LAB}.ipynb", "{}")
        archive.writestr("notes.txt", "hello")
        archive.writestr("cem_homework.ipynb", "{}")
    result = collect(source=download, course_dir=course_copy.root)
    assert sorted((learner, lab) for learner, lab, _ in result.placed) == [("ada_lovelace", LAB), ("bea", LAB)]
    assert (course_copy.submitted / "bea" / LAB / "timestamp.txt").is_file()
    reasons = dict(result.skipped)
    assert reasons["notes.txt"] == "not a notebook"
    assert "names no learner and released notebook" in reasons["cem_homework.ipynb"]


def test_a_roster_maps_names_and_refuses_strangers(course_copy, tmp_path):
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / f"Ada Lovelace_{LAB}.ipynb").write_text("{}")
    (tmp_path / "dl" / f"Eve_{LAB}.ipynb").write_text("{}")
    (tmp_path / "roster.csv").write_text("name,learner\nAda Lovelace,a123\n")
    result = collect(source=tmp_path / "dl", course_dir=course_copy.root, roster=tmp_path / "roster.csv")
    assert [(learner, lab) for learner, lab, _ in result.placed] == [("a123", LAB)]
    assert result.skipped == [(f"Eve_{LAB}.ipynb", "learner 'eve' is not in the roster")]
    again = collect(source=tmp_path / "dl", course_dir=course_copy.root, roster=tmp_path / "roster.csv")
    assert "exists" in dict(again.skipped)[f"Ada Lovelace_{LAB}.ipynb"]


def test_a_source_that_is_neither_folder_nor_zip_is_refused(course_copy, tmp_path):
    (tmp_path / "x.txt").write_text("no")
    with pytest.raises(CollectError, match="neither a folder nor a zip"):
        collect(source=tmp_path / "x.txt", course_dir=course_copy.root)
