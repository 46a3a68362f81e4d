"""`factorylab collect`: learner ids from names, what is placed and reported, and what is never overwritten.

The formats and their mess are in test_collect_corpus.py, reading safely in test_collect_safety.py, the roster
in test_collect_roster.py.
"""

import unicodedata

import pytest
from grading_fixtures import LAB, submit
from test_collect_corpus import NB, landed, notebook, reasons, stamp, write_tree, write_zip

from autograde.collect import collect, learner_id
from autograde.collect.notebooks import recognise
from factorylab.cli import main

MOODLE = "{}_{}_assignsubmission_file_/" + NB


@pytest.mark.parametrize(("name", "expected"), [
    ("Éloïse Dupré", "eloise_dupre"),
    (unicodedata.normalize("NFD", "Éloïse Dupré"), "eloise_dupre"),
    ("ÉLOÏSE  DUPRÉ", "eloise_dupre"),
    ("王芳", "wangfang"),
    ("Иван Петров", "ivan_petrov"),
    ("Łukasz Żółć", "lukasz_zolc"),
    ("Jean-Luc O'Brien", "jean_luc_o_brien"),
    ("ﬁlippa", "filippa"),
    ("!!!", ""),
])
def test_names_become_ids_reproducibly(name, expected):
    assert learner_id(name) == expected


@pytest.mark.parametrize(("stem", "notebook", "revision", "rest"), [
    (LAB, LAB, 0, ""),
    (f"{LAB} (1)", LAB, 1, ""),
    (f"Copy of {LAB}", LAB, 1, ""),
    (f"{LAB} - Copy (2)", LAB, 2, ""),
    (f"{LAB}-v3", LAB, 3, ""),
    (f"{LAB}-Copy1", LAB, 1, ""),
    (f"{LAB} copy 2", LAB, 2, ""),
    (f"{LAB}-2", LAB, 2, ""),
    (f"{LAB}_final", LAB, 0, ""),
    (f"ada_lovelace_{LAB}", LAB, 0, "ada_lovelace"),
    (f"Ada Lovelace - {LAB} (1)", LAB, 1, "Ada Lovelace"),
    ("lab_rates", None, None, None),
    ("homework", None, None, None),
])
def test_copies_and_resubmissions_are_the_released_notebook(stem, notebook, revision, rest):
    recognised = recognise(stem, [LAB, "lab_other"])
    assert (recognised and (recognised.notebook, recognised.revision, recognised.rest)) == (
        notebook and (notebook, revision, rest))


def test_a_flat_download_names_learners_before_the_notebook_and_reports_the_rest(course_copy, tmp_path):
    download = write_zip(tmp_path / "download.zip", {
        f"bea_{NB}": notebook("bea"),
        "notes.txt": "hello",
        "cem_homework.ipynb": notebook("cem"),
        f"{LAB} (1).ipynb": notebook("whose?"),
    })
    result = collect(source=download, course_dir=course_copy.root)
    assert landed(course_copy) == {f"bea/{LAB}/{NB}": "bea"}
    assert (course_copy.submitted / "bea" / LAB / "timestamp.txt").is_file()
    skipped = reasons(result.skipped)
    assert skipped["notes.txt"] == "not a notebook"
    assert skipped["cem_homework.ipynb"].startswith("names no learner")
    assert skipped[f"{LAB} (1).ipynb"].startswith("names no learner")
    assert not result.refused


def test_collecting_again_is_harmless_and_replace_only_overwrites_the_same_learner(course_copy, tmp_path):
    first = write_zip(tmp_path / "first.zip", {MOODLE.format("Jean Martin", 106): notebook("jean 106")})
    collect(source=first, course_dir=course_copy.root, timezone="UTC")
    again = collect(source=first, course_dir=course_copy.root, timezone="UTC")
    assert (again.placed, again.refused) == ([], [])
    assert reasons(again.skipped)[MOODLE.format("Jean Martin", 106)].endswith(f"already collected in "
                                                                             f"{course_copy.submitted}/jean_martin/"
                                                                             f"{LAB}/{NB}")
    newer = write_zip(tmp_path / "newer.zip", {MOODLE.format("Jean Martin", 106): notebook("jean 106 newer")},
                      when=(2024, 3, 2, 10, 0, 0))
    refused = collect(source=newer, course_dir=course_copy.root, timezone="UTC")
    assert "exists: pass --replace" in reasons(refused.refused)[MOODLE.format("Jean Martin", 106)]
    replaced = collect(source=newer, course_dir=course_copy.root, replace=True, timezone="UTC")
    assert [placed.learner for placed in replaced.placed] == ["jean_martin"]
    assert landed(course_copy) == {f"jean_martin/{LAB}/{NB}": "jean 106 newer"}
    assert stamp(course_copy, "jean_martin") == "2024-03-02 10:00:00.000000 UTC"
    homonym = write_zip(tmp_path / "homonym.zip", {MOODLE.format("Jean Martin", 107): notebook("jean 107")})
    other = collect(source=homonym, course_dir=course_copy.root, replace=True, timezone="UTC")
    assert "holds the work of Jean Martin (Moodle participant 106)" in reasons(other.refused)[
        MOODLE.format("Jean Martin", 107)]
    assert landed(course_copy) == {f"jean_martin/{LAB}/{NB}": "jean 106 newer"}


def test_replace_never_overwrites_a_submission_collect_did_not_place(course_copy, tmp_path):
    submit(course_copy, "ada", notebook("placed by hand").decode())
    download = write_tree(tmp_path / "dl", {f"ada/{NB}": notebook("ada")})
    result = collect(source=download, course_dir=course_copy.root, replace=True)
    assert "collect did not place it" in reasons(result.refused)[f"ada/{NB}"]
    assert landed(course_copy) == {f"ada/{LAB}/{NB}": "placed by hand"}


def test_the_command_reports_every_file_and_fails_when_something_is_refused(course_copy, tmp_path, capsys):
    download = write_zip(tmp_path / "dl.zip", {
        MOODLE.format("Ada Lovelace", 101): notebook("ada"),
        MOODLE.format("Jean Martin", 106): notebook("jean 106"),
        MOODLE.format("Jean Martin", 107): notebook("jean 107"),
        "Ada Lovelace_101_assignsubmission_onlinetext_/onlinetext.html": "<p/>",
    })
    assert main(["collect", str(download), "--course", str(course_copy.root), "--timezone", "UTC"]) == 1
    out = capsys.readouterr().out
    assert "download read as: Moodle" in out
    assert (f"ada_lovelace/{LAB}/{NB} <- {MOODLE.format('Ada Lovelace', 101)} (Ada Lovelace (Moodle participant "
            "101); 2024-03-01 10:00:00 UTC)") in out
    assert "skipped: 1\n  Ada Lovelace_101_assignsubmission_onlinetext_/onlinetext.html: not a notebook" in out
    assert "REFUSED, to act on, then collect again: 2" in out
    assert f"  {MOODLE.format('Jean Martin', 106)}: Jean Martin (Moodle participant 106) and" in out
    clean = write_zip(tmp_path / "clean.zip", {MOODLE.format("Bea Ito", 110): notebook("bea")})
    assert main(["collect", str(clean), "--course", str(course_copy.root)]) == 0


def test_an_unknown_time_zone_is_refused_with_an_example(course_copy, tmp_path, capsys):
    download = write_tree(tmp_path / "dl", {f"ada/{NB}": notebook("ada")})
    assert main(["collect", str(download), "--course", str(course_copy.root), "--timezone", "Mars/Olympus"]) == 2
    assert "--timezone 'Mars/Olympus': not a time zone name" in capsys.readouterr().err


def test_a_file_name_cannot_forge_a_line_of_the_report(course_copy, tmp_path, capsys):
    download = write_zip(tmp_path / "dl.zip", {"ada/notes\nplaced 99 notebook(s):.txt": "x",
                                               f"ada/{NB}": notebook("ada")})
    assert main(["collect", str(download), "--course", str(course_copy.root)]) == 0
    out = capsys.readouterr().out
    assert "  ada/notes\\nplaced 99 notebook(s):.txt: not a notebook" in out
    assert "\nplaced 99" not in out
