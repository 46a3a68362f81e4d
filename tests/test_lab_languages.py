"""A lab released in French is graded exactly as one released in English.

The translation of a lab (autograde/i18n_notebook.py) touches its texts only, so:
- on every lab, fast: its French version has the same cells, the same nbgrader and factorylab metadata (grade_ids,
  points, criteria) and the same code, assert messages aside, as its English source (`code_signature`); and so do
  the two learners' versions nbgrader makes, with the same cells recorded in the gradebook;
- on lab_scenarios, the real sandboxed grader gives the solution full marks and the blank release zero in
  English as tests/test_labs.py checks it for every lab in French, the default;
- every lab, translated, runs under nbval in French, as `pytest labs/` runs every English source: the whole chain,
  translation then execution, as a French learner gets it.
"""

import subprocess
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook
from test_i18n import UNTRANSLATED

from autograde import i18n, i18n_notebook
from autograde.course import Course
from autograde.release import available_labs, copy_lab, release, translate_lab

LABS = available_labs(i18n.LABS_DIR)
TRANSLATED = [lab for lab in LABS if lab not in UNTRANSLATED]
GRADED_IN_BOTH = "lab_scenarios"
NBVAL_TIMEOUT_S = 600


def _source(lab: str) -> nbformat.NotebookNode:
    return nbformat.read(i18n.LABS_DIR / lab / f"{lab}.ipynb", as_version=4)


def _graded(notebook: nbformat.NotebookNode) -> list[tuple]:
    return [(cell.metadata["nbgrader"]["grade_id"], cell.metadata["nbgrader"].get("points"))
            for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize("lab", LABS)
def test_a_lab_in_french_has_the_code_and_grading_of_its_english_source(lab):
    source = _source(lab)
    french = i18n_notebook.translate_notebook(source, i18n.Translator(lab, "fr"))
    assert _graded(french) == _graded(source) and _graded(source)
    assert i18n_notebook.code_signature(french) == i18n_notebook.code_signature(source)


def test_the_translated_labs_are_translated():
    assert GRADED_IN_BOTH in TRANSLATED
    for lab in TRANSLATED:
        translator = i18n.Translator(lab, "fr")
        i18n_notebook.translate_notebook(_source(lab), translator)
        assert translator.missing == [], f"{lab}: untranslated {translator.missing[:3]}"


def _released_cells(course: Course, lab: str) -> tuple:
    with Gradebook(course.db_url) as gradebook:
        notebook = gradebook.find_notebook(lab, lab)
        cells = sorted((cell.name, cell.max_score, cell.cell_type) for cell in notebook.grade_cells)
    released = nbformat.read(course.release / lab / f"{lab}.ipynb", as_version=4)
    return cells, i18n_notebook.code_signature(released)


@pytest.mark.slow
def test_every_lab_released_in_both_languages_records_the_same_cells_and_code(tmp_path):
    courses = {language: Course.at(tmp_path / language) for language in i18n.LANGUAGES}
    for language, course in courses.items():
        release(labs_dir=i18n.LABS_DIR, course_dir=course.root, check=False, language=language)
    for lab in LABS:
        french, english = (_released_cells(courses[language], lab) for language in ("fr", "en"))
        assert french == english, lab


@pytest.mark.slow
def test_the_grader_gives_the_solution_full_marks_and_the_blank_zero_in_english_as_in_french(tmp_path):
    """The release's own check (the solution and the blank release graded in the sandbox, ReleaseError on any cell
    not at full marks or not at zero) in English. In French, the courses' default language, tests/test_labs.py runs
    the same check on every lab; with the same cells and points in both languages (the test above), both give the
    same scores cell by cell."""
    assert Course.at(tmp_path / "default").language == "fr"
    released = release(labs_dir=i18n.LABS_DIR, course_dir=tmp_path / "en", labs=[GRADED_IN_BOTH], check=True,
                       language="en")
    english = nbformat.read(released[0] / f"{GRADED_IN_BOTH}.ipynb", as_version=4)
    assert "## What next" in "".join(cell.source for cell in english.cells)


@pytest.mark.slow
@pytest.mark.parametrize("lab", LABS)
def test_every_lab_runs_under_nbval_in_french(tmp_path, lab):
    folder = tmp_path / lab
    copy_lab(i18n.LABS_DIR / lab, folder)
    translate_lab(folder / f"{lab}.ipynb", lab, "fr")
    french_title = nbformat.read(folder / f"{lab}.ipynb", as_version=4).cells[0].source.splitlines()[0]
    assert french_title != _source(lab).cells[0].source.splitlines()[0], f"{lab}: its title is not translated"
    result = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q",
                             f"{lab}.ipynb"], cwd=folder, capture_output=True, text=True, timeout=NBVAL_TIMEOUT_S)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]


def test_factorylab_lab_releases_a_learners_new_labs_in_their_language_and_keeps_the_old_ones(tmp_path):
    from factorylab.lab import prepare_workspace
    from factorylab.messages import lab_language

    sources = tmp_path / "sources"
    copy_lab(i18n.LABS_DIR / GRADED_IN_BOTH, sources / GRADED_IN_BOTH)
    workspace = tmp_path / "workspace"
    french = lab_language({"LANG": "fr_FR.UTF-8"})
    assert prepare_workspace(sources=sources, workspace=workspace, language=french) == [GRADED_IN_BOTH]
    notebook = workspace / GRADED_IN_BOTH / f"{GRADED_IN_BOTH}.ipynb"
    title = nbformat.read(notebook, as_version=4).cells[0].source.splitlines()[0]
    assert title == "# Lab — Éprouver des scénarios et décider (RNCP bloc 3, activité A3.3)"
    assert prepare_workspace(sources=sources, workspace=workspace, language="en") == []  # the learner's copy stays
    assert nbformat.read(notebook, as_version=4).cells[0].source.splitlines()[0] == title
