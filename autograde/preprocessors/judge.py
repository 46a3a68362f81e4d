"""JudgeEvidence: decide every automatic test cell in the grader's process, from the evidence its kernel recorded.

It runs on the executed notebook, in the grader's worker (never in the learner's kernel), before nbgrader
scores it. For each autograded test cell it takes the evidence outputs that cell recorded
(labkit/evidence.py), decodes them as plain data and calls the lab's verdict (autograde/verdicts/). The cell's
outputs then say what the grader decided, and nbgrader's own rule (an error output scores zero) scores it:
- passed: the kernel's outputs, minus the evidence;
- failed: the kernel's outputs, minus the evidence, plus one `VerdictFailed` error naming what is wrong.
A cell passes only if its verdict passes *and* the kernel reported no error in it. Evidence is removed from
every cell; evidence a cell recorded for another cell's grade_id, a test cell that completed without recording
any, and evidence that does not decode are tampering or breakage: the cell fails and the trainer is told
(`flags`). Whatever the kernel printed cannot make a test pass: only the verdict can.

What the learner reads is in the course's language (`language`): a verdict's message through its lab's catalogue,
the grader's own through the `cli` catalogue (locale/README.md). The trainer's flags stay English, like the log.
"""

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution
from traitlets import Any, Unicode

from autograde.i18n import SOURCE_LANGUAGE, lab_domains, translations
from autograde.verdicts import Evidence, MissingEvidence, VerdictFailed
from labkit.evidence import MIME_TYPE
from labkit.plaindata import PlainDataError, decode, from_text

VERDICT_FAILED = "VerdictFailed"


def is_auto_test(cell) -> bool:
    """An autograded test cell: a graded code cell that is not an answer."""
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def evidence_of(output) -> dict | None:
    """The evidence payload of one output, if it is one."""
    data = output.get("data")
    if output.get("output_type") not in ("display_data", "execute_result") or not isinstance(data, dict):
        return None
    return data.get(MIME_TYPE)


class JudgeEvidence(NbGraderPreprocessor):
    """Replace each automatic test cell's verdict by the grader's (see the module's docstring)."""

    verdicts = Any(help="the lab's LabVerdicts").tag(config=True)
    variant = Any(help="the learner's graded Variant").tag(config=True)
    language = Unicode(SOURCE_LANGUAGE, help="the language of the feedback (the course's)").tag(config=True)

    def preprocess(self, nb, resources):
        self.flags: list[str] = []  # what looks tampered with, for the trainer
        return super().preprocess(nb, resources)

    def _(self, text: str) -> str:
        """One of the grader's own texts, in the feedback's language."""
        return translations("cli", self.language).gettext(text)

    def _verdict_text(self, failed: VerdictFailed) -> str:
        """A verdict's message in the feedback's language: from its lab's catalogue, else another lab's (a verdict
        may call another lab's checks: lab_scenarios reuses lab_model_line's statistics), else the grader's own
        (the texts every lab shares, such as a missing artefact), else English."""
        labs = lab_domains()
        domains = [*([self.verdicts.lab] if self.verdicts.lab in labs else []),
                   *(lab for lab in labs if lab != self.verdicts.lab), "cli"]

        def gettext(text: str) -> str:
            for domain in domains:
                found = translations(domain, self.language).gettext(text)
                if found != text:
                    return found
            return text

        try:
            return failed.translated(gettext)
        except (KeyError, IndexError, ValueError):  # a translation whose placeholders do not fit: the English
            return str(failed)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        recorded, kept = [], []
        for output in cell.get("outputs", []):
            payload = evidence_of(output)
            (kept if payload is None else recorded).append(output if payload is None else payload)
        cell.outputs = kept
        if not is_auto_test(cell):
            if recorded:
                self.flags.append(f"cell {index}: evidence recorded outside its test cell (ignored)")
            return cell, resources
        failure = self._judge(cell, index, grade_id, recorded)
        if failure:
            cell.outputs = [*kept, nbformat.v4.new_output("error", ename=VERDICT_FAILED, evalue=failure,
                                                          traceback=[f"{VERDICT_FAILED}: {failure}"])]
        return cell, resources

    def _judge(self, cell, index: int, grade_id: str, recorded: list) -> str | None:
        """The reason the cell fails, or None when nothing needs adding (it passes, or the kernel's own error
        output already fails it)."""
        kernel_error = any(out.output_type == "error" for out in cell.outputs)
        verdict = self.verdicts.cells.get(grade_id)
        if verdict is None:
            return self._("no verdict is registered for {grade_id!r}: report it to your trainer").format(
                grade_id=grade_id)
        artefacts, problems = {}, []
        for payload in recorded:
            owner = payload.get("grade_id") if isinstance(payload, dict) else None
            if owner != grade_id:
                problems.append(f"evidence for {owner!r} recorded in {grade_id!r}")
                continue
            entries = payload.get("artefacts")
            if not isinstance(entries, dict):
                problems.append(f"artefacts of type {type(entries).__name__}, not a mapping")
                continue
            for name, entry in entries.items():
                try:
                    artefacts[name] = decode(name, entry["format"], from_text(entry["format"], entry["data"]))
                except (PlainDataError, KeyError, TypeError) as error:
                    problems.append(f"{name}: {error}")
        if problems:
            self.flags.append(f"{grade_id}: malformed or misplaced evidence: {'; '.join(problems)[:300]}")
            return self._("the evidence of this cell is malformed: run the notebook again, unchanged test cells")
        if kernel_error:
            return None  # the kernel's own error output already scores the cell zero
        if not recorded:
            self.flags.append(f"{grade_id}: the cell completed without recording its evidence (its code did not "
                              "run as written: input transformers, patched functions or a replaced test cell)")
            return self._("the grader received nothing from this cell: its code did not run as written")
        try:
            verdict(Evidence(grade_id, artefacts), self.variant)
        except MissingEvidence as missing:
            self.flags.append(f"{grade_id}: {missing}")
            return self._verdict_text(missing)
        except VerdictFailed as failed:
            return self._verdict_text(failed) if str(failed) else self._("the answer is not right")
        except Exception as error:  # malformed artefacts the verdict could not read: fail-closed
            return self._("your results could not be read as the task asks ({error})").format(
                error=f"{type(error).__name__}: {str(error)[:200]}")
        return None
