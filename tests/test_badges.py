"""Open Badges 3.0: one signed credential per learner x acquired criterion, valid against 1EdTech's schema.

Every badge the report writes is checked against the official JSON Schema kept in autograde/schemas/ and
verified against the course's key; the settings tests write badges for the example course's statuses into
their own course folder (key, badges.toml), so they never change the shared example course.
"""

import base64
import dataclasses
import hashlib
import json
import logging
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from pathlib import Path

import pytest
from example_course import HIDDEN_MARKER, shared_example_course

from autograde import cli
from autograde.badge_settings import load_badge_settings
from autograde.badge_signing import did_web_url, key_path, sign, signing_key
from autograde.badges import CONTEXT, credential, schema_errors, verify_badge, write_badges
from autograde.catalogue import load_catalogue
from autograde.competency import build_report, learner_statuses, read_gradebook
from autograde.criteria_tags import load_tagged_cells
from autograde.errors import BadgeError

WEB_ISSUER = "did:web:formation.example.fr:factorylab"


@pytest.fixture(scope="session")
def course(tmp_path_factory):
    return shared_example_course(tmp_path_factory)


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def report(course, tmp_path_factory):
    out = tmp_path_factory.mktemp("badges_report")
    build_report(course_dir=course.root, labs_dir=course.labs_dir, out_dir=out, language="en")  # badges: French
    return out / "badges"


@pytest.fixture(scope="module")
def statuses(course, catalogue) -> list:
    """Every learner's status on every criterion, as the report computes them."""
    cells = load_tagged_cells(course.labs_dir, catalogue)
    return [status for learner in read_gradebook(course.db_url, cells)
            for status in learner_statuses(learner, cells, catalogue, lambda *_: course.root / "none")]


def _issue(statuses, catalogue, course_dir: Path, settings: str | None = None) -> Path:
    """Badges of the example statuses signed by the course at `course_dir` (with these badges.toml settings)."""
    course_dir.mkdir(parents=True, exist_ok=True)
    if settings is not None:
        (course_dir / "badges.toml").write_text(settings, encoding="utf-8")
    out = course_dir / "badges"
    write_badges(statuses, catalogue, out, course_dir=course_dir)
    return out


def test_every_badge_written_is_valid_against_the_official_schema_and_verifies(report):
    badges = sorted(report.rglob("*.jwt"))
    assert [path.relative_to(report).as_posix() for path in badges] == [
        "alice/CCPM-C1-M1.jwt", "alice/CCPM-C1-MO1.jwt", "alice/CCPM-C1-MO2.jwt", "carol/CCPM-C1-M1.jwt"]
    for path in badges:
        readable = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        assert schema_errors(readable) == [], path
        signed = verify_badge(path)  # signature, claims and schema
        assert signed == readable, f"{path}: the signed credential differs from the readable one"


def test_the_schema_check_rejects_what_validators_reject(report):
    badge = json.loads((report / "alice" / "CCPM-C1-M1.json").read_text(encoding="utf-8"))
    badge["credentialSubject"]["identifier"][0]["identityType"] = "studentId"  # factorylab's old, invalid type
    assert any("identityType" in error for error in schema_errors(badge))
    del badge["issuer"]
    assert any("'issuer' is a required property" in error for error in schema_errors(badge))


def test_a_badge_is_a_french_credential_on_one_criterion_with_its_evidence(report, catalogue):
    criterion = catalogue.criteria["CCPM-C1-MO2"]
    badge = json.loads((report / "alice" / "CCPM-C1-MO2.json").read_text(encoding="utf-8"))
    assert badge["@context"] == CONTEXT
    assert badge["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert badge["id"].startswith("urn:uuid:")
    achievement = badge["credentialSubject"]["achievement"]
    assert achievement["inLanguage"] == "fr"
    assert achievement["name"] == "CCPM-C1-MO2 — Préparer les données"
    assert achievement["description"] == achievement["criteria"]["narrative"] == criterion.text_fr
    assert badge["name"].startswith("Critère CCPM-C1-MO2 acquis")
    assert achievement["image"]["id"].startswith("data:image/svg+xml;base64,")
    assert [item["name"] for item in badge["evidence"]] == ["lab_demo/demo_mean_rate_test", "lab_demo/demo_explain"]
    assert badge["evidence"][0]["narrative"] == "2 / 2 points (correction automatique, remis le 01/03/2024)"


def test_the_learner_is_hashed_with_a_salt_and_has_a_stable_subject_id(report):
    alice = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((report / "alice").glob("*.json"))]
    carol = json.loads((report / "carol" / "CCPM-C1-M1.json").read_text(encoding="utf-8"))
    for badge in [*alice, carol]:
        text = json.dumps(badge)
        assert '"alice"' not in text and '"carol"' not in text, "the learner id must not appear in clear"
    [identity] = alice[0]["credentialSubject"]["identifier"]
    assert identity["hashed"] is True and identity["identityType"] == "identifier"
    assert identity["identityHash"] == "sha256$" + hashlib.sha256(("alice" + identity["salt"]).encode()).hexdigest()
    subjects = {badge["credentialSubject"]["id"] for badge in alice}
    assert len(subjects) == 1 and subjects.pop().startswith("urn:uuid:")
    assert carol["credentialSubject"]["id"] != alice[0]["credentialSubject"]["id"]


def test_each_issuance_has_its_own_id_and_salt_but_the_same_subject(statuses, catalogue, tmp_path):
    out = _issue(statuses, catalogue, tmp_path / "course")
    one = json.loads((out / "alice" / "CCPM-C1-M1.json").read_text())
    _issue(statuses, catalogue, tmp_path / "course")  # the same course: the same key and secret
    two = json.loads((out / "alice" / "CCPM-C1-M1.json").read_text())
    assert one["id"] != two["id"]
    assert one["credentialSubject"]["identifier"][0]["salt"] != two["credentialSubject"]["identifier"][0]["salt"]
    assert one["credentialSubject"]["id"] == two["credentialSubject"]["id"]
    assert one["credentialSubject"]["achievement"]["id"] == two["credentialSubject"]["achievement"]["id"]


def test_only_acquired_criteria_graded_in_the_sandbox_become_badges(report, statuses, catalogue, tmp_path):
    assert sorted(path.name for path in report.iterdir() if path.is_dir()) == ["alice", "carol"]
    assert sorted(path.name for path in (report / "carol").glob("*.jwt")) == ["CCPM-C1-M1.jwt"]
    unsandboxed = [dataclasses.replace(status, unsandboxed=True) if status.learner == "carol" else status
                   for status in statuses]
    out = _issue(unsandboxed, catalogue, tmp_path / "course")
    assert not (out / "carol").exists(), "no badge rests on evidence graded without the sandbox"
    assert (out / "alice" / "CCPM-C1-M1.jwt").is_file()


def test_a_status_other_than_acquired_is_refused(statuses, catalogue, tmp_path):
    status = next(s for s in statuses if s.learner == "bob" and s.criterion.key == "CCPM-C1-M1")
    with pytest.raises(ValueError, match="only acquired criteria become badges, not not_acquired"):
        credential(status, catalogue, None, status.submitted_at)


def test_badges_carry_statements_not_test_code_nor_machine_paths(report, course):
    for path in report.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert HIDDEN_MARKER not in text, path
            assert str(course.root) not in text and str(report) not in text, f"{path}: a machine path leaks"


def test_the_signing_key_is_the_course_s_owner_only(course, report):
    path = key_path(course.root)
    assert path.is_file() and path.stat().st_mode & 0o777 == 0o600
    badge = json.loads((report / "alice" / "CCPM-C1-M1.json").read_text(encoding="utf-8"))
    assert badge["issuer"]["id"].startswith("did:key:z6Mk"), "without settings the issuer is the key's did:key"


def test_an_exposed_key_is_refused(tmp_path):
    signing_key(tmp_path)
    key_path(tmp_path).chmod(0o640)
    with pytest.raises(BadgeError, match=r"badge-key.pem: readable by others \(mode 640\); `chmod 600"):
        signing_key(tmp_path)


def test_a_tampered_badge_or_another_key_s_signature_does_not_verify(report, tmp_path):
    path = report / "alice" / "CCPM-C1-M1.jwt"
    header, payload, signature = path.read_text().strip().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["achievement"]["humanCode"] = "CCPM-C3-M1"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    (tmp_path / "forged.jwt").write_text(f"{header}.{forged}.{signature}")
    with pytest.raises(BadgeError, match=r"forged\.jwt: the signature does not verify with the issuer's key"):
        verify_badge(tmp_path / "forged.jwt")
    readable = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    (tmp_path / "other.jwt").write_text(sign(readable, signing_key(tmp_path / "another_course")))
    with pytest.raises(BadgeError, match="the signature does not verify"):
        verify_badge(tmp_path / "other.jwt")


def test_a_did_web_issuer_gets_a_did_document_to_publish_and_verifies_with_it(statuses, catalogue, tmp_path):
    out = _issue(statuses, catalogue, tmp_path / "course",
                 f'[issuer]\nid = "{WEB_ISSUER}"\nname = "Centre de formation"\nurl = "https://formation.example.fr/"\n')
    document = json.loads((out / "did.json").read_text())
    assert document["id"] == WEB_ISSUER
    [method] = document["verificationMethod"]
    assert method["id"] == document["assertionMethod"][0] == f"{WEB_ISSUER}#key-1"
    assert set(method["publicKeyJwk"]) == {"kty", "crv", "x"}, "the public key only, never the private part"
    assert did_web_url(WEB_ISSUER) == "https://formation.example.fr/factorylab/did.json"
    assert did_web_url("did:web:formation.example.fr") == "https://formation.example.fr/.well-known/did.json"
    badge = out / "alice" / "CCPM-C1-M1.jwt"
    issuer = verify_badge(badge, out / "did.json")["issuer"]
    assert issuer == {"id": WEB_ISSUER, "type": ["Profile"], "name": "Centre de formation",
                      "url": "https://formation.example.fr/"}
    with pytest.raises(BadgeError, match=r"published at https://formation.example.fr/factorylab/did.json: pass it"):
        verify_badge(badge)
    other = _issue(statuses, catalogue, tmp_path / "impostor", f'[issuer]\nid = "{WEB_ISSUER}"\n')
    with pytest.raises(BadgeError, match="the signature does not verify"):
        verify_badge(badge, other / "did.json")


def test_certification_numbers_align_badges_with_the_official_fiche(statuses, catalogue, tmp_path):
    out = _issue(statuses, catalogue, tmp_path / "course", '[certifications]\nccpm_iiot = "RS1234"\n')
    badge = json.loads((out / "alice" / "CCPM-C1-M1.json").read_text(encoding="utf-8"))
    certification, criterion = badge["credentialSubject"]["achievement"]["alignment"]
    assert certification == {"type": ["Alignment"], "targetType": "ceterms:Credential",
                             "targetName": catalogue.referentials["ccpm_iiot"].title_fr, "targetCode": "RS1234",
                             "targetFramework": "France Compétences",
                             "targetUrl": "https://www.francecompetences.fr/recherche/rs/1234/"}
    assert criterion["targetCode"] == "CCPM-C1-M1" and criterion["targetType"] == "ceasn:Competency"
    assert criterion["targetUrl"] == certification["targetUrl"]
    assert "RS1234" in (out / "alice" / "CCPM-C1-M1.html").read_text(encoding="utf-8")
    assert schema_errors(badge) == []


def test_without_a_number_a_badge_has_no_alignment_and_a_notice_names_the_setting(statuses, catalogue, tmp_path,
                                                                                  caplog):
    with caplog.at_level(logging.WARNING, logger="autograde.badges"):
        out = _issue(statuses, catalogue, tmp_path / "course", '[certifications]\nrncp_mnsi = "RNCP12345"\n')
    badge = json.loads((out / "alice" / "CCPM-C1-M1.json").read_text(encoding="utf-8"))
    assert "alignment" not in badge["credentialSubject"]["achievement"]
    assert "[certifications] ccpm_iiot = \"RNCP…\" or \"RS…\"" in caplog.text
    assert "rncp_mnsi" not in caplog.text
    assert "numéro RNCP/RS non renseigné" in (out / "alice" / "CCPM-C1-M1.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(("settings", "message"), [
    ('[issuer]\nid = "https://formation.example.fr/"\n', r"issuer.id = 'https://formation.example.fr/': write a did"),
    ('[certifications]\nccpm_iiot = "1234"\n', r"certifications.ccpm_iiot = '1234': write the France Compétences"),
    ('[certifications]\nccpm = "RS1234"\n', r"unknown setting certifications.ccpm \(allowed here: "
                                            r"certifications.ccpm_iiot, certifications.rncp_mnsi\)"),
    ('[issuer]\nname = "X"\nkey = "y"\n', r"unknown setting issuer.key"),
    ('[issuer\n', r"badges.toml: not valid TOML"),
])
def test_bad_settings_are_refused_naming_the_field(catalogue, tmp_path, settings, message):
    (tmp_path / "badges.toml").write_text(settings, encoding="utf-8")
    with pytest.raises(BadgeError, match=message):
        load_badge_settings(tmp_path, catalogue.referentials)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.targets += [value for name, value in attrs if name in ("href", "src") and value]


def test_each_badge_has_an_image_and_a_french_page_whose_links_resolve(report, catalogue):
    for page in [report / "index.html", *report.glob("*/*.html")]:
        text = page.read_text(encoding="utf-8")
        assert '<html lang="fr">' in text
        parser = _Links()
        parser.feed(text)
        local = [target for target in parser.targets if "://" not in target]
        assert local, page
        for target in local:
            assert (page.parent / target).is_file(), f"{page.name} links {target}, which does not exist"
    page = (report / "alice" / "CCPM-C1-MO2.html").read_text(encoding="utf-8")
    assert catalogue.criteria["CCPM-C1-MO2"].text_fr.replace("'", "&#39;") in page
    svg = ElementTree.parse(report / "alice" / "CCPM-C1-MO2.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert "CCPM-C1-MO2" in "".join(svg.itertext())


def test_the_verify_command_says_which_badges_verify(report, tmp_path, capsys):
    forged = tmp_path / "forged.jwt"
    forged.write_text((report / "carol" / "CCPM-C1-M1.jwt").read_text()[:-10] + "AAAAAAAAA\n")
    parser = cli.argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    good = report / "alice" / "CCPM-C1-M1.jwt"
    args = parser.parse_args(["verify-badge", str(good), str(forged)])
    assert args.handler(args) == 1
    out = capsys.readouterr().out
    assert f"valid     {good}: Critère CCPM-C1-M1 acquis" in out
    assert f"NOT VALID {forged}: the signature does not verify" in out
    args = parser.parse_args(["verify-badge", str(good)])
    assert args.handler(args) == 0
