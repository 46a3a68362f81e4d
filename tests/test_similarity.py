"""`factorylab similarity`: copied answers and copies of the solution are listed, honest answers are not,
the released stubs never count, and an unreadable notebook is reported without stopping the comparison."""

import csv

import nbformat
import pytest

from autograde.course import Course
from autograde.similarity import CSV_COLUMNS, SOLUTION, SimilarityError, SuspiciousPair, similarity
from factorylab.cli import EXIT_BAD_INPUT, main

LAB = "lab_demo"
STUB = '''def count_defects(records):
    """How many records have a defect (a non-empty `defect` field)."""
    # YOUR CODE HERE
    raise NotImplementedError()
'''
SOLUTION_CODE = '''def count_defects(records):
    """How many records have a defect (a non-empty `defect` field)."""
    ### BEGIN SOLUTION
    defects = 0
    for record in records:
        if record.get("defect"):
            defects += 1
    return defects
    ### END SOLUTION
'''
ADA = '''def count_defects(records):
    """How many records have a defect (a non-empty `defect` field)."""
    by_station = {}
    for row in records:
        station = row["station"]
        if station not in by_station:
            by_station[station] = []
        by_station[station].append(row)
    total = 0
    for station, rows in by_station.items():
        faulty = [r for r in rows if r.get("defect") not in (None, "")]
        total = total + len(faulty)
    return total
'''
# Ada's answer with every name changed and her comment dropped: the same code to copydetect.
BEA = '''def count_defects(records):
    """How many records have a defect (a non-empty `defect` field)."""
    groups = {}
    for item in records:
        machine = item["station"]
        if machine not in groups:
            groups[machine] = []
        groups[machine].append(item)
    n = 0
    for machine, items in groups.items():
        bad = [x for x in items if x.get("defect") not in (None, "")]
        n = n + len(bad)
    return n
'''
CAROL = '''def count_defects(records):
    """How many records have a defect (a non-empty `defect` field)."""
    import collections
    kinds = collections.Counter(str(rec.get("defect") or "") for rec in records)
    kinds.pop("", None)
    return sum(kinds.values())
'''
# The solution, with its names changed.
DAN = '''def count_defects(records):
    """How many records have a defect (a non-empty `defect` field)."""
    count = 0
    for r in records:
        if r.get("defect"):
            count += 1
    return count
'''


def notebook(answer: str) -> str:
    """A lab notebook: a markdown cell, the answer cell (nbgrader `solution: true`) and a test cell."""
    cells = [
        nbformat.v4.new_markdown_cell("Count the defective parts."),
        nbformat.v4.new_code_cell(answer, metadata={"nbgrader": {
            "grade": False, "grade_id": "count_defects", "locked": False, "schema_version": 3, "solution": True}}),
        nbformat.v4.new_code_cell('assert count_defects([{"defect": "scratch"}, {"defect": ""}]) == 1',
                                  metadata={"nbgrader": {"grade": True, "grade_id": "count_defects_test",
                                                         "locked": True, "points": 1, "schema_version": 3,
                                                         "solution": False}}),
    ]
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells))


def write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def course(tmp_path) -> Course:
    """A hand-made nbgrader course: one lab's source and release, five learners' submissions (one broken)."""
    course = Course.at(tmp_path / "course")
    write(course.source / LAB / f"{LAB}.ipynb", notebook(SOLUTION_CODE))
    write(course.release / LAB / f"{LAB}.ipynb", notebook(STUB))
    for learner, answer in {"ada": ADA, "bea": BEA, "carol": CAROL, "dan": DAN}.items():
        write(course.submitted / learner / LAB / f"{LAB}.ipynb", notebook(answer))
    write(course.submitted / "eve" / LAB / f"{LAB}.ipynb", '{"cells": [')
    return course


def test_copied_answers_and_solution_copies_are_listed_honest_ones_are_not(course):
    report = similarity(course_dir=course.root)
    pairs = {(pair.learner, pair.other): pair for pair in report}
    assert ("ada", "bea") in pairs
    assert ("dan", SOLUTION) in pairs
    assert pairs[("ada", "bea")].similarity == pytest.approx(1.0, abs=0.05)
    assert all(pair.shared_fragments >= 1 and pair.lab == LAB for pair in report)
    assert not [pair for pair in report if "carol" in (pair.learner, pair.other)]
    assert [pair.score for pair in report] == sorted((pair.score for pair in report), reverse=True)


def test_an_unreadable_notebook_is_reported_and_the_others_still_compared(course):
    report = similarity(course_dir=course.root, labs=[LAB])
    assert [item.path for item in report.unreadable] == [course.submitted / "eve" / LAB / f"{LAB}.ipynb"]
    assert "JSON" in report.unreadable[0].reason
    assert any(pair.learner == "ada" for pair in report)


def test_the_released_stub_does_not_count(course):
    for learner in ("ada", "bea"):
        write(course.submitted / learner / LAB / f"{LAB}.ipynb", notebook(STUB))
    pairs = {(pair.learner, pair.other) for pair in similarity(course_dir=course.root, threshold=0.0)}
    assert ("ada", "bea") not in pairs


def test_an_unknown_lab_or_a_threshold_outside_0_1_is_refused(course):
    with pytest.raises(SimilarityError, match="no released lab 'lab_missing'"):
        similarity(course_dir=course.root, labs=["lab_missing"])
    with pytest.raises(SimilarityError, match=r"threshold 1\.5 "):
        similarity(course_dir=course.root, threshold=1.5)


def test_command_prints_the_pairs_and_writes_them_as_csv(course, tmp_path, capsys):
    out = tmp_path / "similarity.csv"
    assert main(["similarity", LAB, "--course", str(course.root), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ada" in printed and "bea" in printed and "carol" not in printed
    assert "not compared:" in printed and "eve" in printed
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert {(row["learner"], row["other"]) for row in rows} >= {("ada", "bea"), ("dan", SOLUTION)}


def test_command_refuses_an_unknown_lab_in_one_line(course, capsys):
    assert main(["similarity", "lab_missing", "--course", str(course.root)]) == EXIT_BAD_INPUT
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "lab_missing" in error[0]


def test_a_pair_names_the_lab_both_answers_and_the_shared_fragments():
    pair = SuspiciousPair(LAB, "ada", SOLUTION, similarity=0.4, other_similarity=0.9, shared_fragments=2)
    assert pair.score == 0.9
