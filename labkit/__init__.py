"""The learner kit: what a lab notebook may import besides the plant (`simulators`).

It holds no answer, no reference and no ground truth: it is mounted read-only in the grader's sandbox, where
`autograde` (the verdicts, the references, the course secret) does not exist. Its parts:

- `labkit.plaindata`: the only formats that cross the sandbox's boundary (JSON, Parquet, `.npy` without
  pickle), with their size limits;
- `labkit.evidence`: `record(grade_id, **artefacts)`, what a hidden test cell does instead of asserting: it
  hands the learner's results to the grader, who judges them in its own process;
- `labkit.variant`: the grader's inputs for the learner's graded variant (or the public practice ones).

Beside these shared modules, `labkit.<lab>` holds one lab's given code. In grading, a lab's kernel sees only
the shared modules, its own lab's module and what they import (autograde/kit.py): another lab's module may give
away what this lab asks for.
"""

SHARED_MODULES = ("plaindata", "evidence", "variant")
