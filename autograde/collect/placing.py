"""Writing the chosen notebooks into nbgrader's `submitted/<learner>/<lab>/<notebook>.ipynb`, with `timestamp.txt`.

Nothing already there is overwritten without `replace`, and never another learner's work: each placed
submission is recorded in `<course>/.factorylab/collected.json` with the LMS identity it came from, and
`replace` only overwrites a lab recorded for the same identity (nor a file `collect` did not place). A notebook
already there byte for byte, with the same time, is "already collected": collecting a download twice is
harmless. A file is written whole or not at all (written aside, then renamed over the target).
`timestamp.txt` gets the LMS's time of the lab's latest placed notebook, in nbgrader's format; when the
download gives no time (Canvas) it is left out, so that nbgrader records none and computes no late penalty,
rather than hold the time the download was made.
"""

import json
import os
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from autograde.collect.choosing import Chosen
from autograde.collect.download import Unreadable
from autograde.collect.moments import nbgrader_stamp
from autograde.collect.outcome import Item, Placed
from autograde.course import WORK_DIR, Course
from autograde.errors import CollectError

RECORD = "collected.json"


class _Record:
    """Whose work each `submitted/<learner>/<lab>/` holds, as collect placed it."""

    def __init__(self, course: Course) -> None:
        self.path = course.root / WORK_DIR / RECORD
        try:
            self.labs = json.loads(self.path.read_text()) if self.path.is_file() else {}
        except (OSError, ValueError) as error:
            raise CollectError(f"{self.path}: collect's record of whose each submission is cannot be read ({error}); "
                               "delete it to start afresh (--replace will then refuse to overwrite earlier "
                               "submissions)") from error

    def get(self, learner: str, lab: str) -> dict | None:
        return self.labs.get(f"{learner}/{lab}")

    def set(self, learner: str, lab: str, placed: Placed, owner: str) -> None:
        self.labs[f"{learner}/{lab}"] = {"owner": owner, "who": placed.who, "source": placed.source}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _write_whole(self.path, json.dumps(self.labs, indent=1, sort_keys=True, ensure_ascii=False).encode())


def place(course: Course, chosen: list[Chosen], notebooks: dict[str, str],
          replace: bool) -> tuple[list[Placed], list[Item], list[Item]]:
    """Place each chosen notebook: (placed, skipped as already collected, refused with why)."""
    record = _Record(course)
    placed, skipped, refused = [], [], []
    moments = defaultdict(list)
    try:
        for choice in sorted(chosen, key=lambda choice: (choice.learner, choice.found.notebook)):
            found, learner, lab = choice.found, choice.learner, notebooks[choice.found.notebook]
            folder = course.submitted / learner / lab
            target, whose = folder / f"{found.notebook}.ipynb", f"{found.notebook} by {found.identity}"
            previous = record.get(learner, lab)
            if previous and previous["owner"] != found.identity.owner:
                refused.append(Item(found.entry.path, f"{whose}: {folder} holds the work of {previous['who']} (from "
                                    f"{previous['source']}): another LMS identity's work is never overwritten, "
                                    "with or without --replace"))
                continue
            try:
                data = found.entry.read()
            except Unreadable as error:
                refused.append(Item(found.entry.path, f"{whose}: {error}"))
                continue
            stamp = nbgrader_stamp(found.moment) if found.moment else None
            if target.exists():
                if target.read_bytes() == data and _stamp(folder) == stamp:
                    skipped.append(Item(found.entry.path, f"{whose}: already collected in {target}"))
                    continue
                if not replace:
                    refused.append(Item(found.entry.path, f"{whose}: {target} exists: pass --replace to overwrite "
                                                          "it with this one"))
                    continue
                if not previous:
                    refused.append(Item(found.entry.path, f"{whose}: {target} exists and collect did not place it "
                                                          "(whose it is is not recorded): move it away by hand to "
                                                          "collect this one"))
                    continue
            folder.mkdir(parents=True, exist_ok=True)
            _write_whole(target, data)
            placed.append(Placed(learner, lab, target, found.entry.path, str(found.identity), found.moment,
                                 found.note))
            record.set(learner, lab, placed[-1], found.identity.owner)
            moments[folder].append(found.moment)
    finally:
        record.save()
    for folder, times in moments.items():
        _write_timestamp(folder, [moment for moment in times if moment])
    return placed, skipped, refused


def _stamp(folder: Path) -> str | None:
    path = folder / "timestamp.txt"
    return path.read_text().strip() if path.is_file() else None


def _write_timestamp(folder: Path, moments: list[datetime]) -> None:
    path = folder / "timestamp.txt"
    if moments:
        _write_whole(path, (nbgrader_stamp(max(moments)) + "\n").encode())
    else:
        path.unlink(missing_ok=True)


def _write_whole(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.collecting")
    partial.write_bytes(data)
    os.replace(partial, path)
