"""Per-learner feedback pages (HTML) with nbgrader's `generate_feedback`, hidden tests taken out.

nbgrader renders feedback from the autograded notebooks, which hold the hidden tests and their tracebacks
(nbgrader issue #917). factorylab runs the same converter with one more step in its pipeline,
`HideHiddenTests` (autograde/preprocessors/hide_hidden_tests.py), after `GetGrades` has read the scores:
the pages keep every score and the learner's own code and outputs, and say of a cell with hidden tests only
whether it passed; and `UnsandboxedNotice` opens the page of a submission graded without the sandbox with a
warning. Pages land in nbgrader's place, `<course>/feedback/<learner>/<lab>/<notebook>.html`.
"""

import warnings
from collections.abc import Sequence
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import GetGrades

from autograde.course import Course, nbgrader_config
from autograde.errors import GradeError
from autograde.preprocessors import HideHiddenTests, UnsandboxedNotice
from autograde.provenance import unsandboxed


def feedback(*, course_dir: Path | None = None, labs: Sequence[str] = (), learners: Sequence[str] = ()) -> list[Path]:
    """Write the feedback pages of every autograded submission of `labs` by `learners` (default: all)."""
    course = Course.at(course_dir)
    config = nbgrader_config(course)
    config.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, UnsandboxedNotice, CSSHTMLHeaderPreprocessor]
    config.UnsandboxedNotice.submissions = [f"{lab}/{learner}" for lab, learner in unsandboxed(course.db_url)]
    api = NbGraderAPI(config=config)
    written = []
    for lab in list(labs) or course.released_labs():
        for learner in course.submitters(lab):
            if (learners and learner not in learners) or not (course.autograded / learner / lab).is_dir():
                continue
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Object of type <Submitted")
                result = api.generate_feedback(lab, learner, force=True)
            if not result["success"]:
                raise GradeError(f"{course.autograded / learner / lab}: nbgrader could not write its feedback: "
                                 + (result.get("error") or result.get("log", ""))[-500:])
            written.extend(sorted((course.feedback / learner / lab).glob("*.html")))
    return written
