"""ReplayExecution: nbgrader's Execute step, with the execution done elsewhere (in a sandboxed worker).

nbgrader's autograde converter sanitizes a submission, then runs `Execute`, then scores. factorylab sanitizes
the same submission first with nbgrader's own sanitize steps, executes it in a worker process, and then runs
nbgrader's unchanged converter with this step in place of `Execute`: it copies each code cell's outputs from
the executed notebook. It refuses (ReplayMismatch) if the notebook nbgrader sanitized now is not cell for cell
the one that was executed, so the outputs scored are always those of the code nbgrader would have run.
"""

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Callable

from autograde.errors import ReplayMismatch


class ReplayExecution(NbGraderPreprocessor):
    """Copy the outputs of the executed notebook that `fetch(lab, learner, notebook)` returns."""

    fetch = Callable(help="(assignment, student, notebook) -> the executed NotebookNode").tag(config=True)

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        executed = self.fetch(ids["assignment"], ids["student"], ids["notebook"])
        where = f"{ids['student']}/{ids['assignment']}/{ids['notebook']}.ipynb"
        if len(executed.cells) != len(nb.cells):
            raise ReplayMismatch(f"{where}: executed {len(executed.cells)} cells, nbgrader sanitized "
                                 f"{len(nb.cells)}: grade again")
        for index, (cell, done) in enumerate(zip(nb.cells, executed.cells, strict=True)):
            if (cell.cell_type, cell.source) != (done.cell_type, done.source):
                raise ReplayMismatch(f"{where}: cell {index} differs from the executed one: grade again")
            if cell.cell_type == "code":
                cell.outputs = done.outputs
                cell.execution_count = done.execution_count
                if "execution" in done.metadata:
                    cell.metadata["execution"] = done.metadata["execution"]
        if "language_info" in executed.metadata:
            nb.metadata["language_info"] = executed.metadata["language_info"]
        return nb, resources
