"""Grade a lab's solution on many secret variants and print every cell it loses, with the grader's reason.

The suite grades each lab's solution on two or three learners' variants, drawn from a fresh course secret on every
run: a solution that fails on one variant in twenty makes the suite fail one run in ten. Before a lab's checks or
its plant change, sweep it on many variants so that such a rate shows at once:

    .venv/bin/python tests/sweep_variants.py lab3_alerts 24

It exits 1 when some variant loses points, and prints, per lost cell, the output the grader left in that cell.
"""

import argparse
import sys
import tempfile
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lab_grading import cell_by_id, grade_variants, the_solution


def sweep(lab: str, learners: int, folder: Path) -> int:
    """Grade the solution of `lab` as `learners` learners in a course at `folder`; the number that lost points."""
    graded = grade_variants(folder / "course", lab, {f"learner{k:03d}": the_solution for k in range(learners)})
    failed = 0
    for k in range(learners):
        learner = f"learner{k:03d}"
        lost = graded.lost_points(learner)
        if not lost:
            continue
        failed += 1
        notebook = nbformat.read(graded.course.autograded / learner / lab / f"{lab}.ipynb", as_version=4)
        print(f"{learner} (seed {graded.variant(learner).seed}) lost {lost}")
        for grade_id in lost:
            for output in cell_by_id(notebook, grade_id).get("outputs", []):
                print("   ", output.get("ename", ""), output.get("evalue", "") or output.get("text", "")[-600:])
    print(f"{lab}: {failed} of {learners} variants lose points")
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lab")
    parser.add_argument("learners", type=int, nargs="?", default=12)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        return 1 if sweep(arguments.lab, arguments.learners, Path(folder)) else 0


if __name__ == "__main__":
    sys.exit(main())
