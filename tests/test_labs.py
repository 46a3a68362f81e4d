"""Every lab of labs/ meets the definition of done that does not depend on its subject.

- stored clean: no outputs, no execution counts, metadata limited to the kernelspec, nbgrader's namespace and
  ours, nbgrader's cell metadata valid against its own schema;
- through `factorylab release` and the sandboxed grader: the solution scores full marks on every automatic
  cell and the blank release scores zero on them (the release's self-check).
Executing each solution without error (hidden tests included) is nbval's job: `labs/` is in the suite's paths.
"""

import json
from pathlib import Path

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator

from autograde.release import available_labs, release

LABS_DIR = Path(__file__).resolve().parents[1] / "labs"
LABS = available_labs(LABS_DIR)
NOTEBOOK_METADATA = {"kernelspec", "language_info"}
CELL_METADATA = {"nbgrader", "factorylab", "tags"}  # tags: Jupyter's own, e.g. the cells a Voilà template shows


def test_the_tracks_labs_are_all_there():
    assert {"lab1_prepare_data", "lab2_dashboard", "lab3_alerts", "lab_model_line", "lab_scenarios",
            "lab_twin_build", "lab_twin_improve"} <= set(LABS)


@pytest.mark.parametrize("lab", LABS)
def test_a_lab_is_stored_without_outputs_and_with_valid_metadata(lab):
    path = LABS_DIR / lab / f"{lab}.ipynb"
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert set(raw["metadata"]) <= NOTEBOOK_METADATA, f"{path}: notebook metadata {sorted(raw['metadata'])}"
    for index, cell in enumerate(raw["cells"]):
        where = f"{path}: cell {index}"
        assert set(cell["metadata"]) <= CELL_METADATA, f"{where}: metadata {sorted(cell['metadata'])}"
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{where}: stored with outputs"
    MetadataValidator().validate_nb(nbformat.read(path, as_version=nbformat.NO_CONVERT))


@pytest.mark.slow
@pytest.mark.timeout(900)  # every lab's solution and blank release graded: about 2.5 minutes on two quiet cores
def test_every_solution_scores_full_marks_and_every_blank_release_zero_through_the_grader(tmp_path):
    """`release(check=True)` grades both in the sandboxed pool and raises ReleaseError naming any failing cell."""
    released = release(labs_dir=LABS_DIR, course_dir=tmp_path / "course", check=True)
    assert sorted(path.name for path in released) == LABS
