"""`factorylab release`: tags validated, nbgrader's learner version written, and the release checks itself."""


import nbformat
import pytest
from example_course import _venv_on_path
from grading_fixtures import HIDDEN_MARKER, LAB, lab_notebook, write_labs

from autograde.errors import ReleaseError, TagError
from autograde.release import available_labs, release


def test_release_writes_the_learner_version_without_solutions_or_hidden_tests(released_course):
    released = (released_course.release / LAB / f"{LAB}.ipynb").read_text()
    assert HIDDEN_MARKER not in released
    assert "return sum(counts) / (len(counts) * period_s)" not in released
    assert "raise NotImplementedError" in released
    assert (released_course.release / LAB / "counts.txt").read_text() == "1 2 3 4\n"
    assert (released_course.root / "gradebook.db").is_file()


def test_only_the_notebook_and_its_declared_assets_are_released(tmp_path):
    """Running the solution leaves its outputs in the lab's folder: they must never reach the learners."""
    labs = write_labs(tmp_path / "labs")
    (labs / LAB / "solution_output.csv").write_text("the model answer\n")
    (labs / LAB / ".ipynb_checkpoints").mkdir()
    release(labs_dir=labs, course_dir=tmp_path / "course", check=False)
    assert sorted(path.name for path in (tmp_path / "course" / "release" / LAB).iterdir()) == [
        "counts.txt", f"{LAB}.ipynb"]
    nb = lab_notebook()
    nb.metadata["factorylab"]["assets"].append("missing*.csv")
    nbformat.write(nb, labs / LAB / f"{LAB}.ipynb")
    with pytest.raises(ReleaseError, match=r"assets: 'missing\*\.csv' matches no file"):
        release(labs_dir=labs, course_dir=tmp_path / "course", check=False)


def test_available_labs_lists_folders_holding_their_notebook(grading_labs, tmp_path):
    (grading_labs.parent / "labs" / "notes").mkdir(exist_ok=True)
    assert available_labs(grading_labs) == [LAB]
    assert available_labs(tmp_path / "nowhere") == []


def test_a_cell_without_criteria_tags_is_refused_before_nbgrader_runs(tmp_path):
    labs = write_labs(tmp_path / "labs")
    nb = lab_notebook()
    del nb.cells[2].metadata["factorylab"]
    nbformat.write(nb, labs / LAB / f"{LAB}.ipynb")
    with pytest.raises(TagError, match="rate_function_test"):
        release(labs_dir=labs, course_dir=tmp_path / "course", check=False)
    assert not (tmp_path / "course" / "release").exists()


def test_an_unknown_lab_is_named_with_the_labs_found(grading_labs, tmp_path):
    with pytest.raises(ReleaseError, match=r"'lab_nope'.*labs found: lab_rate"):
        release(labs_dir=grading_labs, course_dir=tmp_path / "course", labs=["lab_nope"])


def test_a_test_the_blank_release_passes_fails_the_release_check(tmp_path):
    labs = write_labs(tmp_path / "labs")
    nb = lab_notebook()
    # records the right counts whatever the learner writes
    nb.cells[4].source = "from labkit.evidence import record\nrecord('rate_counts_test', counts=[1, 2, 3, 4])\n"
    nbformat.write(nb, labs / LAB / f"{LAB}.ipynb")
    with _venv_on_path(), pytest.raises(ReleaseError, match=r"rate_counts_test.*blank release scores 1/1"):
        release(labs_dir=labs, course_dir=tmp_path / "course")


def test_release_again_replaces_the_source_copy(course_copy, grading_labs):
    course = course_copy
    (course.source / LAB / "stale.txt").write_text("old")
    with _venv_on_path():
        release(labs_dir=grading_labs, course_dir=course.root, check=False)
    assert not (course.source / LAB / "stale.txt").exists()
