"""The roster: Excel's CSV files as they come, LMS identities to learner ids, and nothing unsafe trusted."""

import pytest
from grading_fixtures import LAB
from test_collect_corpus import NB, landed, notebook, reasons, write_tree, write_zip

from autograde.collect import collect
from autograde.errors import CollectError

MOODLE = "{}_{}_assignsubmission_file_/" + NB


def _roster(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "roster.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_an_excel_utf8_roster_with_bom_and_semicolons_maps_names_and_refuses_strangers(course_copy, tmp_path):
    roster = _roster(tmp_path, "\ufeffLearner;Name;E-mail\r\na123;Ada Lovelace;ada@school.fr\r\n"
                               "e456;Éloïse Dupré;\r\n;;\r\n")
    download = write_tree(tmp_path / "dl", {f"Ada Lovelace - {NB}": notebook("ada"),
                                            f"Eloise Dupre - {NB}": notebook("eloise"),
                                            f"Eve Intruder - {NB}": notebook("eve")})
    result = collect(source=download, course_dir=course_copy.root, roster=roster)
    assert landed(course_copy) == {f"a123/{LAB}/{NB}": "ada", f"e456/{LAB}/{NB}": "eloise"}
    assert reasons(result.refused)[f"Eve Intruder - {NB}"].startswith(
        "Eve Intruder (known by name only): not in the roster")


def test_a_cp1252_roster_tells_accent_variants_apart(course_copy, tmp_path):
    roster = _roster(tmp_path, "learner;name\r\nz1;Zoé Roux\r\nz2;Zoë Roux\r\n", "cp1252")
    download = write_zip(tmp_path / "dl.zip", {MOODLE.format("Zoé Roux", 108): notebook("zoe acute"),
                                               MOODLE.format("Zoë Roux", 109): notebook("zoe diaeresis")})
    collect(source=download, course_dir=course_copy.root, roster=roster)
    assert landed(course_copy) == {f"z1/{LAB}/{NB}": "zoe acute", f"z2/{LAB}/{NB}": "zoe diaeresis"}


def test_a_utf16_tab_separated_roster_from_excels_unicode_text(course_copy, tmp_path):
    roster = _roster(tmp_path, "learner\tname\r\nwf\t王芳\r\n", "utf-16")
    download = write_tree(tmp_path / "dl", {f"王芳/{NB}": notebook("wang fang"), f"Ivan/{NB}": notebook("ivan")})
    result = collect(source=download, course_dir=course_copy.root, roster=roster)
    assert landed(course_copy) == {f"wf/{LAB}/{NB}": "wang fang"}
    assert "not in the roster" in reasons(result.refused)[f"Ivan/{NB}"]


def test_homonyms_are_told_apart_by_their_lms_id_even_as_excel_writes_it(course_copy, tmp_path):
    roster = _roster(tmp_path, "learner,name,lms_id\njm_a,Jean Martin,00106\njm_b,Jean Martin,107.0\n")
    download = write_zip(tmp_path / "dl.zip", {MOODLE.format("Jean Martin", 106): notebook("jean 106"),
                                               MOODLE.format("Jean Martin", 107): notebook("jean 107")})
    collect(source=download, course_dir=course_copy.root, roster=roster)
    assert landed(course_copy) == {f"jm_a/{LAB}/{NB}": "jean 106", f"jm_b/{LAB}/{NB}": "jean 107"}


def test_homonyms_on_one_roster_line_are_refused_not_merged(course_copy, tmp_path):
    roster = _roster(tmp_path, "learner,name\njm,Jean Martin\n")
    download = write_zip(tmp_path / "dl.zip", {MOODLE.format("Jean Martin", 106): notebook("jean 106"),
                                               MOODLE.format("Jean Martin", 107): notebook("jean 107")})
    result = collect(source=download, course_dir=course_copy.root, roster=roster)
    assert landed(course_copy) == {}
    assert all("would both be filed as 'jm'" in reason for reason in reasons(result.refused).values())
    assert len(result.refused) == 2


def test_homonym_lines_without_lms_id_are_ambiguous(course_copy, tmp_path):
    roster = _roster(tmp_path, "learner,name\njm_a,Jean Martin\njm_b,Jean Martin\n")
    download = write_zip(tmp_path / "dl.zip", {MOODLE.format("Jean Martin", 106): notebook("jean 106")})
    result = collect(source=download, course_dir=course_copy.root, roster=roster)
    assert "lines 2 and 3 of the roster" in reasons(result.refused)[MOODLE.format("Jean Martin", 106)]


def test_blind_marking_canvas_names_and_user_names_through_email(course_copy, tmp_path):
    roster = _roster(tmp_path, "learner,name,email,lms_id\np1,,,201\nada,Ada Lovelace,ada01@school.fr,\n")
    blind = write_tree(tmp_path / "blind", {f"Participant_201_assignsubmission_file_{NB}": notebook("p201")})
    collect(source=blind, course_dir=course_copy.root, roster=roster)
    canvas = write_zip(tmp_path / "canvas.zip", {f"lovelaceada_301_9001_{NB}": notebook("ada canvas")})
    collect(source=canvas, course_dir=course_copy.root, roster=roster)
    assert landed(course_copy) == {f"p1/{LAB}/{NB}": "p201", f"ada/{LAB}/{NB}": "ada canvas"}


def test_a_user_name_matches_an_email_roster(course_copy, tmp_path):
    roster = _roster(tmp_path, "Learner,E-mail\nada,ada01@school.fr\n")
    download = write_tree(tmp_path / "bb", {f"Lab_ada01_attempt_2024-03-01-10-00-00_{NB}": notebook("ada")})
    collect(source=download, course_dir=course_copy.root, roster=roster)
    assert landed(course_copy) == {f"ada/{LAB}/{NB}": "ada"}


@pytest.mark.parametrize(("text", "messages"), [
    ("learner,name\n../../../pwned,Ada\n.hidden,Bob\na/b,Carol\n,Dan\nok id,Eve\n",
     ["line 2, field 'learner': '../../../pwned' is not a safe learner id",
      "line 3, field 'learner': '.hidden' is not a safe learner id",
      "line 4, field 'learner': 'a/b' is not a safe learner id",
      "line 5, field 'learner': empty",
      "line 6, field 'learner': 'ok id' is not a safe learner id"]),
    ("learner,name\nada,Ada Lovelace\nada,Ada King\n", ["lines 2 and 3, field 'learner': both are 'ada'"]),
    ("learner,name,lms_id\nada,Ada,12\nbob,Bob,12\n", ["lines 2 and 3, field 'lms_id': both are '12'"]),
    ("learner,email\nada,\n", ["line 2: no name, email, username, lms_id: nothing to recognise 'ada' by"]),
    ("name,id\nAda,12\n", ["line 1 (the header) must name a 'learner' column"]),
])
def test_a_bad_roster_is_refused_whole_naming_file_line_and_field(course_copy, tmp_path, text, messages):
    roster = _roster(tmp_path, text)
    download = write_tree(tmp_path / "dl", {f"Ada/{NB}": notebook("ada")})
    with pytest.raises(CollectError) as error:
        collect(source=download, course_dir=course_copy.root, roster=roster)
    for message in messages:
        assert f"{roster}: {message}" in str(error.value)
    assert not course_copy.submitted.exists() or not any(course_copy.submitted.iterdir())
    assert not (course_copy.root.parent.parent / "pwned").exists()


def test_an_excel_workbook_is_asked_for_as_csv(course_copy, tmp_path):
    workbook = tmp_path / "roster.xlsx"
    write_zip(workbook, {"[Content_Types].xml": "<Types/>"})
    with pytest.raises(CollectError, match="an Excel workbook, not a CSV file: save it as CSV"):
        collect(source=tmp_path, course_dir=course_copy.root, roster=workbook)
