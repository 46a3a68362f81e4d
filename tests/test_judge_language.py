"""The grader's feedback is in the course's language: verdict messages through their lab's catalogue (or another
lab's, for shared checks), the grader's own texts through the `cli` catalogue; English is the source."""

import nbformat
import pytest

from autograde.i18n import translations
from autograde.preprocessors.judge import VERDICT_FAILED, JudgeEvidence
from autograde.verdicts import LabVerdicts, expect
from labkit.evidence import MIME_TYPE
from labkit.plaindata import encode, to_text

TEMPLATE = "action_plan row {index}: empty {column}"  # a message of lab_scenarios' verdicts


def _verdicts(lab: str = "lab_scenarios") -> LabVerdicts:
    verdicts = LabVerdicts(lab)

    @verdicts.cell("plan_test")
    def plan(evidence, variant):
        expect(len(evidence["plan"]) >= 3, TEMPLATE, index=2, column="owner")

    return verdicts


def _test_cell(**artefacts) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("record(...)")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "plan_test", "points": 1}
    encoded = {}
    for name, value in artefacts.items():
        fmt, data = encode(name, value)
        encoded[name] = {"format": fmt, "data": to_text(fmt, data)}
    if artefacts:
        cell.outputs = [nbformat.v4.new_output("display_data", data={
            MIME_TYPE: {"grade_id": "plan_test", "artefacts": encoded}})]
    return cell


def _judged(cell: nbformat.NotebookNode, language: str, lab: str = "lab_scenarios") -> str:
    nb = nbformat.v4.new_notebook(cells=[cell])
    JudgeEvidence(verdicts=_verdicts(lab), variant=None, language=language).preprocess(nb, {})
    errors = [output for output in nb.cells[0].outputs if output.output_type == "error"]
    assert [error.ename for error in errors] == [VERDICT_FAILED]
    return errors[0].evalue


def test_a_failed_verdict_reads_in_french_in_a_french_course_and_in_english_in_an_english_one():
    french = translations("lab_scenarios", "fr").gettext(TEMPLATE)
    assert french != TEMPLATE  # lab_scenarios' catalogue translates it
    assert _judged(_test_cell(plan=[1]), "fr") == french.format(index=2, column="owner")
    assert _judged(_test_cell(plan=[1]), "en") == "action_plan row 2: empty owner"


def test_a_check_shared_with_another_lab_is_translated_through_that_labs_catalogue():
    assert _judged(_test_cell(plan=[1]), "fr", lab="lab_model_line") == translations(
        "lab_scenarios", "fr").gettext(TEMPLATE).format(index=2, column="owner")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_graders_own_texts_follow_the_course_language(language):
    missing = _judged(_test_cell(other=[1]), language)  # the verdict reads `plan`, which the cell did not record
    nothing = _judged(_test_cell(), language)
    english = ("the cell did not record 'plan': run it to its end, unchanged",
               "the grader received nothing from this cell: its code did not run as written")
    if language == "en":
        assert (missing, nothing) == english
    else:
        assert missing.startswith("la cellule n'a pas enregistré 'plan'") and nothing.startswith(
            "le correcteur n'a rien reçu")


def test_a_translation_whose_placeholders_do_not_fit_gives_the_english_message(monkeypatch):
    broken = translations("lab_scenarios", "fr")
    monkeypatch.setattr(broken, "gettext", lambda text: "{missing} ligne {index}" if text == TEMPLATE else text)
    assert _judged(_test_cell(plan=[1]), "fr") == "action_plan row 2: empty owner"
