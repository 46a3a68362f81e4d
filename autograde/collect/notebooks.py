"""Which released notebook a learner's file is, seen through the names that copies and resubmissions get.

A learner's `lab1_prepare_data.ipynb` reaches the trainer as `lab1_prepare_data (1).ipynb` (a browser's or
Drive's second download), `Copy of …` (Google Drive), `… - Copy` (Windows), `… copy 2` (macOS), `…-Copy1`
(Jupyter's Duplicate), `…-v2` (the learner's own versions) or `…-1` (Canvas, when a learner hands in a file of
the same name again). Each is the same notebook, and its marker says it came later: `revision` counts them, so
that among files of one learner with the same time the latest copy is kept. Words beside the notebook's name
(`Ada Lovelace - lab1_prepare_data`, `lab1_prepare_data_final`) are allowed; those before it are returned as
`rest`, which only names a learner in a flat download that has no other way to say whose a file is.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

COPY_MARKERS = (
    re.compile(r"^(?:copy of|copie de|kopie von) (?P<base>.+)$", re.IGNORECASE),
    re.compile(r"^(?P<base>.+?) ?- ?(?:copy|copie|kopie)(?: \((?P<n>\d+)\))?$", re.IGNORECASE),
    re.compile(r"^(?P<base>.+?) ?\((?P<n>\d+)\)$"),
    re.compile(r"^(?P<base>.+?)-copy(?P<n>\d+)$", re.IGNORECASE),
    re.compile(r"^(?P<base>.+?) copy(?: (?P<n>\d+))?$", re.IGNORECASE),
    re.compile(r"^(?P<base>.+?)[ _-]v(?P<n>\d+)$", re.IGNORECASE),
    re.compile(r"^(?P<base>.+?)-(?P<n>\d+)$"),
)
SEPARATORS = r"[ _\-]+"


@dataclass(frozen=True)
class Recognised:
    """A file recognised as a released notebook: its stem, how many copy markers its name had, and the text
    before the notebook's name ("" if none)."""

    notebook: str
    revision: int
    rest: str


def recognise(stem: str, notebooks: Iterable[str]) -> Recognised | None:
    """The released notebook (one of `notebooks`, by stem) a file stem names, or None."""
    candidates = _without_copy_markers(stem.strip())
    by_length = sorted(notebooks, key=len, reverse=True)
    for candidate, revision in candidates:
        for notebook in by_length:
            if candidate.casefold() == notebook.casefold():
                return Recognised(notebook, revision, "")
    for candidate, revision in reversed(candidates):
        for notebook in by_length:
            match = re.fullmatch(rf"(?:(?P<rest>.*?){SEPARATORS})?{re.escape(notebook)}(?:{SEPARATORS}.*)?",
                                 candidate, re.IGNORECASE)
            if match:
                return Recognised(notebook, revision, (match["rest"] or "").strip())
    return None


def _without_copy_markers(stem: str) -> list[tuple[str, int]]:
    """`stem`, then `stem` with its copy markers removed one by one, each with the revision they add up to."""
    candidates, revision = [(stem, 0)], 0
    while True:
        for marker in COPY_MARKERS:
            match = marker.match(candidates[-1][0])
            if match and match["base"].strip():
                revision += int(match.groupdict().get("n") or 1)
                candidates.append((match["base"].strip(), revision))
                break
        else:
            return candidates
