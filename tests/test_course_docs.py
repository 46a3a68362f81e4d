"""The course documents say what the labs really do: criteria per lab, and every manual cell's rubric.

The syllabi and the trainer's guide are written by hand for people; these tests read them against the
labs' own cell tags so that neither can drift from the other.
"""

import re
from pathlib import Path

import pytest

from autograde.criteria_tags import find_lab_notebooks, read_graded_cells

ROOT = Path(__file__).resolve().parents[1]
TRACKS = sorted((ROOT / "course" / "tracks").glob("*.md"))
LABS = {path.parent.name: read_graded_cells(path) for path in find_lab_notebooks(ROOT / "labs")}
ROW = re.compile(r"^\|[^|]*\| `(?P<lab>[a-z0-9_]+)` \|[^|]*\| (?P<criteria>[^|]*) \|$", re.MULTILINE)


def syllabus_rows() -> dict[str, set[str]]:
    rows = {}
    for track in TRACKS:
        for match in ROW.finditer(track.read_text()):
            assert match["lab"] not in rows, f"{match['lab']} is listed in two tracks"
            rows[match["lab"]] = set(match["criteria"].split())
    return rows


def test_every_lab_is_in_a_track_syllabus_and_every_listed_lab_exists():
    assert TRACKS, "course/tracks/ holds no syllabus"
    assert syllabus_rows().keys() == LABS.keys()


@pytest.mark.parametrize("lab", sorted(LABS))
def test_a_syllabus_lists_exactly_the_criteria_its_lab_evidences(lab):
    tagged = {key for cell in LABS[lab] for key in cell.criteria}
    assert syllabus_rows()[lab] == tagged


def test_the_trainers_guide_describes_every_manual_cell():
    guide = (ROOT / "course" / "guides" / "trainer.md").read_text()
    manual = [cell.grade_id for cells in LABS.values() for cell in cells if cell.mode == "manual"]
    missing = [grade_id for grade_id in manual if f"`{grade_id}`" not in guide]
    assert manual and not missing, f"course/guides/trainer.md does not describe {missing}"
