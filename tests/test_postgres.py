"""A course whose gradebook is on a PostgreSQL server (the course's nbgrader_config.py names it): released,
graded, reported and exported exactly as with the SQLite file; the grading provenance and the jury's observations
kept there too."""

import csv
from datetime import date

import pytest
from example_course import CATALOGUE_CRITERIA, _venv_on_path
from grading_fixtures import (
    FAST_LIMITS,
    LAB,
    RIGHT_COUNTS,
    RIGHT_RATE,
    WRONG_RATE,
    answer,
    copy_course,
    released_notebook,
    submit,
)
from nbgrader.api import Gradebook
from postgres_fixtures import postgres_server, postgres_url  # noqa: F401  (fixtures)
from sqlalchemy import create_engine, inspect

from autograde.competency import build_report
from autograde.course import Course
from autograde.errors import GradeError
from autograde.export import export
from autograde.grade import grade
from autograde.observations import read_observations, record_observation
from autograde.provenance import record_grading, unsandboxed
from autograde.release import release


def _with_database(course_dir, url: str) -> Course:
    course_dir.mkdir(parents=True, exist_ok=True)
    (course_dir / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.db_url = {url!r}\n"
                                                   "c.CourseDirectory.course_id = 'industrie_4'\n")
    return Course.at(course_dir)


def _cohort(course: Course) -> None:
    released = released_notebook(course)
    submit(course, "ada", answer(released, rate_function=RIGHT_RATE, rate_counts=RIGHT_COUNTS,
                                 rate_explain="It resets at shift change."))
    submit(course, "bea", answer(released, rate_function=WRONG_RATE, rate_counts="counts = [1, 2]\n"))
    submit(course, "cem", answer(released, rate_function=RIGHT_RATE))


def _rows(course: Course) -> list[tuple]:
    with Gradebook(course.db_url) as gradebook:
        return sorted((student.id, grade.name, grade.auto_score, grade.max_score, grade.needs_manual_grade,
                       grade.failed_tests)
                      for student in gradebook.students
                      for notebook in gradebook.find_submission(LAB, student.id).notebooks
                      for grade in notebook.grades)


@pytest.fixture(scope="module")
def graded(grading_labs, released_course, postgres_server, tmp_path_factory):  # noqa: F811
    """The same cohort graded into PostgreSQL (released there, self-check included) and into SQLite."""
    root = tmp_path_factory.mktemp("postgres")
    server = _with_database(root / "server", postgres_server.create_database())
    with _venv_on_path():
        release(labs_dir=grading_labs, course_dir=server.root, limits=FAST_LIMITS)
    _cohort(server)
    server_outcomes = grade(course_dir=server.root, limits=FAST_LIMITS, progress=False)
    local = copy_course(released_course, root / "local")
    _cohort(local)
    grade(course_dir=local.root, limits=FAST_LIMITS, progress=False)
    return server, local, server_outcomes


def test_a_cohort_is_graded_into_postgresql_as_into_sqlite(graded):
    server, local, outcomes = graded
    assert server.db_url.startswith("postgresql+pg8000://")
    assert {outcome.status for outcome in outcomes} <= {"ok", "flagged"}
    assert _rows(server) == _rows(local)
    assert len(_rows(server)) == 3 * 3  # three learners, three graded cells
    assert not (server.root / "gradebook.db").exists(), "nothing went to a SQLite file"
    tables = set(inspect(create_engine(server.db_url)).get_table_names())
    assert {"grade", "submitted_assignment", "factorylab_grading"} <= tables


def test_the_competency_report_reads_the_postgresql_gradebook(graded, grading_labs, tmp_path):
    server, local, _ = graded
    build_report(course_dir=server.root, labs_dir=grading_labs, out_dir=tmp_path / "server")
    build_report(course_dir=local.root, labs_dir=grading_labs, out_dir=tmp_path / "local")
    server_rows = list(csv.DictReader((tmp_path / "server" / "competency.csv").open()))
    assert server_rows == list(csv.DictReader((tmp_path / "local" / "competency.csv").open()))
    assert {row["learner"] for row in server_rows} == {"ada", "bea", "cem"}
    cohort = (tmp_path / "server" / "cohort.html").read_text()
    assert all(learner in cohort for learner in ("ada", "bea", "cem"))


def test_the_grades_export_reads_the_postgresql_gradebook(graded, tmp_path):
    server, local, _ = graded
    export(course_dir=server.root, out_dir=tmp_path / "server")
    export(course_dir=local.root, out_dir=tmp_path / "local")
    for name in ("grades.csv", "cells.csv"):
        assert (tmp_path / "server" / name).read_text() == (tmp_path / "local" / name).read_text()
    assert "bea" in (tmp_path / "server" / "cells.csv").read_text()


def test_the_grading_provenance_is_kept_in_postgresql(postgres_url):  # noqa: F811
    record_grading(postgres_url, LAB, "ada", sandboxed=False)
    record_grading(postgres_url, LAB, "bea", sandboxed=True)
    assert unsandboxed(postgres_url) == {(LAB, "ada")}
    record_grading(postgres_url, LAB, "ada", sandboxed=True)  # graded again in the sandbox: the mark goes
    assert unsandboxed(postgres_url) == set()


def test_a_postgresql_url_without_an_installed_driver_is_a_one_line_error(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n"
                                                 "c.CourseDirectory.db_url = 'postgresql+nodriver://grader@/course'\n"
                                                 "c.CourseDirectory.course_id = 'industrie_4'\n")
    with pytest.raises(GradeError, match=r"nbgrader_config\.py: CourseDirectory\.db_url uses the PostgreSQL "
                                         r"driver 'nodriver', which is not installed: write the URL as "
                                         r"postgresql\+pg8000://"):
        Course.at(tmp_path)


def test_a_database_server_without_a_course_id_is_a_one_line_error(tmp_path, postgres_url):  # noqa: F811
    (tmp_path / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    with pytest.raises(GradeError, match=r"nbgrader_config\.py: a gradebook on a database server needs the course's "
                                         r"id: add c\.CourseDirectory\.course_id"):
        Course.at(tmp_path)


def test_a_course_without_nbgrader_config_keeps_its_sqlite_file(tmp_path):
    assert Course.at(tmp_path).db_url == f"sqlite:///{tmp_path.resolve() / 'gradebook.db'}"


def test_the_jurys_observations_are_kept_in_postgresql(postgres_url):  # noqa: F811
    """`factorylab observe`'s decisions (autograde/observations.py) go to the course's database server; a later
    decision supersedes an earlier one, and both stay."""
    with _venv_on_path(), Gradebook(postgres_url) as gradebook:
        gradebook.add_student("ada")
    for decision, day in (("not_acquired", date(2026, 3, 2)), ("acquired", date(2026, 3, 9))):
        record_observation(db_url=postgres_url, learner="ada", criterion=CATALOGUE_CRITERIA.manual_key,
                           decision=decision, evidence=f"Présentation orale du {day:%d/%m}.", assessor="Jury A",
                           context="oral", observed_on=day)
    decisions = read_observations(postgres_url)["ada"][CATALOGUE_CRITERIA.manual_key]
    assert [(o.decision, o.observed_on, o.assessor) for o in decisions] == [
        ("acquired", date(2026, 3, 9), "Jury A"), ("not_acquired", date(2026, 3, 2), "Jury A")]
