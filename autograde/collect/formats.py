"""The naming conventions of each LMS's download: whose a file is, its own file name, and the LMS's time for it.

A download comes from one LMS; the format whose conventions claim the most files is the one read, and only
its conventions decide whose a file is (see the package's docstring for each format). A learner's folder always
wins over file names: a file named after someone else inside a learner's folder is that learner's.
`sort_out` turns a download's entries into `Found` notebooks, each with its learner's identity, and skips what
is not a learner's notebook, saying why.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import PurePath

from autograde.collect.download import Entry, Unreadable
from autograde.collect.identity import NUMBER, USERNAME, Identity
from autograde.collect.moments import parse_nbgrader, to_utc
from autograde.collect.names import name_key
from autograde.collect.notebooks import recognise
from autograde.collect.outcome import Item

MOODLE_FOLDER = re.compile(r"(?P<name>[^_]+)_(?P<number>\d+)_assignsubmission_[a-z]+_")
MOODLE_FILE = re.compile(r"(?P<name>[^_]+)_(?P<number>\d+)_assignsubmission_[a-z]+_(?P<file>.+)")
# Moodle's word for a learner under blind marking (get_string('participant', 'assign')) in common languages.
MOODLE_BLIND = {"participant", "participante", "partecipante", "teilnehmer/in", "teilnehmerin", "deelnemer",
                "uczestnik"}
CANVAS_FILE = re.compile(r"(?P<name>.*?)(?P<late>[_-]late)?_(?P<user>\d+)_(?P<attachment>\d+)_(?P<file>.+)",
                         re.IGNORECASE)
BRIGHTSPACE_NAME = re.compile(r"(?P<submission>\d+)-(?P<user>\d+) - (?P<name>.+?) - (?P<month>[A-Z][a-z]+) "
                         r"(?P<day>\d{1,2}), (?P<year>\d{4}) (?P<hhmm>\d{3,4}) ?(?P<half>[AP]M)(?: - (?P<file>.+))?")
BLACKBOARD_NAME = re.compile(r"(?P<assignment>.+)_(?P<user>[^_]+)_attempt_"
                        r"(?P<stamp>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?:_(?P<file>.+)|\.txt)")
EXCHANGE = re.compile(r"(?P<student>[^+]+)\+(?P<assignment>[^+]+)\+(?P<timestamp>[^+]+)(?:\+[^+]*)?")
HUB_PREFIX = "jupyter-"
TEAMS_DRAFTS = "working files"


@dataclass(frozen=True)
class Claim:
    """What a format says of one file: whose it is, the file's own name (the LMS's prefix removed), the
    LMS's time (None when the download gives none), the LMS's order among resubmissions, and a note."""

    identity: Identity
    filename: str
    moment: datetime | None
    order: int = 0
    note: str = ""


@dataclass(frozen=True)
class Context:
    """What the conventions need beyond one file: the released notebooks, the zone of local times, the
    download's files by path, and how deep a folder-per-learner download keeps its learners' folders."""

    notebooks: tuple[str, ...]
    zone: tzinfo | None
    entries: dict[tuple[str, ...], Entry]
    learner_depth: int


@dataclass(frozen=True)
class Format:
    """An LMS's download convention: its name, where it puts a learner's work, and how to read a file's name
    (a Claim, a reason to skip the file, or None when the file does not follow the convention)."""

    name: str
    layout: str
    identify: Callable[[Entry, Context], "Claim | str | None"]


@dataclass(frozen=True)
class Found:
    """A learner's notebook in the download: whose, which released notebook, its copy revision, when."""

    entry: Entry
    identity: Identity
    notebook: str
    revision: int
    moment: datetime | None
    order: int
    note: str


@dataclass(frozen=True)
class Sorted:
    """A download sorted out: its format's name, the learners' notebooks, and what was skipped with why."""

    format: str
    found: list[Found]
    skipped: list[Item]


def _moodle(entry: Entry, context: Context) -> Claim | None:
    for part in entry.parts[:-1]:
        if match := MOODLE_FOLDER.fullmatch(part):
            return Claim(_moodle_learner(match), entry.name, entry.moment)
    if match := MOODLE_FILE.fullmatch(entry.name):
        return Claim(_moodle_learner(match), match["file"], entry.moment)
    return None


def _moodle_learner(match: re.Match) -> Identity:
    name = match["name"].strip()
    if name_key(name) in MOODLE_BLIND:
        return Identity("Moodle", NUMBER, match["number"], blind=True)
    return Identity("Moodle", NUMBER, match["number"], name)


def _canvas(entry: Entry, context: Context) -> Claim | None:
    match = CANVAS_FILE.fullmatch(entry.name)
    if not match:
        return None
    # Canvas's zip entries carry the time the zip was made, not the submission's: no time rather than a wrong one.
    return Claim(Identity("Canvas", NUMBER, match["user"], match["name"]), match["file"], None,
                 order=int(match["attachment"]), note="marked LATE by Canvas" if match["late"] else "")


def _brightspace(entry: Entry, context: Context) -> Claim | None:
    for part in entry.parts[:-1]:
        if (match := BRIGHTSPACE_NAME.fullmatch(part)) and not match["file"]:
            return _brightspace_claim(match, entry, entry.name, context.zone)
    if (match := BRIGHTSPACE_NAME.fullmatch(entry.name)) and match["file"]:
        return _brightspace_claim(match, entry, match["file"], context.zone)
    return None


def _brightspace_claim(match: re.Match, entry: Entry, filename: str, zone: tzinfo | None) -> Claim:
    name = match["name"]
    if name.count(",") == 1:  # "Lovelace, Ada"
        last, first = name.split(",")
        name = f"{first.strip()} {last.strip()}"
    try:
        day = datetime.strptime(f"{match['month'][:3]} {match['day']} {match['year']}", "%b %d %Y")
        hour, minute = int(match["hhmm"][:-2]) % 12 + (12 if match["half"] == "PM" else 0), int(match["hhmm"][-2:])
        moment = to_utc(day.replace(hour=hour, minute=minute), zone)
    except ValueError:
        moment = entry.moment
    return Claim(Identity("Brightspace", NUMBER, match["user"], name), filename, moment,
                 order=int(match["submission"]))


def _blackboard(entry: Entry, context: Context) -> Claim | None:
    match = BLACKBOARD_NAME.fullmatch(entry.name)
    if not match:
        return None
    try:
        moment = to_utc(datetime.strptime(match["stamp"], "%Y-%m-%d-%H-%M-%S"), context.zone)
    except ValueError:
        moment = entry.moment
    return Claim(Identity("Blackboard", USERNAME, match["user"]), match["file"] or entry.name, moment)


def _nbgrader(entry: Entry, context: Context) -> Claim | None:
    for depth, part in enumerate(entry.parts[:-1]):
        match = EXCHANGE.fullmatch(part)
        named = parse_nbgrader(match["timestamp"]) if match else None
        if named:
            stamp = context.entries.get((*entry.parts[:depth + 1], "timestamp.txt"))
            return Claim(Identity("nbgrader", USERNAME, match["student"]), entry.name, _read_stamp(stamp) or named)
    return None


def _read_stamp(entry: Entry | None) -> datetime | None:
    try:
        return parse_nbgrader(entry.read().decode("utf-8", "replace")) if entry else None
    except Unreadable:
        return None


def _jupyterhub(entry: Entry, context: Context) -> Claim | None:
    folders = entry.parts[:-1]
    for depth, part in enumerate(folders):
        user = (part.removeprefix(HUB_PREFIX) if part.startswith(HUB_PREFIX)
                else folders[depth + 1] if part == "home" and depth + 1 < len(folders) else "")
        if user:
            return Claim(Identity("JupyterHub", USERNAME, user), entry.name, entry.moment)
    return None


def _by_name(entry: Entry, context: Context) -> Claim | str | None:
    folders = entry.parts[:-1]
    if any(name_key(part) == TEAMS_DRAFTS for part in folders):
        return "in Teams' \"Working files\": a draft the learner has not handed in"
    if len(folders) > context.learner_depth:
        return Claim(Identity.named("names", folders[context.learner_depth]), entry.name, entry.moment)
    recognised = recognise(PurePath(entry.name).stem, context.notebooks)
    if recognised and recognised.rest:
        return Claim(Identity.named("names", recognised.rest), entry.name, entry.moment)
    return None


MOODLE = Format("Moodle", "`<Name>_<number>_assignsubmission_file_` folders or file names", _moodle)
CANVAS = Format("Canvas", "`<name>[_LATE]_<user id>_<file id>_<file>` file names", _canvas)
BRIGHTSPACE = Format("Brightspace", "`<submission id>-<user id> - <Name> - <date>` folders or file names",
                            _brightspace)
BLACKBOARD = Format("Blackboard", "`<assignment>_<user>_attempt_<date>_<file>` file names", _blackboard)
NBGRADER = Format("nbgrader exchange", "`<student>+<assignment>+<timestamp>` folders", _nbgrader)
JUPYTERHUB = Format("JupyterHub home folders", "`jupyter-<user>/` or `home/<user>/` folders", _jupyterhub)
BY_NAME = Format("folders or names (Teams, Google Classroom, a folder per learner)",
                 "a folder per learner, or the learner's name before the notebook's (`Ada Lovelace - lab1.ipynb`)",
                 _by_name)
SPECIFIC = (MOODLE, CANVAS, BRIGHTSPACE, BLACKBOARD, NBGRADER, JUPYTERHUB)


def sort_out(entries: list[Entry], notebooks: list[str], zone: tzinfo | None) -> Sorted:
    """The learners' notebooks of a download, and what else it holds with why it is skipped."""
    context = Context(tuple(notebooks), zone, {entry.parts: entry for entry in entries},
                      _learner_depth(entries, notebooks))
    form = detect(entries, context)
    found, skipped = [], []
    for entry in entries:
        if not entry.name.casefold().endswith(".ipynb"):
            skipped.append(Item(entry.path, "nbgrader's submission time, read" if form is NBGRADER
                                and entry.name == "timestamp.txt" else "not a notebook"))
            continue
        claim = form.identify(entry, context)
        if not isinstance(claim, Claim):
            skipped.append(Item(entry.path, claim or f"names no learner: {form.name} downloads put a learner's "
                                                     f"work in {form.layout}"))
            continue
        recognised = recognise(PurePath(claim.filename).stem, notebooks)
        if recognised is None:
            skipped.append(Item(entry.path, f"{claim.identity}: names no released notebook "
                                            f"({', '.join(sorted(notebooks))}): rename it to collect it"))
            continue
        found.append(Found(entry, claim.identity, recognised.notebook, recognised.revision, claim.moment,
                           claim.order, claim.note))
    return Sorted(form.name, found, skipped)


def detect(entries: list[Entry], context: Context) -> Format:
    """The format whose conventions claim the most files (the first listed on a tie); names only if none."""
    counts = [sum(isinstance(form.identify(entry, context), Claim) for entry in entries) for form in SPECIFIC]
    best = max(range(len(SPECIFIC)), key=counts.__getitem__)
    return SPECIFIC[best] if counts[best] else BY_NAME


def _learner_depth(entries: list[Entry], notebooks: list[str]) -> int:
    """How many wrapper folders (a top folder, Teams' `Student Work/Submitted files/`, a Drive zip's folder)
    every file of a folder-per-learner download sits in: the folders all files share, less the last when the
    notebooks right in it all name no learner (that folder is then the only learner's: `ada/lab1.ipynb`)."""
    handed_in = [entry for entry in entries if not any(name_key(part) == TEAMS_DRAFTS for part in entry.parts)]
    folders = [entry.parts[:-1] for entry in handed_in] or [()]
    low, high = min(folders), max(folders)  # what they all share, the first and last in order share
    depth = next((index for index, (one, other) in enumerate(zip(low, high, strict=False)) if one != other),
                 len(low))
    inside = [recognise(PurePath(entry.name).stem, notebooks) for entry in handed_in
              if len(entry.parts) - 1 == depth and entry.name.casefold().endswith(".ipynb")]
    recognised = [item for item in inside if item]
    return depth - 1 if depth and recognised and not any(item.rest for item in recognised) else depth
