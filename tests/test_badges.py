"""Open Badges 3.0 export: one unsigned OpenBadgeCredential per learner x acquired criterion."""

import json

import pytest
from example_course import HIDDEN_MARKER, shared_example_course

from autograde.badges import CONTEXT, Issuer, credential
from autograde.catalogue import load_catalogue
from autograde.competency import build_report, learner_statuses, read_gradebook
from autograde.criteria_tags import load_tagged_cells


@pytest.fixture(scope="session")
def course(tmp_path_factory):
    return shared_example_course(tmp_path_factory)


@pytest.fixture(scope="module")
def badges_dir(course, tmp_path_factory):
    out = tmp_path_factory.mktemp("badges_report")
    build_report(course_dir=course.root, labs_dir=course.labs_dir, out_dir=out)
    return out / "badges"


def test_a_badge_is_an_open_badges_3_credential_aligned_on_the_criterion(badges_dir):
    catalogue = load_catalogue()
    criterion = catalogue.criteria["CCPM-C1-MO2"]
    badge = json.loads((badges_dir / "alice" / "CCPM-C1-MO2.json").read_text(encoding="utf-8"))
    assert badge["@context"] == CONTEXT == [
        "https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert badge["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert "proof" not in badge  # unsigned: the LMS signs
    assert badge["validFrom"] == "2024-03-01T10:00:00Z"  # the submission's time, not the build's
    subject = badge["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["identifier"][0]["identityHash"] == "alice"
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"]
    assert achievement["criteria"]["narrative"] == criterion.text_fr
    [alignment] = achievement["alignment"]
    assert alignment["targetCode"] == alignment["targetName"] == "CCPM-C1-MO2"
    assert alignment["targetFramework"] == catalogue.referentials["ccpm_iiot"].title_fr
    assert alignment["targetUrl"].startswith("urn:factorylab:criterion:ccpm_iiot:")
    assert [item["name"] for item in badge["evidence"]] == ["lab_demo/demo_mean_rate_test", "lab_demo/demo_explain"]
    assert badge["evidence"][0]["narrative"] == "2 / 2 points (auto)"


def test_only_acquired_criteria_become_badges(badges_dir):
    assert sorted(path.name for path in (badges_dir / "carol").iterdir()) == ["CCPM-C1-M1.json"]
    assert sorted(path.name for path in badges_dir.iterdir()) == ["alice", "carol"]


def test_badges_carry_statements_not_test_code(badges_dir):
    for path in badges_dir.rglob("*.json"):
        assert HIDDEN_MARKER not in path.read_text(encoding="utf-8")


def test_the_same_gradebook_gives_the_same_badges(course, badges_dir, tmp_path):
    build_report(course_dir=course.root, labs_dir=course.labs_dir, out_dir=tmp_path)
    for path in badges_dir.rglob("*.json"):
        assert (tmp_path / "badges" / path.relative_to(badges_dir)).read_bytes() == path.read_bytes()


def test_a_status_other_than_acquired_is_refused(course):
    catalogue = load_catalogue()
    cells = load_tagged_cells(course.labs_dir, catalogue)
    bob = next(learner for learner in read_gradebook(course.db_url, cells) if learner.learner == "bob")
    status = next(s for s in learner_statuses(bob, cells, catalogue, lambda *_: course.root / "none")
                  if s.criterion.key == "CCPM-C1-M1")
    with pytest.raises(ValueError, match="only acquired criteria become badges, not not_acquired"):
        credential(status, catalogue.referentials["ccpm_iiot"], Issuer(), status.submitted_at)
