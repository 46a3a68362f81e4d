"""Criteria tags on graded lab cells: read them from the lab sources, and check them against the catalogue.

nbgrader grades cells by points and knows nothing of competences; factorylab names, on each graded cell of a
lab source notebook (`labs/<lab>/<lab>.ipynb`), the catalogue criteria the cell evidences:

    "metadata": {
      "nbgrader": {"grade": true, "solution": false, "grade_id": "lab1_archive_schema", "points": 2, ...},
      "factorylab": {
        "criteria": ["Cr3.2.1", "CCPM-C1-M1"],
        "checks": "The archive table has one row per reading, with its timestamp in UTC."
      }
    }

A graded cell is an nbgrader cell with `grade: true` or `task: true`. Its mode is `auto` for an autograded
test cell (a code cell with `grade: true, solution: false`) and `manual` for a manually graded answer
(`grade: true, solution: true`) or a task (`task: true`). `criteria` lists catalogue keys (see
autograde/catalogue.py); `checks` is one sentence written for an evaluator: the reports show it instead of the
test code, which may hold hidden tests.

`validate_lab_tags` checks each cell (known criterion keys, with close matches suggested; a non-empty criteria
list without duplicates; a `checks` sentence; unique grade_ids per notebook; no criterion the catalogue assesses
`outside` the labs) and, over the whole set of labs, coverage completeness: a criterion whose catalogue
assessment is `auto` needs at least one autograded cell, `manual` at least one manually graded cell, `mixed` at
least one cell of either mode.

Coverage completeness is enforced only for the scopes passed in `enforce_coverage`, because the labs arrive
bloc by bloc (the labs of RNCP blocs 1–2 never come: those criteria are judged outside the labs). A scope is a
referential name (`"ccpm_iiot"`) or a referential and one of a criterion's parents (`"rncp_mnsi:BLOC3"`,
`"rncp_mnsi:A3.2"`). tests/test_criteria_tags.py holds the scopes the test suite enforces on the repository's
labs: add a scope there when the labs covering it land, and the suite then fails on any criterion of it that
the labs leave uncovered.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from autograde.errors import CatalogueError, TagError

AUTO = "auto"
MANUAL = "manual"
NAMESPACE = "factorylab"


@dataclass(frozen=True)
class GradedCell:
    """A graded cell of a lab source notebook, with the criteria it evidences.

    `lab` is the lab's folder name (the nbgrader assignment) and `notebook` the file's stem (the nbgrader
    notebook), which with `grade_id` is how the gradebook names the cell.
    """

    lab: str
    notebook: str
    path: Path
    index: int
    grade_id: str
    mode: str
    points: float
    criteria: tuple[str, ...]
    checks: str


@dataclass(frozen=True)
class TagProblem:
    """One thing wrong with the tags, with where it is (`path` is None for a coverage gap) and what to do."""

    message: str
    path: Path | None = None
    grade_id: str | None = None
    index: int | None = None

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        if self.index is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}: cell {self.index} (grade_id {self.grade_id!r}): {self.message}"


def find_lab_notebooks(labs_dir: Path) -> list[Path]:
    """The source notebooks of every lab under `labs_dir` (`<labs_dir>/<lab>/*.ipynb`), in name order."""
    labs_dir = Path(labs_dir)
    if not labs_dir.is_dir():
        raise TagError(f"{labs_dir}: labs directory not found: pass the folder holding <lab>/<lab>.ipynb")
    return sorted(
        path for path in labs_dir.glob("*/*.ipynb") if not path.parent.name.startswith(".")
    )


def read_graded_cells(path: Path) -> list[GradedCell]:
    """The graded cells of one notebook as they are (missing tags read as empty); validation is separate."""
    return [cell for cell, _ in _read(Path(path))]


def _read(path: Path) -> list[tuple[GradedCell, object]]:
    """Each graded cell with its raw `metadata.factorylab` value, for the schema checks."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        cells = notebook["cells"]
        graded = []
        for index, cell in enumerate(cells):
            metadata = cell.get("metadata", {})
            nbgrader = metadata.get("nbgrader", {})
            if nbgrader.get("grade") or nbgrader.get("task"):
                graded.append((_graded_cell(path, index, cell, nbgrader), metadata.get(NAMESPACE)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise TagError(f"{path}: not a readable Jupyter notebook with nbgrader metadata ({error})") from error
    return graded


def _graded_cell(path: Path, index: int, cell: dict, nbgrader: dict) -> GradedCell:
    tags = cell["metadata"].get(NAMESPACE)
    tags = tags if isinstance(tags, dict) else {}
    criteria = tags.get("criteria")
    checks = tags.get("checks")
    is_test = nbgrader.get("grade") and not nbgrader.get("solution") and cell.get("cell_type") == "code"
    return GradedCell(
        lab=path.parent.name,
        notebook=path.stem,
        path=path,
        index=index,
        grade_id=str(nbgrader.get("grade_id", "")),
        mode=AUTO if is_test else MANUAL,
        points=float(nbgrader.get("points") or 0),
        criteria=tuple(key for key in criteria if isinstance(key, str)) if isinstance(criteria, list) else (),
        checks=checks if isinstance(checks, str) else "",
    )


def _schema_problems(cell: GradedCell, tags: object) -> list[TagProblem]:
    """Shape errors of the raw `metadata.factorylab` value, which the parsed GradedCell no longer shows."""
    def problem(message: str) -> TagProblem:
        return TagProblem(message, cell.path, cell.grade_id, cell.index)

    if tags is None:
        return []
    if not isinstance(tags, dict):
        return [problem(f"metadata.{NAMESPACE} must be a mapping with keys 'criteria' and 'checks'")]
    problems = [problem(f"metadata.{NAMESPACE}.{key}: unknown key: allowed keys are 'criteria' and 'checks'")
                for key in sorted(set(tags) - {"criteria", "checks"})]
    criteria = tags.get("criteria")
    if criteria is not None and not isinstance(criteria, list):
        problems.append(problem(f"metadata.{NAMESPACE}.criteria must be a list of criterion keys, "
                                f"got {criteria!r}"))
    elif criteria is not None:
        problems.extend(problem(f"metadata.{NAMESPACE}.criteria: {key!r} is not a criterion key (a string)")
                        for key in criteria if not isinstance(key, str))
    if "checks" in tags and not isinstance(tags["checks"], str):
        problems.append(problem(f"metadata.{NAMESPACE}.checks must be one sentence (a string)"))
    return problems


def _cell_problems(cell: GradedCell, catalogue) -> list[TagProblem]:
    def problem(message: str) -> TagProblem:
        return TagProblem(message, cell.path, cell.grade_id, cell.index)

    problems = []
    if not cell.criteria:
        problems.append(problem(
            f"graded cell without criteria: add metadata.{NAMESPACE}.criteria, a list of the catalogue keys "
            "this cell evidences"))
    seen = set()
    for key in cell.criteria:
        if key in seen:
            problems.append(problem(f"metadata.{NAMESPACE}.criteria: duplicate criterion {key!r}: list it once"))
        seen.add(key)
        try:
            criterion = catalogue.criterion(key)
        except CatalogueError as error:  # its message suggests the close keys, printed IDs included
            problems.append(problem(f"metadata.{NAMESPACE}.criteria: {error}"))
            continue
        if criterion.assessment == "outside":
            problems.append(problem(
                f"metadata.{NAMESPACE}.criteria: {key!r} is assessed outside the labs in the catalogue "
                f"({criterion.reason}): untag it, or change its assessment in the catalogue"))
    if not cell.checks.strip():
        problems.append(problem(
            f"graded cell without metadata.{NAMESPACE}.checks: add one sentence telling an evaluator what the "
            "cell verifies"))
    return problems


def _in_scope(criterion, scope: str) -> bool:
    referential, _, parent = scope.partition(":")
    if criterion.referential != referential:
        return False
    return not parent or parent in _parent_ids(criterion)


def _parent_ids(criterion) -> set[str]:
    """The IDs of a criterion's enclosing units: bloc, activity and competence (RNCP), competence (CCPM)."""
    return set(criterion.parents.values())


def criterion_group(criterion) -> str:
    """The outermost unit enclosing a criterion, by which reports group and filter: an RNCP bloc
    ("BLOC3") or a CCPM competence ("CCPM-C1")."""
    return next(iter(criterion.parents.values()), "")


def coverage_gap(criterion, cells: Sequence[GradedCell]) -> str | None:
    """Why `cells` (those evidencing `criterion`) do not assess it as the catalogue says, or None if they do."""
    modes = {cell.mode for cell in cells}
    if criterion.assessment == AUTO and AUTO not in modes:
        return "assessed automatically in the catalogue, but no autograded test cell evidences it"
    if criterion.assessment == MANUAL and MANUAL not in modes:
        return "assessed by manual grading in the catalogue, but no manually graded cell evidences it"
    if criterion.assessment == "mixed" and not modes:
        return "assessed in the labs (mixed) in the catalogue, but no graded cell evidences it"
    return None


def cells_by_criterion(cells: Iterable[GradedCell]) -> dict[str, list[GradedCell]]:
    """Criterion key -> the graded cells that evidence it, in lab and cell order."""
    index: dict[str, list[GradedCell]] = {}
    for cell in cells:
        for key in dict.fromkeys(cell.criteria):
            index.setdefault(key, []).append(cell)
    return index


def validate_lab_tags(notebook_paths: Iterable[Path], catalogue,
                      *, enforce_coverage: Iterable[str] = ()) -> list[TagProblem]:
    """Every problem with the criteria tags of these notebooks, in file and cell order (empty when all is well).

    `enforce_coverage` lists the scopes (see the module docstring) whose criteria must all be assessed by
    these labs as the catalogue says; an unknown scope is itself a problem rather than a silent no-op.
    """
    cells = []
    problems = []
    for path in notebook_paths:
        notebook_cells = _read(Path(path))
        grade_ids: set[str] = set()
        for cell, tags in notebook_cells:
            if cell.grade_id in grade_ids:
                problems.append(TagProblem(f"duplicate grade_id {cell.grade_id!r}: give each graded cell its own",
                                           cell.path, cell.grade_id, cell.index))
            grade_ids.add(cell.grade_id)
            problems.extend(_schema_problems(cell, tags))
            problems.extend(_cell_problems(cell, catalogue))
        cells.extend(cell for cell, _ in notebook_cells)
    evidence = cells_by_criterion(cells)
    for scope in enforce_coverage:
        in_scope = [criterion for criterion in catalogue.criteria.values() if _in_scope(criterion, scope)]
        if not in_scope:
            problems.append(TagProblem(f"coverage scope {scope!r} matches no criterion of the catalogue: "
                                       "use '<referential>' or '<referential>:<bloc, activity or competence ID>'"))
        for criterion in in_scope:
            gap = coverage_gap(criterion, evidence.get(criterion.key, []))
            if gap:
                problems.append(TagProblem(
                    f"criterion {criterion.id} (key {criterion.key!r}, scope {scope!r}): {gap}: tag a graded cell "
                    "of a lab with it, or change its assessment in the catalogue"))
    return problems


def load_tagged_cells(labs_dir: Path, catalogue) -> list[GradedCell]:
    """The graded cells of every lab under `labs_dir`, or TagError listing every tag problem found."""
    paths = find_lab_notebooks(labs_dir)
    problems = validate_lab_tags(paths, catalogue)
    if problems:
        raise TagError(f"{len(problems)} criteria tag problem(s) in {labs_dir}:\n"
                       + "\n".join(f"  - {problem}" for problem in problems))
    return [cell for path in paths for cell in read_graded_cells(path)]
