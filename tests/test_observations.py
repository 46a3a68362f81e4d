"""`factorylab observe`: a trainer's or jury's decision on a criterion, kept in the course's database beside
nbgrader's gradebook, refused with a clear message when it names what does not exist."""

import argparse
from datetime import date, timedelta

import pytest
from example_course import copy_course, shared_example_course
from sqlalchemy import create_engine, inspect

from autograde import cli
from autograde.catalogue import load_catalogue
from autograde.errors import AutogradeError, EvaluationError, GradebookError
from autograde.observations import import_observations, read_observations, record_observation

OUTSIDE = next(key for key, criterion in load_catalogue().criteria.items() if criterion.assessment == "outside")


@pytest.fixture
def course(tmp_path_factory, tmp_path):
    return copy_course(shared_example_course(tmp_path_factory), tmp_path / "course")


def test_a_decision_is_kept_in_the_gradebook_s_database_and_read_back(course):
    saved = record_observation(learner="dave", criterion=OUTSIDE, decision="acquired", context="oral",
                               evidence="Defended the strategy before the jury", assessor="M. Leroy",
                               observed_on=date(2024, 6, 12), course_dir=course.root)
    assert saved.id is not None and saved.recorded_at is not None
    engine = create_engine(course.db_url)
    assert {"factorylab_observation", "grade", "student"} <= set(inspect(engine).get_table_names())
    engine.dispose()
    [read] = read_observations(course.db_url)["dave"][OUTSIDE]
    assert (read.decision, read.context, read.assessor, read.observed_on, read.evidence) == (
        "acquired", "oral", "M. Leroy", date(2024, 6, 12), "Defended the strategy before the jury")


def test_a_later_decision_comes_first_and_none_is_lost(course):
    for decision, day in (("acquired", date(2024, 6, 1)), ("not_acquired", date(2024, 6, 20))):
        record_observation(learner="bob", criterion=OUTSIDE, decision=decision, evidence="seen", assessor="A",
                           observed_on=day, course_dir=course.root)
    assert [o.decision for o in read_observations(course.db_url)["bob"][OUTSIDE]] == ["not_acquired", "acquired"]


@pytest.mark.parametrize(("change", "message"), [
    ({"learner": "zoe"}, r"learner 'zoe' is not in the gradebook .*\(learners: alice, bob, carol, dave\)"),
    ({"criterion": "Cr9.9.9"}, r"criterion: unknown criterion key 'Cr9\.9\.9'"),
    ({"decision": "maybe"}, "decision 'maybe': must be one of acquired, not_acquired"),
    ({"context": "rumour"}, "context 'rumour': must be one of observation, oral, document, in_company"),
    ({"evidence": "  "}, "evidence: say in words what was observed"),
    ({"assessor": ""}, "assessor: name who decided"),
    ({"observed_on": date.today() + timedelta(days=3)}, "is in the future"),
])
def test_a_decision_naming_what_does_not_exist_is_refused_and_nothing_is_kept(course, change, message):
    values = {"learner": "dave", "criterion": OUTSIDE, "decision": "acquired", "evidence": "E1, section 2",
              "assessor": "Jury"} | change
    with pytest.raises(EvaluationError, match=message):
        record_observation(course_dir=course.root, **values)
    assert read_observations(course.db_url) == {}


def test_no_gradebook_no_decision(tmp_path):
    with pytest.raises(GradebookError, match="gradebook not found"):
        record_observation(learner="dave", criterion=OUTSIDE, decision="acquired", evidence="x", assessor="y",
                           course_dir=tmp_path)
    assert not (tmp_path / "gradebook.db").exists()


def test_a_sheet_from_french_excel_is_recorded_all_or_none(course, tmp_path):
    good = tmp_path / "jury.csv"
    good.write_bytes(("learner;criterion;decision;evidence;assessor;context;date\r\n"
                      f"dave;{OUTSIDE};acquired;Document E1, p. 4 : stratégie claire;Mme Durand;document;2024-06-12\r\n"
                      f"alice;{OUTSIDE};not_acquired;Oral : pas d'objectifs chiffrés;Mme Durand;oral;\r\n"
                      ).encode("cp1252"))
    assert len(import_observations(good, course_dir=course.root)) == 2
    recorded = read_observations(course.db_url)
    assert recorded["dave"][OUTSIDE][0].evidence == "Document E1, p. 4 : stratégie claire"
    assert recorded["alice"][OUTSIDE][0].observed_on == date.today()
    bad = tmp_path / "bad.csv"
    bad.write_text("learner,criterion,decision,evidence,assessor\n"
                   f"bob,{OUTSIDE},acquired,Seen at work,Tutor\n"
                   f"zoe,{OUTSIDE},acquired,Seen at work,Tutor\n"
                   f"bob,{OUTSIDE},yes,Seen at work,Tutor\n", encoding="utf-8")
    with pytest.raises(EvaluationError) as refused:
        import_observations(bad, course_dir=course.root)
    assert f"{bad}: line 3: learner 'zoe'" in str(refused.value)
    assert f"{bad}: line 4: decision 'yes'" in str(refused.value)
    assert "bob" not in read_observations(course.db_url)  # the good line of a refused sheet is not kept


def test_a_sheet_without_the_columns_is_refused(course, tmp_path):
    sheet = tmp_path / "x.csv"
    sheet.write_text("learner,criterion\ndave,Cr1.1.1\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"lacks the column\(s\) decision, evidence, assessor"):
        import_observations(sheet, course_dir=course.root)


def _run(*argv) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.handler(args)


def test_the_command_records_a_decision(course, capsys):
    assert _run("observe", "dave", OUTSIDE, "acquired", "--context", "in_company", "--assessor", "Tutor",
                "--evidence", "Led the weekly review", "--date", "2024-05-02", "--course", str(course.root)) == 0
    assert f"recorded: dave {OUTSIDE} acquired (in_company, 2024-05-02, Tutor)" in capsys.readouterr().out
    with pytest.raises(EvaluationError, match="evidence: say in words"):
        _run("observe", "dave", OUTSIDE, "acquired", "--assessor", "Tutor", "--course", str(course.root))
    with pytest.raises(AutogradeError, match="--date 2 May: not a date: write it YYYY-MM-DD"):
        _run("observe", "dave", OUTSIDE, "acquired", "--date", "2 May", "--course", str(course.root))
    with pytest.raises(AutogradeError, match="observe: give LEARNER CRITERION acquired"):
        _run("observe", "dave", "--course", str(course.root))
