"""lab_twin_build: its checks grade archives, twin states, KPIs and predictions against the plant's truth, and
through the grader the lab loses the prediction points without synchronisation (tests/test_labs.py grades its
solution and blank release)."""

import sqlite3
from pathlib import Path

import nbformat
import pytest
from lab_grading import LabVersions, cell_by_id, grade_variants

from autograde.checks import lab_twin_build as checks

LAB = "lab_twin_build"
SOURCE = Path(__file__).resolve().parents[1] / "labs" / LAB / f"{LAB}.ipynb"
SOLUTION_CELLS = ("archive", "twin_state", "predict", "kpis")


@pytest.fixture(scope="module")
def solution(monkeypatch_module):
    """The source notebook's own solution functions (its imports cell, then its solution cells)."""
    notebook = nbformat.read(SOURCE, as_version=4)
    namespace: dict = {}
    setup = next(cell for cell in notebook.cells if cell.cell_type == "code")
    exec(compile(setup.source, f"{LAB}:setup", "exec"), namespace)
    for name in SOLUTION_CELLS:
        exec(compile(cell_by_id(notebook, f"{LAB}_{name}").source, f"{LAB}:{name}", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORYLAB_SEED", "7")
        yield patch


def unsynced(events, states, t_s) -> float:
    """A twin that never synchronises: the average shift output, whatever happened in this shift."""
    done = events[events["kind"] == "part_completed"]["t_s"]
    return len(done) / max(1, len({checks.shift_window(t)[0] for t in done}))


def _archive(tmp_path: Path, solution, schema: str | None = None) -> sqlite3.Connection:
    path = tmp_path / "archive.sqlite"
    if schema is None:
        return solution["create_archive"](path)
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    return conn


PLAIN_SCHEMA = """
CREATE TABLE events (timestamp TEXT, kind TEXT, machine TEXT, part_id INTEGER, product TEXT, reason TEXT);
CREATE TABLE states (timestamp TEXT, machine TEXT, state TEXT, reason TEXT);
"""


# --- what learners get -------------------------------------------------------------------------------


def test_the_mes_export_uses_the_live_streams_timestamps_and_identifies_each_event_once():
    events, states = checks.production_log(7, hours=8.0)
    assert events["timestamp"].iloc[0] == "2026-01-05T06:00:00.000Z"
    assert events["timestamp"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").all()
    key = ["timestamp", "kind", "machine", "part_id"]
    assert not events.fillna({"machine": "", "part_id": 0})[key].duplicated().any()
    assert set(states["state"]) <= {"running", "starved", "blocked", "down", "planned_stop"}


def test_shift_windows_follow_the_two_shift_calendar():
    assert checks.shift_window(3600.0) == (0.0, 28800.0)
    assert checks.shift_window(30000.0) == (28800.0, 57600.0)
    assert checks.shift_window(86400.0 + 60.0) == (86400.0, 115200.0)
    assert len(checks.week_shifts()) == 10


# --- archive ------------------------------------------------------------------------------------------


def test_the_solution_archive_passes_the_schema_check(tmp_path, solution):
    _archive(tmp_path, solution).close()
    checks.check_archive_schema(tmp_path / "archive.sqlite")


def test_an_archive_without_a_key_fails_on_the_repeated_event(tmp_path, solution):
    _archive(tmp_path, solution, PLAIN_SCHEMA).close()
    with pytest.raises(AssertionError, match="inserted twice was stored twice"):
        checks.check_archive_schema(tmp_path / "archive.sqlite")


def test_an_archive_that_accepts_any_event_kind_fails(tmp_path, solution):
    keyed = PLAIN_SCHEMA.replace("timestamp TEXT, kind", "timestamp TEXT NOT NULL, kind") + (
        "CREATE UNIQUE INDEX k ON events (timestamp, kind, ifnull(machine, ''), ifnull(part_id, 0));")
    _archive(tmp_path, solution, keyed).close()
    with pytest.raises(AssertionError, match="kind = 'part_teleported' was accepted"):
        checks.check_archive_schema(tmp_path / "archive.sqlite")


def test_a_backfilled_archive_is_complete_and_a_lost_or_doubled_event_is_reported(tmp_path, solution):
    until_s = 3000.0
    events, states = checks.production_log(7, hours=until_s / 3600.0 + 0.01)
    events, states = events[events["t_s"] <= until_s], states[states["t_s"] <= until_s]
    conn = _archive(tmp_path, solution)
    assert solution["backfill"](conn, events, states) > len(events)
    assert solution["backfill"](conn, events, states) == 0, "a second backfill stores nothing new"
    path = tmp_path / "archive.sqlite"
    checks.check_archive_complete(path, until_s, seed=7)
    conn.execute("DELETE FROM events WHERE rowid = 5")
    conn.commit()
    with pytest.raises(AssertionError, match=r"1 of the plant's .* events up to t=3000 s are missing"):
        checks.check_archive_complete(path, until_s, seed=7)
    conn.close()
    plain = tmp_path / "plain"
    plain.mkdir()
    doubled = _archive(plain, solution, PLAIN_SCHEMA)
    rows = events[["timestamp", "kind", "machine", "part_id", "product", "reason"]].astype(object)
    doubled.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                        rows.where(rows.notna(), None).itertuples(index=False))
    doubled.execute("INSERT INTO events SELECT * FROM events WHERE rowid <= 3")
    doubled.commit()
    with pytest.raises(AssertionError, match="3 event\\(s\\) stored more than once"):
        checks.check_archive_complete(plain / "archive.sqlite", until_s, seed=7)


# --- twin state, KPIs, predictions ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", [7, 11])
def test_the_solution_twin_state_and_kpis_match_the_plant(solution, seed):
    checks.check_twin_state(solution["twin_state"], seed)
    checks.check_shift_kpis(solution["shift_kpis"], seed)


def test_a_twin_that_keeps_finished_parts_at_their_station_fails(solution):
    def upstream_twin(events, states, t_s):
        state = solution["twin_state"](events, states, t_s)
        state["wip"] = {"saw": sum(state["wip"].values())}
        return state

    with pytest.raises(AssertionError, match="parts per station"):
        checks.check_twin_state(upstream_twin, 7)


def test_kpis_that_count_scrapped_parts_as_good_fail(solution):
    def generous(events, states, start_s, end_s):
        kpis = dict(solution["shift_kpis"](events, states, start_s, end_s))
        window = events[(events["t_s"] >= start_s) & (events["t_s"] <= end_s)]
        kpis["good_parts"] += int((window["kind"] == "part_scrapped").sum())
        return kpis

    with pytest.raises(AssertionError, match="good_parts"):
        checks.check_shift_kpis(generous, 7)


@pytest.mark.parametrize("seed", [7, 11])
def test_the_synchronised_twin_meets_the_budget_and_the_unsynchronised_one_does_not(solution, seed):
    checks.check_predictions(solution["predict_shift_output"], seed)
    with pytest.raises(AssertionError, match="the brief allows"):
        checks.check_predictions(unsynced, seed)


def test_the_sync_period_must_be_the_longest_within_budget(solution):
    predict = solution["predict_shift_output"]
    curve = checks.error_curve(predict, 7)
    budget = checks.error_budget(7)
    best = max(period_s for period_s, error in curve.items() if error <= budget)
    checks.check_sync_rate(predict, curve, best, seed=7)
    shorter = max(period_s for period_s in checks.SYNC_CANDIDATES_S if period_s < best)
    with pytest.raises(AssertionError, match="longest period within the budget"):
        checks.check_sync_rate(predict, curve, shorter, seed=7)
    wrong_curve = {period_s: error + 1.0 for period_s, error in curve.items()}
    with pytest.raises(AssertionError, match="error curve"):
        checks.check_sync_rate(predict, wrong_curve, best, seed=7)


# --- wrong answers through the grader (test_labs.py grades the solution and the blank release) -------------

UNSYNCED_PREDICTOR = '''
def predict_shift_output(events, states, t_s):
    """A twin that never synchronises: the average shift, whatever happened in this one."""
    done = events[events["kind"] == "part_completed"]["t_s"]
    return len(done) / max(1, len({shift_window(t)[0] for t in done}))
'''


def _never_synced(versions: LabVersions) -> nbformat.NotebookNode:
    """The solution with a twin that never synchronises."""
    cell_by_id(versions.source, f"{LAB}_predict").source += "\n" + UNSYNCED_PREDICTOR
    return versions.source


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_variants(tmp_path_factory.mktemp("twin_build_course"), LAB, {"never_synced": _never_synced})


@pytest.mark.slow
def test_a_twin_that_never_synchronises_loses_the_prediction_and_sync_rate_points(graded):
    never_synced = graded.auto_scores("never_synced")
    lost = {name for name, (score, top) in never_synced.items() if score < top}
    assert lost == {f"{LAB}_prediction_test", f"{LAB}_sync_rate_test"}, never_synced
    assert never_synced[f"{LAB}_prediction_test"][0] == 0
