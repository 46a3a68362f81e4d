"""What `collect` reports: every file of the download ends in exactly one of its lists, with why."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple


def printable(text: str) -> str:
    """`text` with control characters escaped (`\\n`): a file name cannot forge a line of the report."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class Item(NamedTuple):
    """A file (or folder, ending in `/`) of the download, by its path there, and why it was not placed."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{printable(self.path)}: {printable(self.reason)}"


class Placed(NamedTuple):
    """A notebook placed in `submitted/<learner>/<lab>/`: from where, whose (as the LMS says), and when."""

    learner: str
    lab: str
    target: Path
    source: str
    who: str
    moment: datetime | None
    note: str = ""

    def __str__(self) -> str:
        when = self.moment.strftime("%Y-%m-%d %H:%M:%S UTC") if self.moment else "no submission time given"
        return printable(f"{self.learner}/{self.lab}/{self.target.name} <- {self.source} ({self.who}; {when}"
                         + (f"; {self.note})" if self.note else ")"))


@dataclass(frozen=True)
class Collected:
    """The outcome of one `collect`.

    `placed`: the notebooks now in submitted/. `superseded`: older copies and resubmissions of a placed notebook
    (the latest by the LMS's time is the one placed). `skipped`: what is not a learner's notebook or must not be
    read (not a notebook, links, device files, paths leaving the download, system files). `refused`: learners'
    notebooks that were not placed and need the trainer (unknown to the roster, two learners on one id, a
    corrupt member, a submission already there); the command line exits non-zero when there is any.
    """

    format: str
    placed: list[Placed]
    superseded: list[Item]
    skipped: list[Item]
    refused: list[Item]
