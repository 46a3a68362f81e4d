"""The grader's inputs for this learner's graded variant, or the public practice ones.

When a notebook is graded, the grader mounts the learner's graded variant read-only and names its folder in
`FACTORYLAB_VARIANT` (simulators/learner.py): the observed data of the learner's plant (`datasets/`) and the
inputs its hidden test cells feed to the learner's functions (`inputs/<name>.json|parquet|npy`). Both derive
from the course's secret on the grader's side; the kernel receives data, never a seed to re-simulate from.
Without that variable (at home, under `factorylab lab`, in nbval) the labs run on the public practice variant,
which each lab's kit module computes itself.
"""

from collections.abc import Callable
from typing import Any

from labkit import plaindata
from simulators.seeding import graded_variant_dir


def graded_input(name: str, practice: Callable[[], Any]) -> Any:
    """The grader's input `name` when grading, else `practice()` (the public practice variant's)."""
    folder = graded_variant_dir()
    if folder is None:
        return practice()
    return plaindata.read(folder / "inputs", name)
