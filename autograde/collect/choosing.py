"""Which of a learner's files is placed, and under which learner id; never two people under one id.

Among the files of one learner (one identity) for one notebook, the latest is kept: by the LMS's time, then the
LMS's own order (Canvas's file ids, Brightspace's submission ids), then the copy revision (`lab1 (2)` after
`lab1 (1)` after `lab1`); the others are listed as superseded. The learner id comes from the roster when there
is one (who is not in it is refused), else from the identity (`Identity.default_id`). When two identities
would get one learner id (two "Jean Martin", Zoé and Zoë, a name and a number for one person), each of
their files is refused, naming both and where they come from: merging them could grade one person on
another's work.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from autograde.collect.formats import Found
from autograde.collect.identity import Identity
from autograde.collect.outcome import Item
from autograde.collect.roster import Roster, RosterMiss

NO_TIME = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Chosen:
    """A learner's notebook to place, and the learner id it is filed under."""

    found: Found
    learner: str


@dataclass(frozen=True)
class Choice:
    """The notebooks to place, the older copies they supersede, and the notebooks refused with why."""

    chosen: list[Chosen]
    superseded: list[Item]
    refused: list[Item]


def choose(found: list[Found], roster: Roster | None) -> Choice:
    latest, superseded = _latest(found)
    learners, refused = {}, []
    for item in latest:
        if item.identity not in learners:
            learners[item.identity] = _learner(item.identity, roster)
    holders = defaultdict(list)
    for identity, learner in learners.items():
        if isinstance(learner, str) and learner:
            holders[learner].append(identity)
    chosen = []
    for item in latest:
        learner = learners[item.identity]
        if isinstance(learner, RosterMiss):
            refused.append(Item(item.entry.path, f"{item.identity}: {learner}"))
        elif not learner:
            refused.append(Item(item.entry.path, f"{item.identity}: the name gives no learner id (no letter or "
                                                 "digit): map it to one in a roster (--roster)"))
        elif others := [other for other in holders[learner] if other != item.identity]:
            refused.append(Item(item.entry.path, _collision(item, learner, others, latest)))
        else:
            chosen.append(Chosen(item, learner))
    return Choice(chosen, superseded, refused)


def _latest(found: list[Found]) -> tuple[list[Found], list[Item]]:
    groups = defaultdict(list)
    for item in found:
        groups[item.identity, item.notebook].append(item)
    latest, superseded = [], []
    for (identity, notebook), items in groups.items():
        items.sort(key=lambda item: (item.moment or NO_TIME, item.order, item.revision, item.entry.path), reverse=True)
        latest.append(items[0])
        superseded += [Item(older.entry.path, f"an older copy or resubmission of {notebook} by {identity}: the "
                                              f"latest is placed ({items[0].entry.path})") for older in items[1:]]
    return latest, superseded


def _learner(identity: Identity, roster: Roster | None) -> str | RosterMiss:
    if roster is None:
        return identity.default_id()
    try:
        return roster.match(identity).learner
    except RosterMiss as miss:
        return miss


def _collision(item: Found, learner: str, others: list[Identity], latest: list[Found]) -> str:
    sources = {other.identity: other.entry.path for other in latest}
    named = " and ".join(f"{other} ({sources[other]})" for other in others)
    return (f"{item.identity} and {named} would {'both' if len(others) == 1 else 'all'} be filed as {learner!r}: "
            "refused, never merged; give them distinct learner ids in a roster (--roster)")
