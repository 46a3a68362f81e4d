"""A synthetic cohort made from a released lab, for the demo and the benchmark: correct, partial and broken.

- correct: the learners' version with every solution cell answered as the source's solution (the
  `### BEGIN SOLUTION` / `### END SOLUTION` lines dropped), so the notebook is what a perfect learner sends;
- partial: the same with about half the solution cells (drawn from the seed) left as the released stubs;
- broken, in turn: invalid JSON, an exception raised at the top of the first answer, an infinite loop.
Learner IDs are `learner01`…, each with a `timestamp.txt`, in `submitted/<learner>/<lab>/` as collect leaves them.
"""

from pathlib import Path

import nbformat

from autograde.course import Course
from autograde.errors import GradeError
from simulators.seeding import stream

KINDS = ("correct", "partial", "broken")
BROKEN = ("invalid_json", "exception", "infinite_loop")
TIMESTAMP = "2024-03-01 10:00:00.000000 UTC\n"


def _solution_text(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if "BEGIN SOLUTION" not in line
                     and "END SOLUTION" not in line) + "\n"


def _answered(course: Course, lab: str, notebook: str, keep_stub: set[str]) -> nbformat.NotebookNode:
    source = nbformat.read(course.source / lab / f"{notebook}.ipynb", as_version=4)
    answers = {cell.metadata["nbgrader"]["grade_id"]: _solution_text(cell.source) for cell in source.cells
               if cell.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(course.release / lab / f"{notebook}.ipynb", as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers and grade_id not in keep_stub:
            cell.source = answers[grade_id]
    return nb


def build_synthetic_cohort(*, course_dir: Path | None = None, lab: str, learners: int = 6,
                           seed: int = 0) -> dict[str, str]:
    """Submit `learners` synthetic learners' work on the released `lab`; return learner -> kind (kinds cycle
    correct, partial, broken; broken cases cycle through BROKEN)."""
    course = Course.at(course_dir)
    notebooks = sorted(path.stem for path in (course.release / lab).glob("*.ipynb"))
    if not notebooks:
        raise GradeError(f"{course.release / lab}: lab {lab!r} is not released: run `factorylab release` first")
    rng = stream(seed, "cohort", lab)
    kinds = {}
    for number in range(1, learners + 1):
        learner, kind = f"learner{number:02d}", KINDS[(number - 1) % len(KINDS)]
        folder = course.submitted / learner / lab
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "timestamp.txt").write_text(TIMESTAMP)
        broken = BROKEN[((number - 1) // len(KINDS)) % len(BROKEN)] if kind == "broken" else ""
        for notebook in notebooks:
            solutions = [cell.metadata["nbgrader"]["grade_id"] for cell in
                         nbformat.read(course.release / lab / f"{notebook}.ipynb", as_version=4).cells
                         if cell.metadata.get("nbgrader", {}).get("solution")]
            stubs = {grade_id for grade_id in solutions if kind == "partial" and rng.random() < 0.5}
            nb = _answered(course, lab, notebook, stubs)
            _break(nb, broken)
            path = folder / f"{notebook}.ipynb"
            path.write_text('{"cells": [' if broken == "invalid_json" else nbformat.writes(nb))
        kinds[learner] = f"{kind}:{broken}" if broken else kind
    return kinds


def _break(nb: nbformat.NotebookNode, how: str) -> None:
    first = next((cell for cell in nb.cells if cell.cell_type == "code"
                  and cell.metadata.get("nbgrader", {}).get("solution")), None)
    if first is None or how not in ("exception", "infinite_loop"):
        return
    prefix = "raise RuntimeError('broken on purpose')\n" if how == "exception" else "while True:\n    pass\n"
    first.source = prefix + first.source
