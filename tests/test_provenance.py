"""What factorylab keeps beside nbgrader's tables, in SQLite and in PostgreSQL alike: each submission's grading
outcome (autograde/provenance.py) and the decisions recorded outside the labs (autograde/observations.py)."""

from datetime import date

import pytest
from example_course import _venv_on_path
from nbgrader.api import Gradebook
from postgres_fixtures import postgres_server, postgres_url  # noqa: F401  (fixtures)
from sqlalchemy import create_engine, text

from autograde.observations import read_observations, record_observation
from autograde.provenance import grading_records, record_grading, unsandboxed


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gradebook.db'}"
    return request.getfixturevalue("postgres_url")


def test_the_outcome_and_its_messages_are_kept_and_replaced_by_a_regrade(db_url):
    record_grading(db_url, "lab1", "ada", sandboxed=True, outcome="ungradable",
                   messages=["lab1.ipynb is not valid JSON (line 1: Expecting value) (scored zero)"])
    record_grading(db_url, "lab1", "bea", sandboxed=False, outcome="flagged", messages=["extra file: é.py"])
    records = grading_records(db_url)
    assert (records[("lab1", "ada")].outcome, records[("lab1", "ada")].messages) == (
        "ungradable", ("lab1.ipynb is not valid JSON (line 1: Expecting value) (scored zero)",))
    assert records[("lab1", "bea")].messages == ("extra file: é.py",)
    assert unsandboxed(db_url) == {("lab1", "bea")}
    record_grading(db_url, "lab1", "ada", sandboxed=True)  # graded again, readable now
    assert (grading_records(db_url)[("lab1", "ada")].outcome, grading_records(db_url)[("lab1", "ada")].messages) == (
        "ok", ())


def test_a_table_an_older_factorylab_wrote_gains_the_outcome_columns(db_url):
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE factorylab_grading (assignment VARCHAR(128), student VARCHAR(128), "
                                "sandboxed BOOLEAN NOT NULL, graded_at TIMESTAMP NOT NULL, "
                                "PRIMARY KEY (assignment, student))"))
        connection.execute(text("INSERT INTO factorylab_grading VALUES ('lab1', 'ada', false, '2024-03-01 10:00')"))
    engine.dispose()
    assert grading_records(db_url)[("lab1", "ada")].outcome == "ok"  # read as it was: no outcome recorded then
    assert unsandboxed(db_url) == {("lab1", "ada")}
    record_grading(db_url, "lab1", "bea", sandboxed=True, outcome="incident", messages=["timed out"])
    assert grading_records(db_url)[("lab1", "bea")].outcome == "incident"


def test_an_unknown_outcome_is_refused(tmp_path):
    with pytest.raises(ValueError, match="grading outcome 'great': must be one of ok, flagged, incident"):
        record_grading(f"sqlite:///{tmp_path / 'g.db'}", "lab1", "ada", sandboxed=True, outcome="great")


def test_decisions_are_kept_in_the_gradebook_s_database(db_url):
    with _venv_on_path(), Gradebook(db_url) as gradebook:  # nbgrader's own tables, as nbgrader creates them
        gradebook.add_assignment("lab1")
        gradebook.add_student("ada")
    record_observation(learner="ada", criterion="CCPM-C1-MO3", decision="acquired", context="observation",
                       evidence="Used the help to set the filter", assessor="R. Dupont",
                       observed_on=date(2024, 3, 12), db_url=db_url)
    [kept] = read_observations(db_url)["ada"]["CCPM-C1-MO3"]
    assert (kept.decision, kept.assessor, kept.observed_on) == ("acquired", "R. Dupont", date(2024, 3, 12))
