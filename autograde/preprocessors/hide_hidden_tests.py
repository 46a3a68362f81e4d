"""HideHiddenTests: keep hidden tests, and everything they print, out of the learners' feedback.

nbgrader's feedback is rendered from the autograded notebook, where the test cells hold their full source
(hidden tests included, between `### BEGIN HIDDEN TESTS` and `### END HIDDEN TESTS`) and their outputs;
a failing hidden test's traceback quotes its source, and its assertion message may give the answer away
(nbgrader issue #917). In each test cell that had hidden tests, this step removes the hidden region, with
nbgrader's own `ClearHiddenTests` code, and replaces the outputs with one neutral line saying whether the cell
passed, followed by the grader's verdict when it failed (written by autograde/verdicts/ to name the property
that is wrong, never the expected value). The score shown beside the cell comes from the gradebook (nbgrader's
`GetGrades`), untouched.
"""

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

from autograde.preprocessors.judge import VERDICT_FAILED

HIDDEN_FAILED = "A test in this cell failed. Its hidden part is not shown: check your answer against the task."
HIDDEN_PASSED = "The hidden tests of this cell passed."


class HideHiddenTests(NbGraderPreprocessor):
    """Strip hidden test regions and their outputs from test cells (after GetGrades, before rendering)."""

    def preprocess(self, nb, resources):
        self._clear = ClearHiddenTests(parent=self, enforce_metadata=False)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not is_grade(cell) or is_solution(cell):
            return cell, resources
        if self._clear._remove_hidden_test_region(cell):
            failed = any(out.output_type == "error"
                         or (out.output_type == "stream" and out.get("name") == "stderr")
                         for out in cell.get("outputs", []))
            verdicts = [out.evalue for out in cell.get("outputs", [])
                        if out.output_type == "error" and out.get("ename") == VERDICT_FAILED]
            text = HIDDEN_FAILED + "".join(f"\n{verdict}" for verdict in verdicts) if failed else HIDDEN_PASSED
            cell.outputs = [nbformat.v4.new_output("stream", name="stderr" if failed else "stdout", text=text)]
        return cell, resources
