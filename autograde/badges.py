"""A learner's acquired criteria as Open Badges 3.0 credentials, so results can travel to an LMS or a badge wallet.

One unsigned `OpenBadgeCredential` (JSON-LD) per learner x acquired criterion, because an Open Badges 3.0
credential's subject holds exactly one achievement: a wallet then shows one badge per criterion, and a jury
can accept or ignore each on its own. The credentials are unsigned: the LMS or the issuing platform signs them
(as a JWT or with a Data Integrity proof) under its own key, which factorylab does not hold.

Each credential's achievement is the criterion: its `criteria.narrative` is the official French text, and its
one `alignment` entry targets the criterion's printed ID (`targetCode`) in its referential (`targetFramework`
is the referential's title, `targetUrl` a URN naming referential and key, since the official registers give
criteria no web address). `validFrom` is the time of the latest submission among the evidence, so the same
gradebook gives the same files. Evidence lists the graded cells with what they check and their scores; never
test code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # competency writes the badges, so it imports this module
    from autograde.competency import CriterionStatus

CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]


@dataclass(frozen=True)
class Issuer:
    """Who issues the badges: `id` must be a URI (the training organisation's web address, or a URN)."""

    id: str = "urn:factorylab:issuer"
    name: str = "factorylab"


DEFAULT_ISSUER = Issuer()


def _timestamp(moment: datetime) -> str:
    """nbgrader stores naive UTC datetimes; an aware one is converted to UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat() + "Z"


def achievement(criterion, referential) -> dict:
    """The Open Badges 3.0 Achievement standing for one catalogue criterion."""
    return {
        "id": f"urn:factorylab:achievement:{criterion.referential}:{criterion.key}",
        "type": ["Achievement"],
        "achievementType": "Competency",
        "name": f"{criterion.id}: {criterion.text_en}",
        "description": criterion.text_en,
        "criteria": {"narrative": criterion.text_fr},
        "inLanguage": "fr",
        "alignment": [{
            "type": ["Alignment"],
            "targetName": criterion.id,
            "targetCode": criterion.id,
            "targetDescription": criterion.text_fr,
            "targetFramework": referential.title_fr,
            "targetType": "ceasn:Competency",
            "targetUrl": f"urn:factorylab:criterion:{criterion.referential}:{criterion.key}",
        }],
    }


def credential(status: CriterionStatus, referential, issuer: Issuer, valid_from: datetime) -> dict:
    """The unsigned OpenBadgeCredential saying that `status.learner` acquired `status.criterion`."""
    if status.status != "acquired":
        raise ValueError(f"{status.learner}: {status.criterion.key}: only acquired criteria become badges, "
                         f"not {status.status}")
    criterion = status.criterion
    return {
        "@context": CONTEXT,
        "id": f"urn:factorylab:credential:{status.learner}:{criterion.referential}:{criterion.key}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{criterion.id} ({referential.title_fr})",
        "issuer": {"id": issuer.id, "type": ["Profile"], "name": issuer.name},
        "validFrom": _timestamp(valid_from),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityType": "studentId", "hashed": False,
                            "identityHash": status.learner}],
            "achievement": achievement(criterion, referential),
        },
        "evidence": [{
            "type": ["Evidence"],
            "name": f"{item.cell.lab}/{item.cell.grade_id}",
            "description": item.cell.checks,
            "narrative": f"{item.grade.score:g} / {item.grade.max_score:g} points ({item.cell.mode})",
        } for item in status.graded],
    }


def write_badges(statuses: Iterable[CriterionStatus], catalogue, out_dir: Path, issuer: Issuer,
                 now: datetime) -> list[Path]:
    """Write `<out_dir>/<learner>/<criterion key>.json` for every acquired criterion whose evidence was graded in
    the sandbox (a grade obtained without it certifies nothing); `now` dates only the credentials whose
    submissions carry no time (nbgrader records none when timestamp.txt is missing)."""
    written = []
    for status in statuses:
        if status.status != "acquired" or status.unsandboxed:
            continue
        referential = catalogue.referentials[status.criterion.referential]
        document = credential(status, referential, issuer, status.submitted_at or now)
        path = Path(out_dir) / status.learner / f"{status.criterion.key}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
