"""lab_twin_build: its verdicts judge archives, twin states, KPIs and predictions against the plant's truth on the
grader's side, and through the grader the lab loses the prediction points without synchronisation (tests/test_labs.py
grades its solution and blank release)."""

import sqlite3
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from lab_grading import LabVersions, cell_by_id, grade_variants, the_solution

from autograde.variants import Variant, practice_variant
from autograde.verdicts import Evidence, VerdictFailed
from autograde.verdicts import lab_twin_build as verdicts
from labkit import lab_twin_build as kit

LAB = "lab_twin_build"
SOURCE = Path(__file__).resolve().parents[1] / "labs" / LAB / f"{LAB}.ipynb"
SOLUTION_CELLS = ("archive", "twin_state", "predict", "kpis")
PRACTICE = practice_variant(LAB)
OTHER = Variant(LAB, "someone", 11)


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
        patch.delenv("FACTORYLAB_SEED", raising=False)
        patch.delenv("FACTORYLAB_VARIANT", raising=False)
        yield patch


def judge(grade_id: str, variant: Variant = PRACTICE, **artefacts) -> None:
    verdicts.VERDICTS.cells[f"{LAB}_{grade_id}"](Evidence(f"{LAB}_{grade_id}", artefacts), variant)


def unsynced(events, states, t_s) -> float:
    """A twin that never synchronises: the average shift output, whatever happened in this shift."""
    done = events[events["kind"] == "part_completed"]["t_s"]
    return len(done) / max(1, len({kit.shift_window(t)[0] for t in done}))


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
    events, states = kit.mes_export(8 * 3600.0, 7)
    assert events["timestamp"].iloc[0] == "2026-01-05T06:00:00.000Z"
    assert events["timestamp"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").all()
    key = ["timestamp", "kind", "machine", "part_id"]
    assert not events.fillna({"machine": "", "part_id": 0})[key].duplicated().any()
    assert set(states["state"]) <= {"running", "starved", "blocked", "down", "planned_stop"}
    assert events["t_s"].max() <= 8 * 3600.0


def test_shift_windows_follow_the_two_shift_calendar():
    assert kit.shift_window(3600.0) == (0.0, 28800.0)
    assert kit.shift_window(30000.0) == (28800.0, 57600.0)
    assert kit.shift_window(86400.0 + 60.0) == (86400.0, 115200.0)
    assert len(kit.week_shifts()) == 10


def test_the_graded_variant_gives_the_kernel_its_week_and_question_logs_cut_at_the_last_sync(tmp_path, monkeypatch):
    variant = Variant(LAB, "someone", 123456789)
    verdicts.prepare(variant, tmp_path)
    monkeypatch.setenv("FACTORYLAB_VARIANT", str(tmp_path))
    events, _ = kit.production_log()
    truth, _ = kit.mes_tables(kit.simulated_run(variant.seed))
    pd.testing.assert_frame_equal(events, truth)
    questions = kit.graded_input("questions", practice=list)
    assert questions == [{"synced_s": question["synced_s"]} for question in kit.prediction_questions(variant.seed)], \
        "no week seed reaches the kernel"
    question_events = kit.graded_input("question_events", practice=list)
    last = question_events.groupby("question")["t_s"].max()
    assert (last.to_numpy() <= [q["synced_s"] for q in questions]).all(), "no question's future reaches the kernel"
    assert not list(tmp_path.rglob("*truth*"))


# --- archive ------------------------------------------------------------------------------------------


def _schema(tmp_path, solution, schema=None):
    conn = _archive(tmp_path, solution, schema)
    declared = kit.archive_schema(conn)
    conn.close()
    return declared


def test_the_solution_archive_passes_the_schema_verdict(tmp_path, solution):
    judge("archive_schema_test", schema=_schema(tmp_path, solution))


def test_an_archive_without_a_key_fails_on_the_repeated_event(tmp_path, solution):
    with pytest.raises(VerdictFailed, match="inserted twice was stored twice"):
        judge("archive_schema_test", schema=_schema(tmp_path, solution, PLAIN_SCHEMA))


def test_an_archive_that_accepts_any_event_kind_fails(tmp_path, solution):
    keyed = PLAIN_SCHEMA.replace("timestamp TEXT, kind", "timestamp TEXT NOT NULL, kind") + (
        "CREATE UNIQUE INDEX k ON events (timestamp, kind, ifnull(machine, ''), ifnull(part_id, 0));")
    with pytest.raises(VerdictFailed, match="kind = 'part_teleported' was accepted"):
        judge("archive_schema_test", schema=_schema(tmp_path, solution, keyed))


def test_a_schema_that_attaches_a_file_or_loops_is_refused_without_touching_the_grader(tmp_path):
    attach = [{"type": "table", "name": "events", "tbl_name": "events",
               "sql": f"CREATE TABLE events (x); ATTACH '{tmp_path / 'leak.db'}' AS leak"}]
    with pytest.raises(VerdictFailed, match="cannot be rebuilt"):
        judge("archive_schema_test", schema=attach)
    assert not (tmp_path / "leak.db").exists()
    tables = [{"type": "table", "name": name, "tbl_name": name, "sql": f"CREATE TABLE {name} (timestamp, kind, "
               "machine, part_id, product, reason)"} for name in ("events", "states")]
    loop = [{"type": "trigger", "name": "spin", "tbl_name": "events",
             "sql": "CREATE TRIGGER spin AFTER INSERT ON events BEGIN SELECT (WITH RECURSIVE c(n) AS "
                    "(SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT max(n) FROM c); END"}]
    with pytest.raises(VerdictFailed, match="cannot be stored"):
        judge("archive_schema_test", schema=tables + loop)
    with pytest.raises(VerdictFailed, match="schema was not recorded"):
        judge("archive_schema_test", schema="CREATE TABLE events (x)")


def test_a_backfilled_archive_is_complete_and_a_lost_or_doubled_event_is_reported(tmp_path, solution):
    until_s = 3000.0
    events, states = kit.mes_export(until_s, 7)
    conn = _archive(tmp_path, solution)
    assert solution["backfill"](conn, events, states) > len(events)
    assert solution["backfill"](conn, events, states) == 0, "a second backfill stores nothing new"
    judge("archive_live_test", events=kit.archive_events(conn), until_s=until_s, live_seed=7)
    conn.execute("DELETE FROM events WHERE rowid = 5")
    conn.commit()
    with pytest.raises(VerdictFailed, match=r"1 of the plant's .* events up to t=3000 s are missing"):
        judge("archive_live_test", events=kit.archive_events(conn), until_s=until_s, live_seed=7)
    conn.close()
    plain = tmp_path / "plain"
    plain.mkdir()
    doubled = _archive(plain, solution, PLAIN_SCHEMA)
    rows = events[["timestamp", "kind", "machine", "part_id", "product", "reason"]].astype(object)
    doubled.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                        rows.where(rows.notna(), None).itertuples(index=False))
    doubled.execute("INSERT INTO events SELECT * FROM events WHERE rowid <= 3")
    doubled.commit()
    with pytest.raises(VerdictFailed, match="3 event\\(s\\) stored more than once"):
        judge("archive_live_test", events=kit.archive_events(doubled), until_s=until_s, live_seed=7)
    with pytest.raises(VerdictFailed, match="plant time"):
        judge("archive_live_test", events=kit.archive_events(doubled), until_s=0.0, live_seed=7)


# --- twin state, KPIs, predictions ---------------------------------------------------------------------


def _on_week(variant: Variant, tmp_path: Path, monkeypatch, probe):
    """`probe()` in a kernel of `variant` (its prepared folder), as the hidden cell runs it when graded."""
    if variant != PRACTICE:
        verdicts.prepare(variant, tmp_path)
        monkeypatch.setenv("FACTORYLAB_VARIANT", str(tmp_path))
    return probe()


@pytest.mark.parametrize("variant", [PRACTICE, OTHER])
def test_the_solution_twin_state_and_kpis_match_the_plant(solution, variant, tmp_path, monkeypatch):
    judge("twin_state_test", variant, answers=_on_week(variant, tmp_path, monkeypatch,
                                                       lambda: kit.probe_twin_state(solution["twin_state"])))
    judge("kpis_test", variant, answers=kit.probe_shift_kpis(solution["shift_kpis"]))


def test_an_oee_from_the_briefs_ideal_cycle_estimate_passes_where_it_runs_low(solution, tmp_path, monkeypatch):
    """On variant 13, shift 1, the brief's estimate of the CNC's ideal cycle (the longest 3 % of durations left
    out) gives an OEE more than the tolerance below the one with the nominal cycle: the solution still passes."""
    variant = Variant(LAB, "low_estimate", 13)
    want = verdicts.true_shift_kpis(variant.seed, 1)
    assert 1 in kit.kpi_shifts(variant.seed)
    assert abs(want["oee"] - want["oee_estimated"]) > verdicts.OEE_TOLERANCE
    judge("kpis_test", variant, answers=_on_week(variant, tmp_path, monkeypatch,
                                                 lambda: kit.probe_shift_kpis(solution["shift_kpis"])))


def test_the_practice_answers_do_not_pass_for_another_variant(solution):
    with pytest.raises(VerdictFailed, match=r"moments other than the grader.s"):
        judge("twin_state_test", OTHER, answers=kit.probe_twin_state(solution["twin_state"]))


def test_a_twin_that_keeps_finished_parts_at_their_station_fails(solution):
    def upstream_twin(events, states, t_s):
        state = solution["twin_state"](events, states, t_s)
        state["wip"] = {"saw": sum(state["wip"].values())}
        return state

    with pytest.raises(VerdictFailed, match=r"parts counted at .* differ") as failure:
        judge("twin_state_test", answers=kit.probe_twin_state(upstream_twin))
    assert not any(char.isdigit() for char in str(failure.value).split(":", 1)[1]), "no count is revealed"


def test_kpis_that_count_scrapped_parts_as_good_fail(solution):
    def generous(events, states, start_s, end_s):
        kpis = dict(solution["shift_kpis"](events, states, start_s, end_s))
        window = events[(events["t_s"] >= start_s) & (events["t_s"] <= end_s)]
        kpis["good_parts"] += int((window["kind"] == "part_scrapped").sum())
        return kpis

    with pytest.raises(VerdictFailed, match="good_parts differs"):
        judge("kpis_test", answers=kit.probe_shift_kpis(generous))


@pytest.mark.parametrize("variant", [PRACTICE, OTHER])
def test_the_synchronised_twin_meets_the_budget_and_the_unsynchronised_one_does_not(solution, variant, tmp_path,
                                                                                      monkeypatch):
    predicted = _on_week(variant, tmp_path, monkeypatch,
                         lambda: kit.probe_predictions(solution["predict_shift_output"]))
    judge("prediction_test", variant, predictions=predicted)
    with pytest.raises(VerdictFailed, match="more than the brief's budget"):
        judge("prediction_test", variant, predictions=kit.probe_predictions(unsynced))


def test_predictions_that_echo_the_parts_done_or_are_not_numbers_fail(solution):
    def echo(events, states, t_s):
        start_s, _ = kit.shift_window(t_s)
        return float(((events["kind"] == "part_completed") & (events["t_s"] >= start_s)).sum())

    with pytest.raises(VerdictFailed, match="more than the brief's budget"):
        judge("prediction_test", predictions=kit.probe_predictions(echo))
    with pytest.raises(VerdictFailed, match="not a finite number"):
        judge("prediction_test", predictions=[float("nan")] * 30)
    with pytest.raises(VerdictFailed, match="one prediction per question"):
        judge("prediction_test", predictions=[1.0])


def test_the_question_logs_hold_no_part_of_the_future_they_ask_about():
    events, _ = kit.question_logs(7)
    for number, question in enumerate(kit.prediction_questions(7)):
        assert events.loc[events["question"] == number, "t_s"].max() <= question["synced_s"]


def test_the_sync_period_must_be_the_longest_within_budget(solution):
    predict = solution["predict_shift_output"]
    by_age = [kit.week_predictions(predict, age_s=period_s) for period_s in kit.SYNC_CANDIDATES_S]
    curve = {period_s: float(kit.prediction_errors(predict, age_s=period_s).mean())
             for period_s in kit.SYNC_CANDIDATES_S}
    best = max(period_s for period_s, error in curve.items() if error <= kit.error_budget())

    def sync(curve, period_s, by_age=by_age):
        judge("sync_rate_test", curve=[[p, e] for p, e in curve.items()], period_s=period_s, week_predictions=by_age)

    sync(curve, best)
    shorter = max(period_s for period_s in kit.SYNC_CANDIDATES_S if period_s < best)
    with pytest.raises(VerdictFailed, match="not the longest candidate"):
        sync(curve, shorter)
    with pytest.raises(VerdictFailed, match="SYNC_CURVE: the error at"):
        sync({period_s: error + 1.0 for period_s, error in curve.items()}, best)
    perfect = [[float(v) for v in kit.shift_outputs(kit.production_log()[0])[[i for i, _ in kit.week_questions()]]]]
    with pytest.raises(VerdictFailed, match="SYNC_CURVE: the error at"):
        sync(curve, best, perfect * len(kit.SYNC_CANDIDATES_S))
    assert np.isfinite(list(curve.values())).all()


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
    return grade_variants(tmp_path_factory.mktemp("twin_build_course"), LAB,
                          {"ada": the_solution, "ben": the_solution,
                           "never_synced": _never_synced})


@pytest.mark.slow
def test_the_solution_scores_full_marks_on_two_secret_variants(graded):
    graded.assert_full_marks_on_distinct_variants("ada", "ben")


@pytest.mark.slow
def test_a_twin_that_never_synchronises_loses_the_prediction_and_sync_rate_points(graded):
    never_synced = graded.auto_scores("never_synced")
    assert set(graded.lost_points("never_synced")) == {f"{LAB}_prediction_test", f"{LAB}_sync_rate_test"}, never_synced
    assert never_synced[f"{LAB}_prediction_test"][0] == 0
