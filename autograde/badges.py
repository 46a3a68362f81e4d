"""A learner's acquired criteria as signed Open Badges 3.0 credentials, to carry to a wallet, an LMS or a jury.

One `OpenBadgeCredential` per learner x acquired criterion, because an OB 3.0 credential's subject holds one
achievement: a wallet shows one badge per criterion, and a jury can accept or weigh each on its own. Only
acquired criteria get one, and none rests on evidence graded without the sandbox (`status.unsandboxed`).

For each badge `write_badges` writes, under `<out>/<learner>/`:
- `<key>.jwt`: the verifiable credential, signed as VC-JWT with the course's key (autograde/badge_signing.py);
  this is the file a learner imports into a wallet;
- `<key>.json`: the same credential, readable, valid against the official 1EdTech JSON Schema kept in
  `autograde/schemas/` (checked before anything is signed);
- `<key>.svg` and `<key>.html`: the badge's image and a page a person reads (autograde/badge_templates/).
and `index.html` (every badge issued), plus `did.json` when the issuer is a did:web (to publish).

What a credential says. Its `id` is a new `urn:uuid` at every issuance. The learner appears only as a salted
SHA-256 hash of their course identifier (`identityType` "identifier", OB 3.0's IdentityHash `sha256$...`) and
as `credentialSubject.id`, a `urn:uuid` derived from the course secret: the same learner keeps the same subject
in every badge of the course, and nobody without the secret can tell who it is. The achievement is the
criterion, in French (`inLanguage` fr): the official text as description and criteria narrative; when the course
settings give the certification's France Compétences number (autograde/badge_settings.py), it is aligned with
the certification's official fiche and with the criterion within it; without one, it carries no alignment and
a notice says which setting to add. The evidence lists the graded cells with what they check and their scores,
never test code.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import jsonschema

from autograde.badge_settings import BadgeSettings, fiche_url, load_badge_settings, settings_path
from autograde.badge_signing import did_document, did_key, did_web_url, sign, signing_key, verify
from autograde.errors import BadgeError
from autograde.secret import course_secret

if TYPE_CHECKING:  # competency writes the badges, so it imports this module
    from autograde.competency import CriterionStatus

CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
SCHEMA_PATH = Path(__file__).with_name("schemas") / "ob_v3p0_achievementcredential_schema.json"
SCHEMA_URL = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
TEMPLATES = Path(__file__).with_name("badge_templates")
IDENTITY_TYPE = "identifier"  # OB 3.0 IdentifierTypeEnum: the learner's identifier in the course (LMS identity)
MODES_FR = {"auto": "correction automatique", "manual": "correction par le formateur", "task": "tâche évaluée"}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Issuer:
    """Who signs a course's badges: its DID (did:web from the settings, else the key's did:key), its name and
    web address, the signing key, the course secret (for subject ids) and the certification numbers."""

    id: str
    name: str
    url: str | None
    key: object
    secret: bytes
    numbers: dict[str, str]

    @classmethod
    def for_course(cls, course_root: Path, settings: BadgeSettings) -> Issuer:
        key = signing_key(course_root)
        return cls(id=settings.issuer_id or did_key(key), name=settings.issuer_name, url=settings.issuer_url,
                   key=key, secret=course_secret(course_root), numbers=settings.numbers)

    def profile(self) -> dict:
        profile = {"id": self.id, "type": ["Profile"], "name": self.name}
        return {**profile, "url": self.url} if self.url else profile

    def subject_id(self, learner: str) -> str:
        """The learner's stable, unlinkable subject id in this course's badges."""
        digest = hmac.new(self.secret, f"badge-subject\0{learner}".encode(), hashlib.sha256).digest()
        return f"urn:uuid:{uuid.UUID(bytes=digest[:16], version=4)}"


@functools.cache
def schema_validator() -> jsonschema.protocols.Validator:
    """The official OB 3.0 AchievementCredential JSON Schema (autograde/schemas/README.md says where it is from)."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def schema_errors(document: dict) -> list[str]:
    """Where `document` breaks the official schema, one line per error (empty when valid)."""
    return [f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
            for error in schema_validator().iter_errors(document)]


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(
        ["html.j2", "svg.j2"]), undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _timestamp(moment: datetime) -> str:
    """An ISO 8601 UTC time; nbgrader's naive datetimes are UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat() + "Z"


def identity(learner: str) -> dict:
    """OB 3.0 IdentityObject of a learner: `sha256$` + SHA-256 of the identifier followed by a fresh salt."""
    salt = secrets.token_hex(16)
    return {"type": "IdentityObject", "identityType": IDENTITY_TYPE, "hashed": True,
            "identityHash": "sha256$" + hashlib.sha256((learner + salt).encode()).hexdigest(), "salt": salt}


def badge_image(criterion, referential, number: str | None) -> str:
    """The badge's SVG picture: the criterion's id and certification, readable at wallet-thumbnail size."""
    return _templates().get_template("badge.svg.j2").render(criterion=criterion, kind=referential.kind.upper(),
                                                            number=number)


def achievement(criterion, referential, catalogue, issuer: Issuer) -> dict:
    """The Achievement standing for one catalogue criterion, in French, aligned with the official fiche when the
    course gives the certification's number."""
    number = issuer.numbers.get(criterion.referential)
    outermost = next(iter(criterion.parents.values()), None)
    heading = catalogue.units[outermost].text_fr if outermost in catalogue.units else referential.title_fr
    svg = badge_image(criterion, referential, number)
    result = {
        "id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{issuer.id}/achievements/{criterion.key}')}",
        "type": ["Achievement"],
        "achievementType": "Competency",
        "name": f"{criterion.id} — {heading}",
        "description": criterion.text_fr,
        "criteria": {"narrative": criterion.text_fr},
        "humanCode": criterion.id,
        "inLanguage": "fr",
        "image": {"id": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(), "type": "Image",
                  "caption": f"Badge du critère {criterion.id}"},
    }
    if number:
        fiche = fiche_url(number)
        framework = f"{referential.title_fr} ({number})"
        result["alignment"] = [
            {"type": ["Alignment"], "targetType": "ceterms:Credential", "targetName": referential.title_fr,
             "targetCode": number, "targetFramework": "France Compétences", "targetUrl": fiche},
            {"type": ["Alignment"], "targetType": "ceasn:Competency", "targetName": criterion.id,
             "targetCode": criterion.id, "targetDescription": criterion.text_fr, "targetFramework": framework,
             "targetUrl": fiche},
        ]
    return result


def credential(status: CriterionStatus, catalogue, issuer: Issuer, issued: datetime) -> dict:
    """The OpenBadgeCredential saying that `status.learner` acquired `status.criterion` (unsigned)."""
    if status.status != "acquired":
        raise ValueError(f"{status.learner}: {status.criterion.key}: only acquired criteria become badges, "
                         f"not {status.status}")
    criterion = status.criterion
    referential = catalogue.referentials[criterion.referential]
    when = _timestamp(issued)
    submitted = f", remis le {status.submitted_at:%d/%m/%Y}" if status.submitted_at else ""
    return {
        "@context": CONTEXT,
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"Critère {criterion.id} acquis — {referential.title_fr}",
        "issuer": issuer.profile(),
        "validFrom": when,
        "awardedDate": when,
        "credentialSubject": {
            "id": issuer.subject_id(status.learner),
            "type": ["AchievementSubject"],
            "identifier": [identity(status.learner)],
            "achievement": achievement(criterion, referential, catalogue, issuer),
        },
        "evidence": [{
            "type": ["Evidence"],
            "name": f"{item.cell.lab}/{item.cell.grade_id}",
            "description": item.cell.checks,
            "narrative": f"{item.grade.score:g} / {item.grade.max_score:g} points "
                         f"({MODES_FR.get(item.cell.mode, item.cell.mode)}{submitted})",
        } for item in status.graded] + [{
            "type": ["Evidence"],
            "name": f"{observation.context} du {observation.observed_on:%d/%m/%Y}",
            "description": observation.evidence,
            "narrative": f"décision : {observation.decision}, par {observation.assessor}",
        } for observation in status.observations],
        "credentialSchema": [{"id": SCHEMA_URL, "type": "1EdTechJsonSchemaValidator2019"}],
    }


def unnumbered(settings: BadgeSettings, catalogue) -> list[str]:
    """The referentials whose certification has no number in the course settings: their badges are not aligned
    with the official fiche."""
    return [name for name in catalogue.referentials if name not in settings.numbers]


def write_badges(statuses: Iterable[CriterionStatus], catalogue, out_dir: Path, *, course_dir: Path,
                 now: datetime | None = None) -> list[Path]:
    """Issue a signed badge for every acquired criterion among `statuses` whose evidence was graded in the
    sandbox, signed with the key of the course at `course_dir` (see the module docstring for the files).
    Returns the files written. Raises BadgeError on bad course settings, BadgeError if a credential breaks the
    official schema (a bug: nothing is signed then)."""
    settings = load_badge_settings(course_dir, catalogue.referentials)
    missing = unnumbered(settings, catalogue)
    for name in missing:
        log.warning("%s: no France Compétences number in %s ([certifications] %s = \"RNCP…\" or \"RS…\"): its "
                    "badges are not aligned with the official fiche", catalogue.referentials[name].title_fr,
                    settings_path(course_dir), name)
    issuer = Issuer.for_course(course_dir, settings)
    issued = now or datetime.now(UTC)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, entries = [], []
    for status in statuses:
        if status.status != "acquired" or status.unsandboxed:
            continue
        document = credential(status, catalogue, issuer, issued)
        errors = schema_errors(document)
        if errors:
            raise BadgeError(f"{status.learner}/{status.criterion.key}: the credential breaks the Open Badges 3.0 "
                             f"schema ({'; '.join(errors[:3])})")
        written += _write_one(out_dir / status.learner / status.criterion.key, document, status, catalogue, issuer)
        entries.append((status, document))
    if issuer.id.startswith("did:web:"):
        path = out_dir / "did.json"
        path.write_text(json.dumps(did_document(issuer.id, issuer.key), indent=2) + "\n", encoding="utf-8")
        written.append(path)
        log.warning("publish %s at %s: wallets and verifiers find the badges' key there", path, did_web_url(issuer.id))
    index = out_dir / "index.html"
    index.write_text(_templates().get_template("badges_index.html.j2").render(
        entries=entries, issuer=issuer, did_web_url=did_web_url(issuer.id) if issuer.id.startswith("did:web:")
        else None, unnumbered=[catalogue.referentials[name] for name in missing]), encoding="utf-8")
    return [*written, index]


def _write_one(stem: Path, document: dict, status: CriterionStatus, catalogue, issuer: Issuer) -> list[Path]:
    stem.parent.mkdir(parents=True, exist_ok=True)
    referential = catalogue.referentials[status.criterion.referential]
    number = issuer.numbers.get(status.criterion.referential)
    paths = {suffix: stem.with_suffix(suffix) for suffix in (".json", ".jwt", ".svg", ".html")}
    paths[".json"].write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    paths[".jwt"].write_text(sign(document, issuer.key) + "\n", encoding="ascii")
    paths[".svg"].write_text(badge_image(status.criterion, referential, number), encoding="utf-8")
    paths[".html"].write_text(_templates().get_template("badge.html.j2").render(
        badge=document, learner=status.learner, criterion=status.criterion, referential=referential, number=number,
        fiche=fiche_url(number) if number else None, stem=stem.name), encoding="utf-8")
    return list(paths.values())


def verify_badge(path: Path, did_document: Path | None = None) -> dict:
    """The credential of the signed badge `path` (.jwt), once its signature verifies with the issuer's key (a
    did:key's own, or the one in the issuer's published `did_document`), its claims match it and it is valid
    against the official OB 3.0 schema. Raises BadgeError naming the file and what does not hold."""
    path = Path(path)
    try:
        token = path.read_text(encoding="ascii").strip()
        document = json.loads(Path(did_document).read_text(encoding="utf-8")) if did_document else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadgeError(f"{error.filename if isinstance(error, OSError) else path}: cannot be read ({error})") \
            from None
    try:
        document_credential = verify(token, document)
    except BadgeError as error:
        raise BadgeError(f"{path}: {error}") from None
    errors = schema_errors(document_credential)
    if errors:
        raise BadgeError(f"{path}: signed, but not an Open Badges 3.0 credential ({'; '.join(errors[:3])})")
    return document_credential
