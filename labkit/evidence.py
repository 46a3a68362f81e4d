"""Hand the learner's results to the grader: `record(grade_id, **artefacts)` in a hidden test cell.

A hidden test cell does not decide anything in the learner's kernel, where the learner's own code could rewrite
any check. It records artefacts (the values, tables and outputs of the learner's functions on the grader's
inputs) as plain data in a display output of a dedicated MIME type; after execution, the grader's own process
reads them from that cell's outputs and judges them (autograde/preprocessors/judge.py). A cell whose evidence
is missing, malformed or recorded elsewhere fails: nothing the kernel prints can make a test pass.
"""

from typing import Any

from IPython.display import display

from labkit.plaindata import encode, to_text

MIME_TYPE = "application/vnd.factorylab.evidence+json"


def record(grade_id: str, **artefacts: Any) -> None:
    """Record `artefacts` (name=value) as the evidence of the test cell `grade_id`."""
    if not artefacts:
        raise ValueError(f"{grade_id}: record at least one artefact")
    encoded = {}
    for name, value in artefacts.items():
        fmt, data = encode(name, value)
        encoded[name] = {"format": fmt, "data": to_text(fmt, data)}
    display({MIME_TYPE: {"grade_id": grade_id, "artefacts": encoded}}, raw=True)
    print(f"{grade_id}: evidence recorded ({', '.join(encoded)}) for the grader")
