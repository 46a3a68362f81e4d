"""lab_twin_build: its verdicts judge archives, twin states, the twin's simulation, KPIs, predictions and the
experiment on the synchronisation interval against the plant's truth and the grader's own twin on the grader's side;
a twin that extrapolates a rate instead of simulating fails, and through the grader each mistake costs its own
cells (tests/test_labs.py grades every lab's solution and blank release too)."""

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
from labkit.lab_model_line import plant_variant
from simulators.plantfile import load_plant
from simulators.seeding import stream

LAB = "lab_twin_build"
SOURCE = Path(__file__).resolve().parents[1] / "labs" / LAB / f"{LAB}.ipynb"
SOLUTION_CELLS = ("archive", "twin_state", "twin", "predict", "experiment", "kpis")
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
    assert kit.graded_input("twin_probe", practice=dict) == kit.twin_probe(variant.seed)
    assert kit.line_model() == kit.variant_model(variant.seed) == kit.twin_probe(variant.seed)["params"]
    assert kit.graded_input("sync_intervals", practice=list) == kit.sync_intervals(variant.seed)
    assert not list(tmp_path.rglob("*truth*"))


def test_the_week_is_the_learners_plant_variant_not_the_documented_plant():
    """The week, the questions' weeks and the model come from the variant of lab_model_line (hidden parameters
    scaled by seeded factors); the live plant the notebook collects from stays the documented one."""
    documented = kit.plant_model(load_plant())
    for seed in (7, 123456789):
        model = kit.variant_model(seed)
        assert model["routings"] == documented["routings"] and model["mix"] == documented["mix"]
        assert model["process_times"] != documented["process_times"]
        assert kit.simulated_run(seed).plant.stations == plant_variant(seed).stations
    assert kit.variant_model(7) != kit.variant_model(123456789)
    assert kit.live_run(7, 1.0).plant == load_plant()


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
    """On variant 13, shift 1, the brief's OEE (the CNC's ideal cycle estimated from the log, the longest 3 % of
    durations left out) is more than the tolerance away from the plant's standard OEE (its fastest cycles): the
    solution, which follows the brief, still passes."""
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


# --- the twin: the line's model restarted from a synchronised state ----------------------------------------


def _twin_verdict(run_twin, variant=PRACTICE):
    judge("twin_model_test", variant, answers=kit.probe_twin(run_twin))


WEEK_RATE_PER_S = float(kit.shift_outputs(kit.week_export(7)[0]).sum() / (10 * 7.75 * 3600.0))


def extrapolated(params, sync, *, until_s, seed):
    """A twin that applies the week's mean rate to the working time left: no simulation."""
    return round(WEEK_RATE_PER_S * kit.working_seconds(sync["t_s"], until_s))


def noisy_extrapolated(params, sync, *, until_s, seed):
    """The same rate, with Poisson noise drawn from the seed: random, but still not a simulation of the line."""
    return int(stream(seed, "rate").poisson(WEEK_RATE_PER_S * kit.working_seconds(sync["t_s"], until_s)))


@pytest.mark.parametrize("variant", [PRACTICE, OTHER])
def test_the_solution_twin_simulates_like_the_graders(solution, variant, tmp_path, monkeypatch):
    _on_week(variant, tmp_path, monkeypatch, lambda: _twin_verdict(solution["run_twin"], variant))


def test_a_twin_that_extrapolates_a_rate_fails_even_with_noise():
    with pytest.raises(VerdictFailed, match=r"same output whatever the seed.*not apply a rate"):
        _twin_verdict(extrapolated)
    with pytest.raises(VerdictFailed, match=r"too (many|few) parts on average"):
        _twin_verdict(noisy_extrapolated)


def test_a_twin_that_starts_from_an_empty_line_fails_downstream(solution):
    def from_scratch(params, sync, *, until_s, seed):
        """The line emptied, then its CONWIP cards released: every part at its first station, whatever the state."""
        parts = [{**part, "station": params["routings"][part["product"]][0], "status": "queued"}
                 for part in sync["parts"]]
        return solution["run_twin"](params, {**sync, "parts": parts}, until_s=until_s, seed=seed)

    with pytest.raises(VerdictFailed, match="every part at or just before the last station: the twin completes too "
                                            "few"):
        _twin_verdict(from_scratch)


def test_a_twin_blind_to_a_breakdown_in_progress_fails(solution):
    def blind(params, sync, *, until_s, seed):
        stations = {name: {**state, "state": "running"} for name, state in sync["stations"].items()}
        return solution["run_twin"](params, {**sync, "stations": stations}, until_s=until_s, seed=seed)

    with pytest.raises(VerdictFailed, match=r"bottleneck down .* too many parts"):
        _twin_verdict(blind)


def test_the_twin_probe_states_are_consistent_with_the_line():
    probe = kit.twin_probe(123)
    params = kit.line_model()
    assert len(probe["seeds"]) == kit.TWIN_PROBE_RUNS and len(set(probe["seeds"])) == kit.TWIN_PROBE_RUNS
    for case in probe["cases"]:
        sync = case["sync"]
        assert len(sync["parts"]) == params["conwip"], case["case"]
        for part in sync["parts"]:
            assert part["station"] in params["routings"][part["product"]], case["case"]
        queued = pd.Series([p["station"] for p in sync["parts"] if p["status"] == "queued"]).value_counts()
        assert all(count <= params["stations"][name]["buffer"] for name, count in queued.items()), case["case"]
        assert 0 < kit.working_seconds(sync["t_s"], case["until_s"]) == case["until_s"] - sync["t_s"], \
            "the horizon holds no break"
    assert [c["sync"]["stations"]["cnc"]["state"] for c in probe["cases"]].count("down") == 1


def test_the_graders_twin_agrees_with_the_solutions_on_many_runs(solution):
    """Two independent restarts of the line's model from the same state: the grader's (verdicts) and the
    solution's (the notebook) give the same mean output within four standard errors on 300 runs."""
    probe = kit.twin_probe(5)
    for case in probe["cases"]:
        grader = np.asarray([verdicts.reference_twin(probe["params"], case["sync"], case["until_s"], 80_000 + run)
                             for run in range(300)], dtype=float)
        notebook = np.asarray([solution["run_twin"](probe["params"], case["sync"], until_s=case["until_s"], seed=run)
                               for run in range(300)], dtype=float)
        error = np.sqrt(grader.var(ddof=1) / 300 + notebook.var(ddof=1) / 300)
        assert abs(grader.mean() - notebook.mean()) <= 4 * error + 1e-9, case["case"]


def test_the_graders_sync_state_is_the_solutions_on_the_week(solution):
    events, states = kit.week_export(7)
    for t_s in (29.5 * 3600.0, 100_000.0, 300_000.0):
        mine = solution["sync_state"](events[events["t_s"] <= t_s], states[states["t_s"] <= t_s], t_s)
        truth = verdicts.true_sync_state(7, t_s)
        assert mine["done"] == truth["done"]
        assert {k: v["state"] for k, v in mine["stations"].items()} == {
            k: v["state"] for k, v in truth["stations"].items()}
        assert sorted((p["part_id"], p["station"], p["status"]) for p in mine["parts"]) == sorted(
            (p["part_id"], p["station"], p["status"]) for p in truth["parts"])


# --- the experiment on the synchronisation interval, and the choice ------------------------------------------


def _curve(forecast_errors):
    return kit.probe_sync_curve(forecast_errors)


def test_the_solutions_experiment_is_the_graders_rerun(solution):
    judge("sync_curve_test", curve=_curve(solution["forecast_errors"]))
    with pytest.raises(VerdictFailed, match="not run at the grader's intervals"):
        judge("sync_curve_test", OTHER, curve=_curve(solution["forecast_errors"]))


def _experiment(solution, *, age=True, cut=True, signed=False):
    """The experiment with a mistake: no ageing (synchronised at the question itself), no cut (the whole week's
    log given to the predictor), or signed errors."""
    events, states = kit.production_log()

    def forecast_errors(predict, interval_s):
        outputs = kit.shift_outputs(events)
        errors = []
        for shift, (_, end_s) in enumerate(kit.week_shifts()):
            for before_s in kit.QUERY_BEFORE_END_S:
                synced_s = end_s - before_s - (interval_s if age else 0.0)
                seen_events = events[events["t_s"] <= synced_s] if cut else events
                seen_states = states[states["t_s"] <= synced_s] if cut else states
                error = predict(seen_events, seen_states, synced_s) - outputs[shift]
                errors.append(error if signed else abs(error))
        return np.array(errors)

    return forecast_errors


def test_an_experiment_that_does_not_age_the_data_leaks_the_future_or_signs_its_errors_fails(solution):
    with pytest.raises(VerdictFailed, match="synchronised `interval_s` before each question"):
        judge("sync_curve_test", curve=_curve(_experiment(solution, age=False)))
    with pytest.raises(VerdictFailed, match="it saw the future"):
        judge("sync_curve_test", curve=_curve(_experiment(solution, cut=False)))
    with pytest.raises(VerdictFailed, match=r"each error must be \|forecast"):
        judge("sync_curve_test", curve=_curve(_experiment(solution, signed=True)))
    judge("sync_curve_test", curve=_curve(_experiment(solution)))


def test_the_chosen_interval_must_be_measured_within_budget_and_hold_on_the_graders_rerun():
    budget = kit.error_budget()
    curve = [[60.0, 3.0], [900.0, 4.0], [1800.0, budget + 1.0]]
    judge("sync_rate_test", curve=curve, period_s=900.0)
    with pytest.raises(VerdictFailed, match="one of the intervals of your experiment"):
        judge("sync_rate_test", curve=curve, period_s=600.0)
    with pytest.raises(VerdictFailed, match="your own curve puts the twin's error at this interval above"):
        judge("sync_rate_test", curve=curve, period_s=1800.0)
    with pytest.raises(VerdictFailed, match="at least three"):
        judge("sync_rate_test", curve=curve[:2], period_s=900.0)


def test_a_claimed_error_the_graders_rerun_does_not_confirm_fails():
    """Variant 77's week has a tight budget: synchronised every hour, the line's model misses it on that week."""
    variant = Variant(LAB, "tight", 77)
    budget = kit.error_budget(kit.shift_outputs(kit.week_export(77)[0]))
    assert verdicts.reference_errors(77, 3600.0).mean() > budget + verdicts.BUDGET_SLACK_PARTS
    with pytest.raises(VerdictFailed, match=r"rerun by the grader on this week.*synchronise more often"):
        judge("sync_rate_test", variant, curve=[[60.0, 1.0], [600.0, 2.0], [3600.0, 3.0]], period_s=3600.0)


# --- wrong answers through the grader (test_labs.py grades the solution and the blank release) -------------

EXTRAPOLATING_TWIN = """
def run_twin(params, sync, *, until_s, seed):
    \"\"\"Not a simulation: the week's mean rate times the working time left.\"\"\"
    rate_per_s = shift_outputs(events).sum() / (len(week_shifts()) * 7.75 * 3600.0)
    return round(rate_per_s * working_seconds(sync["t_s"], until_s))
"""


def _extrapolating(versions: LabVersions) -> nbformat.NotebookNode:
    """The solution with a twin that extrapolates the week's rate instead of simulating the line."""
    cell_by_id(versions.source, f"{LAB}_twin").source += "\n" + EXTRAPOLATING_TWIN
    return versions.source


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_variants(tmp_path_factory.mktemp("twin_build_course"), LAB,
                          {"ada": the_solution, "ben": the_solution, "extrapolating": _extrapolating,
                           "blank": lambda versions: versions.released})


@pytest.mark.slow
def test_the_solution_scores_full_marks_on_two_secret_variants(graded):
    graded.assert_full_marks_on_distinct_variants("ada", "ben")


@pytest.mark.slow
def test_a_twin_that_extrapolates_a_rate_loses_the_twin_points(graded):
    lost = graded.lost_points("extrapolating")
    assert lost.get(f"{LAB}_twin_model_test") == 3, graded.auto_scores("extrapolating")
    # The experiment, the choice, the state and the rest do not depend on how the twin forecasts; the rate's
    # predictions may or may not meet the budget on a secret variant.
    assert set(lost) <= {f"{LAB}_twin_model_test", f"{LAB}_prediction_test"}, lost


@pytest.mark.slow
def test_the_blank_release_scores_zero_on_every_automatic_cell(graded):
    scores = graded.auto_scores("blank")
    assert scores and all(score == 0 for score, _top in scores.values()), scores
