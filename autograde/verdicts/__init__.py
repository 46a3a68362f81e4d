"""Verdicts: what decides, in the grader's own process, whether a lab's automatic test cell passes.

Each lab has a module `autograde.verdicts.<lab>` defining `VERDICTS = LabVerdicts("<lab>")`, which registers:
- one verdict per autograded test cell, `@VERDICTS.cell("<grade_id>")`, a function `(evidence, variant)`
  that returns when the learner's artefacts are right and raises `VerdictFailed("what is wrong")` otherwise;
  the message reaches the learner's feedback, so it names the property that failed, never the expected value;
- `@VERDICTS.preparer`, a function `(variant, folder)` writing the variant's datasets and the grader's inputs
  for the kernel (autograde/variants.py).
These modules hold the references and the ground truth; they never exist in the learner's sandbox. A cell
without a registered verdict fails, as does one whose evidence is missing or malformed (fail-closed).

A course's own labs keep their verdict modules outside the repository, in folders named by
`FACTORYLAB_VERDICTS_PATH` (like PYTHONPATH): they join this package's search path, never the kernel's.
"""

import importlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograde.variants import Variant
from labkit import plaindata

VERDICTS_PATH_ENV = "FACTORYLAB_VERDICTS_PATH"
__path__ += [folder for folder in os.environ.get(VERDICTS_PATH_ENV, "").split(os.pathsep) if folder]


class Phrase(str):
    """English words a verdict passes as a value into a message (`where=phrase("your site")`): the feedback
    translates them with the message. `phrase("…")` marks them for the catalogue (locale/labs.cfg)."""


def phrase(text: str) -> Phrase:
    """`text`, to be translated where a message shows it (see Phrase)."""
    return Phrase(text)


class VerdictFailed(AssertionError):
    """The learner's artefacts are wrong; the message says which property failed (shown in feedback).

    The message is an English template with named `{placeholders}` (str.format), given the values apart, never an
    f-string: the feedback translates the template through the lab's catalogue (locale/README.md) in the course's
    language, then fills it in, translating the values that are words too (a `Phrase`, or another failure's
    message: `failure=failed`). `str()` is the English text."""

    def __init__(self, template: str, /, **values: Any):  # positional: a value may be named `template`
        self.template, self.values = template, values
        super().__init__(template.format(**values) if values else template)

    def translated(self, gettext: Callable[[str], str]) -> str:
        """The message in the language of `gettext` (the English text where it has no translation)."""
        text = gettext(self.template)
        if not self.values:
            return text
        values = {name: gettext(value) if isinstance(value, Phrase)
                  else value.translated(gettext) if isinstance(value, VerdictFailed) else value
                  for name, value in self.values.items()}
        return text.format(**values)


class MissingEvidence(VerdictFailed):
    """The cell did not record an artefact its verdict needs."""


@dataclass(frozen=True)
class Evidence:
    """The decoded artefacts one test cell recorded (labkit.evidence.record)."""

    grade_id: str
    artefacts: Mapping[str, Any]

    def __getitem__(self, name: str) -> Any:
        if name not in self.artefacts:
            raise MissingEvidence("the cell did not record {name!r}: run it to its end, unchanged", name=name)
        return self.artefacts[name]

    def __contains__(self, name: str) -> bool:
        return name in self.artefacts

    @classmethod
    def recorded(cls, grade_id: str, **artefacts: Any) -> "Evidence":
        """The evidence the grader decodes from `labkit.evidence.record(grade_id, **artefacts)` (for tests)."""
        return cls(grade_id, plaindata.roundtrip(artefacts))


Verdict = Callable[[Evidence, Variant], None]
Preparer = Callable[[Variant, Path], None]


class LabVerdicts:
    """The verdicts and the variant preparer of one lab."""

    def __init__(self, lab: str):
        self.lab = lab
        self.cells: dict[str, Verdict] = {}
        self._preparer: Preparer | None = None

    def cell(self, grade_id: str) -> Callable[[Verdict], Verdict]:
        def register(verdict: Verdict) -> Verdict:
            if grade_id in self.cells:
                raise ValueError(f"{self.lab}: two verdicts for {grade_id!r}")
            self.cells[grade_id] = verdict
            return verdict

        return register

    def preparer(self, function: Preparer) -> Preparer:
        self._preparer = function
        return function

    def prepare(self, variant: Variant, folder: Path) -> None:
        if self._preparer is not None:
            self._preparer(variant, folder)


def lab_verdicts(lab: str) -> LabVerdicts:
    """The registered verdicts of `lab` (its module `autograde.verdicts.<lab>`)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", lab):
        raise ValueError(f"not a lab name: {lab!r}")
    try:
        module = importlib.import_module(f"autograde.verdicts.{lab}")
    except ModuleNotFoundError as error:
        if error.name == f"autograde.verdicts.{lab}":
            return LabVerdicts(lab)  # no verdicts: every autograded cell of it fails, and release says so
        raise
    return module.VERDICTS


def expect(condition: bool, message: str, /, **values: Any) -> None:  # positional: a value may be `message`
    """Raise VerdictFailed(message, **values) unless `condition`: the verdicts' assert, which `python -O` cannot
    remove. `message` is a literal template, `values` fill its placeholders (see VerdictFailed)."""
    if not condition:
        raise VerdictFailed(message, **values)
