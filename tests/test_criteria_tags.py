"""Criteria tags on graded cells: reading them, and every problem the validator must catch."""

from pathlib import Path

import nbformat
import pytest
from example_course import CATALOGUE_CRITERIA, demo_notebook, extra_notebook

from autograde.catalogue import load_catalogue
from autograde.criteria_tags import (
    AUTO,
    MANUAL,
    find_lab_notebooks,
    load_tagged_cells,
    read_graded_cells,
    validate_lab_tags,
)
from autograde.errors import TagError

ROOT = Path(__file__).resolve().parents[1]

# Coverage scopes the suite enforces on the repository's own labs (see autograde/criteria_tags.py). RNCP bloc 1 is
# assessed in lab_strategy; bloc 2 in lab_architecture (with the twin's diagram and FMEA in lab_twin_build), and so
# is A4.4 of bloc 4.
ENFORCED_SCOPES: tuple[str, ...] = ("ccpm_iiot", "rncp_mnsi:BLOC1", "rncp_mnsi:BLOC2", "rncp_mnsi:BLOC3",
                                    "rncp_mnsi:BLOC4")


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def write_lab(labs_dir: Path, lab: str, notebook: nbformat.NotebookNode) -> Path:
    path = labs_dir / lab / f"{lab}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def cell_with(notebook: nbformat.NotebookNode, grade_id: str):
    return next(cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_graded_cells_are_read_with_their_mode_points_and_tags(tmp_path):
    path = write_lab(tmp_path, "lab_demo", demo_notebook(CATALOGUE_CRITERIA))
    cells = {cell.grade_id: cell for cell in read_graded_cells(path)}
    assert set(cells) == {"demo_mean_rate_test", "demo_zero_rate_test", "demo_explain", "demo_dataflow_task"}
    assert cells["demo_mean_rate_test"].mode == AUTO
    assert cells["demo_explain"].mode == MANUAL  # a manually graded answer
    assert cells["demo_dataflow_task"].mode == MANUAL  # a task
    assert cells["demo_mean_rate_test"].points == 2.0
    assert cells["demo_mean_rate_test"].criteria == ("CCPM-C1-M1", "CCPM-C1-MO2")
    assert cells["demo_explain"].index == 4
    assert (cells["demo_explain"].lab, cells["demo_explain"].notebook) == ("lab_demo", "lab_demo")


def test_well_tagged_labs_have_no_problem(tmp_path, catalogue):
    paths = [write_lab(tmp_path, "lab_demo", demo_notebook(CATALOGUE_CRITERIA)),
             write_lab(tmp_path, "lab_extra", extra_notebook(CATALOGUE_CRITERIA))]
    assert validate_lab_tags(paths, catalogue) == []
    assert find_lab_notebooks(tmp_path) == paths


def test_unknown_criterion_names_file_cell_and_suggests_the_key(tmp_path, catalogue):
    notebook = demo_notebook(CATALOGUE_CRITERIA)
    cell_with(notebook, "demo_zero_rate_test").metadata["factorylab"]["criteria"] = ["Cr1.3.4"]
    path = write_lab(tmp_path, "lab_demo", notebook)
    [problem] = validate_lab_tags([path], catalogue)
    text = str(problem)
    assert text.startswith(f"{path}: cell 3 (grade_id 'demo_zero_rate_test'): ")
    assert "unknown criterion key 'Cr1.3.4'" in text
    assert "Cr1.2.4@A1.3" in text  # the anomaly's key is suggested for its intended reading


def test_graded_cell_without_criteria_or_checks_is_a_problem(tmp_path, catalogue):
    notebook = demo_notebook(CATALOGUE_CRITERIA)
    del cell_with(notebook, "demo_explain").metadata["factorylab"]
    cell_with(notebook, "demo_dataflow_task").metadata["factorylab"]["checks"] = "  "
    path = write_lab(tmp_path, "lab_demo", notebook)
    problems = validate_lab_tags([path], catalogue)
    messages = [(problem.grade_id, problem.message) for problem in problems]
    assert [grade_id for grade_id, _ in messages] == ["demo_explain", "demo_explain", "demo_dataflow_task"]
    assert "graded cell without criteria" in messages[0][1]
    assert "graded cell without metadata.factorylab.checks" in messages[1][1]
    assert "graded cell without metadata.factorylab.checks" in messages[2][1]


def test_duplicates_and_malformed_tags_are_problems(tmp_path, catalogue):
    notebook = demo_notebook(CATALOGUE_CRITERIA)
    cell_with(notebook, "demo_mean_rate_test").metadata["factorylab"]["criteria"] = ["CCPM-C1-M1", "CCPM-C1-M1"]
    cell_with(notebook, "demo_explain").metadata["factorylab"] = {"criteria": "CCPM-C1-MO1", "check": "typo"}
    cell_with(notebook, "demo_dataflow_task").metadata["nbgrader"]["grade_id"] = "demo_zero_rate_test"
    path = write_lab(tmp_path, "lab_demo", notebook)
    messages = [problem.message for problem in validate_lab_tags([path], catalogue)]
    assert any("duplicate criterion 'CCPM-C1-M1'" in message for message in messages)
    assert any("metadata.factorylab.check: unknown key" in message for message in messages)
    assert any("criteria must be a list" in message for message in messages)
    assert any("duplicate grade_id 'demo_zero_rate_test'" in message for message in messages)


def test_a_criterion_assessed_outside_the_labs_cannot_be_tagged(tmp_path, catalogue):
    outside = next(key for key, criterion in catalogue.criteria.items() if criterion.assessment == "outside")
    notebook = demo_notebook(CATALOGUE_CRITERIA)
    cell_with(notebook, "demo_zero_rate_test").metadata["factorylab"]["criteria"] = [outside]
    [problem] = validate_lab_tags([write_lab(tmp_path, "lab_demo", notebook)], catalogue)
    assert f"{outside!r} is assessed outside the labs" in problem.message


def test_coverage_is_enforced_only_for_the_scopes_asked(tmp_path, catalogue):
    paths = [write_lab(tmp_path, "lab_demo", demo_notebook(CATALOGUE_CRITERIA))]
    assert validate_lab_tags(paths, catalogue, enforce_coverage=()) == []
    problems = validate_lab_tags(paths, catalogue, enforce_coverage=("ccpm_iiot",))
    uncovered = {problem.message.split()[1] for problem in problems}
    expected = {criterion.id for criterion in catalogue.criteria.values()
                if criterion.referential == "ccpm_iiot" and criterion.assessment != "outside"} - {
        "CCPM-C1-M1", "CCPM-C1-MO1", "CCPM-C1-MO2"}
    assert uncovered == expected
    assert all(problem.path is None for problem in problems)
    bloc3 = validate_lab_tags(paths, catalogue, enforce_coverage=("rncp_mnsi:BLOC3",))
    assert {problem.message.split()[1] for problem in bloc3} == {
        criterion.id for criterion in catalogue.criteria.values()
        if criterion.parents.get("bloc") == "BLOC3" and criterion.assessment != "outside"}


def test_an_auto_criterion_needs_an_autograded_cell_but_mixed_takes_any(tmp_path, catalogue):
    notebook = demo_notebook(CATALOGUE_CRITERIA)
    # CCPM-C1-M1 (auto) now only on the written answer; CCPM-C1-MO2 (mixed) stays on it too.
    cell_with(notebook, "demo_mean_rate_test").metadata["factorylab"]["criteria"] = ["CCPM-C1-MO1"]
    cell_with(notebook, "demo_zero_rate_test").metadata["factorylab"]["criteria"] = ["CCPM-C1-MO1"]
    cell_with(notebook, "demo_explain").metadata["factorylab"]["criteria"] = ["CCPM-C1-M1", "CCPM-C1-MO2"]
    problems = validate_lab_tags([write_lab(tmp_path, "lab_demo", notebook)], catalogue,
                                 enforce_coverage=("ccpm_iiot:CCPM-C1",))
    messages = {problem.message.split()[1]: problem.message for problem in problems}
    assert "no autograded test cell evidences it" in messages["CCPM-C1-M1"]
    assert "CCPM-C1-MO2" not in messages
    assert "CCPM-C1-MO1" not in messages


def test_an_unknown_scope_is_a_problem_not_a_silent_pass(catalogue):
    [problem] = validate_lab_tags([], catalogue, enforce_coverage=("rncp_mnsi:BLOC9",))
    assert "matches no criterion" in problem.message


def test_load_tagged_cells_raises_one_error_listing_every_problem(tmp_path, catalogue):
    notebook = demo_notebook(CATALOGUE_CRITERIA)
    cell_with(notebook, "demo_zero_rate_test").metadata["factorylab"]["criteria"] = ["CCPM-C9-M1"]
    del cell_with(notebook, "demo_explain").metadata["factorylab"]
    write_lab(tmp_path, "lab_demo", notebook)
    with pytest.raises(TagError, match=r"3 criteria tag problem\(s\)") as caught:
        load_tagged_cells(tmp_path, catalogue)
    assert "CCPM-C9-M1" in str(caught.value) and "demo_explain" in str(caught.value)
    with pytest.raises(TagError, match="labs directory not found"):
        load_tagged_cells(tmp_path / "missing", catalogue)


def test_unreadable_notebook_is_a_tag_error(tmp_path, catalogue):
    path = tmp_path / "lab_bad" / "lab_bad.ipynb"
    path.parent.mkdir()
    path.write_text("{not json")
    with pytest.raises(TagError, match="not a readable Jupyter notebook"):
        validate_lab_tags([path], catalogue)


def test_repository_labs_are_tagged_and_cover_the_enforced_scopes(catalogue):
    """The real labs: every graded cell well tagged, and full coverage of ENFORCED_SCOPES."""
    problems = validate_lab_tags(find_lab_notebooks(ROOT / "labs"), catalogue, enforce_coverage=ENFORCED_SCOPES)
    assert problems == [], "\n".join(str(problem) for problem in problems)
