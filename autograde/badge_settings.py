"""A course's badge settings: who issues its Open Badges, and the official number of each certification.

They live in `<course>/badges.toml`, beside nbgrader's files, because they belong to the training organisation
running the course, not to factorylab:

    [issuer]
    id = "did:web:formation.example.fr:factorylab"  # where the trainer publishes did.json (optional)
    name = "Centre de formation Exemple"
    url = "https://formation.example.fr/"            # optional

    [certifications]                                 # France Compétences numbers, from each official fiche
    ccpm_iiot = "RS1234"
    rncp_mnsi = "RNCP12345"

The RNCP/RS numbers are not printed in the referentials factorylab transcribes, so they are never guessed: a
certification without a number gets badges without an alignment to its fiche, and a notice says which setting
to add. Without `issuer.id` the issuer is the course key's own `did:key`, which resolves without any web server;
with a `did:web` the trainer publishes the `did.json` that `factorylab report` writes (course/guides/trainer.md).
A missing file means every default; unknown keys and malformed values are refused, naming the file and field.
"""

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from autograde.errors import BadgeError

SETTINGS_FILE = "badges.toml"
DEFAULT_ISSUER_NAME = "factorylab"
DID_WEB = re.compile(r"did:web:[A-Za-z0-9.-]+(%3A[0-9]+)?(:[A-Za-z0-9._~-]+)*")
CERTIFICATION_NUMBER = re.compile(r"(RNCP|RS)([0-9]+)")
FICHE_URL = "https://www.francecompetences.fr/recherche/{register}/{number}/"


@dataclass(frozen=True)
class BadgeSettings:
    """`issuer_id` None means the course key's did:key; `numbers` maps a referential's name to its
    France Compétences number (e.g. "RNCP12345")."""

    issuer_id: str | None = None
    issuer_name: str = DEFAULT_ISSUER_NAME
    issuer_url: str | None = None
    numbers: dict[str, str] = field(default_factory=dict)


def settings_path(course_root: Path) -> Path:
    return Path(course_root) / SETTINGS_FILE


def fiche_url(number: str) -> str:
    """The certification's official page in France Compétences' register (RNCP or RS), from its number."""
    match = CERTIFICATION_NUMBER.fullmatch(number)
    if match is None:
        raise BadgeError(f"certification number {number!r}: expected RNCP or RS followed by digits, e.g. RNCP12345")
    return FICHE_URL.format(register=match.group(1).lower(), number=match.group(2))


def load_badge_settings(course_root: Path, referentials) -> BadgeSettings:
    """The settings of the course at `course_root` (every default when it has no badges.toml); `referentials`
    are the catalogue's names a [certifications] key may take."""
    path = settings_path(course_root)
    if not path.is_file():
        return BadgeSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise BadgeError(f"{path}: not valid TOML ({error})") from None
    _only(path, "", data, {"issuer", "certifications"})
    issuer = _table(path, "issuer", data.get("issuer", {}))
    _only(path, "issuer.", issuer, {"id", "name", "url"})
    numbers = _table(path, "certifications", data.get("certifications", {}))
    _only(path, "certifications.", numbers, set(referentials))
    for name, number in numbers.items():
        if not isinstance(number, str) or CERTIFICATION_NUMBER.fullmatch(number) is None:
            raise BadgeError(f"{path}: certifications.{name} = {number!r}: write the France Compétences number as "
                             "printed on the certification's fiche, e.g. \"RNCP12345\" or \"RS1234\"")
    issuer_id = _text(path, "issuer.id", issuer.get("id"))
    if issuer_id is not None and DID_WEB.fullmatch(issuer_id) is None:
        raise BadgeError(f"{path}: issuer.id = {issuer_id!r}: write a did:web identifier of a site you publish on, "
                         "e.g. \"did:web:formation.example.fr\" or \"did:web:formation.example.fr:factorylab\" (or "
                         "remove it to use the course key's did:key)")
    url = _text(path, "issuer.url", issuer.get("url"))
    if url is not None and not url.startswith("https://"):
        raise BadgeError(f"{path}: issuer.url = {url!r}: the organisation's web address, starting with https://")
    return BadgeSettings(issuer_id=issuer_id, issuer_name=_text(path, "issuer.name", issuer.get("name"))
                         or DEFAULT_ISSUER_NAME, issuer_url=url, numbers=dict(numbers))


def _only(path: Path, prefix: str, table: dict, allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise BadgeError(f"{path}: unknown setting {prefix}{unknown[0]} (allowed here: "
                         f"{', '.join(prefix + key for key in sorted(allowed)) or 'none'})")


def _table(path: Path, name: str, value) -> dict:
    if not isinstance(value, dict):
        raise BadgeError(f"{path}: {name} must be a table ([{name}])")
    return value


def _text(path: Path, name: str, value) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise BadgeError(f"{path}: {name} must be a non-empty string")
    return value
