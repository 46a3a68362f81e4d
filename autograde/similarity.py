"""Which learners' answers to a lab look alike, and which look like the reference solution: a list for the trainer.

Per lab, the code of every learner's answer cells (nbgrader's `solution: true` cells, code only) in
`submitted/<learner>/<lab>/*.ipynb` is compared with every other learner's and with the solution's answer cells
(`source/<lab>/<lab>.ipynb`) by copydetect, MOSS's winnowing over Pygments tokens: names become `V`/`F`, strings
`S`, comments and spaces go, so renaming variables or reformatting hides nothing. The released stubs
(`release/<lab>/<lab>.ipynb`'s answer cells) are copydetect's boilerplate and never count. Notebooks are read
with nbformat, never executed; one that cannot be read is listed and left out.
"""

import csv
import io
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import nbformat

from autograde.course import Course
from autograde.errors import AutogradeError

SOLUTION = "solution"  # stands for the reference solution in a pair's second place
DEFAULT_THRESHOLD = 0.5  # fraction of either answer's fingerprinted code found in the other
NOISE_CHARS = 25  # copydetect's default: shorter matches of filtered code (`V=V.F(V)`...) are chance
CSV_COLUMNS = ("lab", "learner", "other", "similarity", "other_similarity", "shared_fragments")


class SimilarityError(AutogradeError):
    """The similarity report cannot be made as asked: an unknown lab, a threshold outside 0..1."""


@dataclass(frozen=True)
class SuspiciousPair:
    """Two answers to `lab` that share much code: `learner` and `other` (another learner, or SOLUTION).

    `similarity` is the fraction of `learner`'s answer code (tokens, boilerplate left out) found in `other`'s,
    `other_similarity` the converse; `shared_fragments` counts the separate stretches of code they share.
    """

    lab: str
    learner: str
    other: str
    similarity: float
    other_similarity: float
    shared_fragments: int

    @property
    def score(self) -> float:
        return max(self.similarity, self.other_similarity)


@dataclass(frozen=True)
class Unreadable:
    """A notebook left out of the comparison, and why."""

    path: Path
    reason: str


class SimilarityReport(list[SuspiciousPair]):
    """The suspicious pairs, most similar first, with the notebooks that could not be read (`unreadable`)."""

    def __init__(self, pairs=(), unreadable=()):
        super().__init__(pairs)
        self.unreadable: list[Unreadable] = list(unreadable)


def similarity(*, course_dir: Path | None = None, labs=(), threshold: float = DEFAULT_THRESHOLD) -> SimilarityReport:
    """Compare the answer code of every pair of learners, and of each learner with the solution, lab by lab.

    Returns the pairs whose similarity (either way) reaches `threshold`, most similar first; `labs` defaults
    to every released lab. This is a list for the trainer to read, never an automatic penalty: shared code
    may be an allowed collaboration, a snippet from the course, or the one natural way to write a short
    answer, and nothing here changes a grade. Unreadable notebooks are in the result's `unreadable`.
    """
    if not 0 <= threshold <= 1:
        raise SimilarityError(f"threshold {threshold} is not a fraction between 0 and 1")
    course = Course.at(course_dir)
    labs = course.chosen_labs(labs, error=SimilarityError)
    report = SimilarityReport()
    for lab in labs:
        report.extend(_compare_lab(course, lab, threshold, report.unreadable))
    report.sort(key=lambda pair: (-pair.score, pair.lab, pair.learner, pair.other))
    return report


def _compare_lab(course: Course, lab: str, threshold: float, unreadable: list[Unreadable]) -> list[SuspiciousPair]:
    # copydetect imports matplotlib for its HTML report: imported here, so the other verbs do not pay for it
    from copydetect import CodeFingerprint, compare_files, defaults

    window = defaults.GUARANTEE_THRESHOLD - defaults.NOISE_THRESHOLD + 1

    def fingerprint(name: str, code: str, boilerplate=None) -> CodeFingerprint:
        return CodeFingerprint(f"{name}.py", NOISE_CHARS, window, boilerplate=boilerplate, language="python",
                               fp=io.StringIO(code))

    stubs = _answer_code([course.release / lab / f"{lab}.ipynb"], unreadable)
    boilerplate = sorted(fingerprint("release", stubs, None).hashes) if stubs else None
    answers = {learner: _answer_code(sorted((course.submitted / learner / lab).glob("*.ipynb")), unreadable)
               for learner in course.submitters(lab)}
    prints = {learner: fingerprint(learner, code, boilerplate) for learner, code in answers.items() if code}
    pairs = list(combinations(sorted(prints), 2))
    solution = _answer_code([course.source / lab / f"{lab}.ipynb"], unreadable)
    if solution:
        reference = fingerprint(SOLUTION, solution, boilerplate)
        pairs += [(learner, SOLUTION) for learner in sorted(prints)]
        prints = {**prints, SOLUTION: reference}
    suspicious = []
    for learner, other in pairs:
        overlap, (share, other_share), (slices, _) = compare_files(prints[learner], prints[other])
        if overlap and max(share, other_share) >= threshold:
            suspicious.append(SuspiciousPair(lab, learner, other, round(float(share), 3),
                                             round(float(other_share), 3), len(slices[0])))
    return suspicious


def _answer_code(paths: list[Path], unreadable: list[Unreadable]) -> str:
    """The code of the answer cells (nbgrader `solution: true`) of these notebooks, unreadable ones noted."""
    code = []
    for path in paths:
        try:
            nb = nbformat.read(path, as_version=4)
            code += [cell.source for cell in nb.cells
                     if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("solution")]
        except Exception as error:  # missing file, invalid JSON, not a notebook: nbformat's errors share no base
            first_line = (str(error).splitlines() or [""])[0][:120]
            unreadable.append(Unreadable(path, f"{type(error).__name__}: {first_line}"))
    return "\n\n".join(code)


def write_csv(pairs: list[SuspiciousPair], path: Path) -> Path:
    """The pairs as CSV, one row each, columns CSV_COLUMNS."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        writer.writerows([p.lab, p.learner, p.other, p.similarity, p.other_similarity, p.shared_fragments]
                         for p in pairs)
    return path


def format_table(report: SimilarityReport) -> str:
    """The pairs as a plain-text table, then the unreadable notebooks, for the terminal."""
    lines = []
    if report:
        rows = [(p.lab, p.learner, p.other, f"{p.similarity:.0%}", f"{p.other_similarity:.0%}",
                 str(p.shared_fragments)) for p in report]
        header = ("lab", "learner", "other", "similarity", "other's", "fragments")
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                  for row in [header, *rows]]
        lines.append(f"{len(report)} pair(s) to read: a lead for the trainer, not proof of copying")
    else:
        lines.append("no pair of answers above the threshold")
    lines += [f"not compared: {item.path}: {item.reason}" for item in report.unreadable]
    return "\n".join(lines)
