"""UnsandboxedNotice: a feedback page of a submission graded without the sandbox opens with a warning.

The grades on such a page are not fit for certification (autograde/provenance.py); the learner, and anyone the
page is shown to, must read that before the scores. The submissions concerned are given by the caller, from the
gradebook's record of how each was graded.
"""

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode

from autograde.provenance import UNSANDBOXED_NOTICE


class UnsandboxedNotice(NbGraderPreprocessor):
    """Put a warning cell first in the feedback of the submissions listed in `submissions` (`lab/learner`)."""

    submissions = List(Unicode(), help="lab/learner of each submission graded without the sandbox").tag(config=True)

    def preprocess(self, nb, resources):
        graded = resources.get("nbgrader", {})
        if f"{graded.get('assignment')}/{graded.get('student')}" in self.submissions:
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"> **⚠ {UNSANDBOXED_NOTICE}**"))
        return nb, resources
