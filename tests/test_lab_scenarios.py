"""lab_scenarios: its model and verdicts accept the truth and refuse typical mistakes; the notebook grades right."""

import copy
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from lab_grading import grade_variants, solution_with, the_solution

from autograde.catalogue import load_catalogue
from autograde.criteria_tags import validate_lab_tags
from autograde.variants import practice_variant
from autograde.verdicts import Evidence, VerdictFailed
from autograde.verdicts import lab_model_line as model_line
from autograde.verdicts import lab_scenarios as verdicts
from labkit import lab_scenarios as kit
from labkit.lab_model_line import distribution_moments, kpi_table, plant_params, plant_variant

LAB = "lab_scenarios"
SOURCE = Path(__file__).resolve().parents[1] / "labs" / LAB / f"{LAB}.ipynb"
VARIANT = practice_variant(LAB)
SEED = VARIANT.seed
SEEDS = [101, 102, 103, 104, 105]
HOURS = 40.0  # short runs: the database checks do not depend on the horizon


@pytest.fixture(scope="module")
def log():
    return model_line.truth_log(SEED)


@pytest.fixture(scope="module")
def corrected(log):
    """The draft with every parameter re-estimated from the log the way lab_model_line teaches (true laws)."""
    params = copy.deepcopy(verdicts.draft(SEED))
    params["process_times"] = plant_params(plant_variant(SEED))["process_times"]
    params["mix"] = model_line.reference_mix(log)
    for station, values in model_line.reference_reliability(log).items():
        params["stations"][station].update(values)
    return params


def _runs(params, scenario=None, hours=HOURS):
    return pd.DataFrame([kpi_table(kit.run_model(params, hours=hours, seed=s, scenario=scenario)) for s in SEEDS])


def judge(grade_id, **artefacts):
    """The verdict of `grade_id` on artefacts as the grader decodes them."""
    verdicts.VERDICTS.cells[grade_id](Evidence.recorded(grade_id, **artefacts), VARIANT)


SCHEMA = """
CREATE TABLE tests (test_id TEXT PRIMARY KEY, campaign TEXT, title TEXT, model_version TEXT);
CREATE TABLE parameters (test_id TEXT REFERENCES tests(test_id), name TEXT, value TEXT, PRIMARY KEY (test_id, name));
CREATE TABLE conditions (test_id TEXT PRIMARY KEY REFERENCES tests(test_id), replications INTEGER, horizon_h REAL,
                         seeds TEXT, clock TEXT);
CREATE TABLE runs (test_id TEXT REFERENCES tests(test_id), replication INTEGER, seed INTEGER, kpi TEXT, value REAL,
                   PRIMARY KEY (test_id, replication, kpi));
CREATE TABLE results (test_id TEXT REFERENCES tests(test_id), kpi TEXT, n INTEGER, mean REAL, ci_low REAL,
                      ci_high REAL, observed REAL, PRIMARY KEY (test_id, kpi));
"""


def _record(db, test_id, campaign, params, scenario, runs, observed=None, *, interval=model_line.student_interval,
            hours=HOURS):
    flat = {**kit.flatten(params, "model."), **kit.flatten(scenario or {}, "scenario.")}
    db.execute("INSERT INTO tests VALUES (?, ?, ?, ?)", (test_id, campaign, f"test {test_id}", "v1"))
    db.executemany("INSERT INTO parameters VALUES (?, ?, ?)", [(test_id, k, json.dumps(v)) for k, v in flat.items()])
    db.execute("INSERT INTO conditions VALUES (?, ?, ?, ?, ?)", (test_id, len(SEEDS), hours, json.dumps(SEEDS),
                                                                  "working"))
    db.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?)",
                   [(test_id, r, SEEDS[r], kpi, float(v)) for r, row in enumerate(runs.to_dict("records"))
                    for kpi, v in row.items()])
    db.executemany("INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [(test_id, kpi, len(runs), float(runs[kpi].mean()), *interval(runs[kpi]),
                     None if observed is None else float(observed[kpi])) for kpi in runs.columns])


@pytest.fixture(scope="module")
def database(tmp_path_factory, log, corrected):
    """A right database: the draft's acceptance, a baseline and the CNC-speed improvement on the corrected model."""
    path = tmp_path_factory.mktemp("db") / "simulation_results.sqlite"
    observed = model_line.observed_truth(SEED)
    draft = verdicts.draft(SEED)
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        _record(db, "ACC-01", "acceptance", draft, None, _runs(draft), observed)
        # Scenarios as long as the export: the improvement check asks for it.
        hours = log.work_hours
        _record(db, "SCN-00", "scenario", corrected, None, _runs(corrected, hours=hours), hours=hours)
        faster = {"speed": {"cnc": 1.12}}
        _record(db, "SCN-01", "scenario", corrected, faster, _runs(corrected, faster, hours), hours=hours)
    return path


def test_the_kernel_receives_the_plants_kpis_and_the_draft_as_data(tmp_path, monkeypatch):
    """Graded, from the variant folder the grader prepared; at home, computed from the practice seed's export."""
    (tmp_path / "inputs").mkdir()
    verdicts.VERDICTS.prepare(VARIANT, tmp_path)
    monkeypatch.delenv("FACTORYLAB_SEED", raising=False)
    at_home = kit.observed_kpis(), kit.draft_params()
    monkeypatch.setenv("FACTORYLAB_VARIANT", str(tmp_path))
    graded = kit.observed_kpis(), kit.draft_params()
    for observed, draft in (at_home, graded):
        pd.testing.assert_series_equal(observed, model_line.observed_truth(SEED))
        assert list(observed.index) == list(kpi_table(kit.run_model(draft, hours=1.0, seed=1)).index)
        assert draft == verdicts.draft(SEED)


def test_the_model_is_deterministic_and_obeys_the_scenario_setpoints(corrected):
    once = kit.run_model(corrected, hours=HOURS, seed=3)
    assert kit.run_model(corrected, hours=HOURS, seed=3) == once
    faster = kit.run_model(corrected, hours=HOURS, seed=3, scenario={"speed": {"cnc": 1.15}})
    assert faster["throughput_per_hour"] > once["throughput_per_hour"] * 1.05
    assert kit.run_model(corrected, hours=HOURS, seed=3, scenario={"conwip": 9})["mean_wip"] == pytest.approx(9)


def test_a_speed_in_a_stations_parameters_is_that_speed_setpoint_from_the_start(corrected):
    """lab_model_line's models carry a station's speed factor in its parameters (the grader's probe raises the
    bottleneck's): the team's model reads it as the plant reads its speed setpoint."""
    faster = copy.deepcopy(corrected)
    faster["stations"]["cnc"]["speed"] = 1.12
    as_parameter = kit.run_model(faster, hours=HOURS, seed=3)
    assert as_parameter == kit.run_model(corrected, hours=HOURS, seed=3, scenario={"speed": {"cnc": 1.12}})
    assert as_parameter["throughput_per_hour"] > kit.run_model(corrected, hours=HOURS, seed=3)["throughput_per_hour"]


def test_flatten_and_unflatten_are_inverse_and_keep_lists_whole(corrected):
    flat = kit.flatten(corrected, "model.")
    assert flat["model.routings.bracket"] == corrected["routings"]["bracket"]
    assert "model.stations.cnc.mtbf_hours" in flat
    assert kit.unflatten(flat)["model"] == corrected


def test_the_draft_fails_acceptance_by_far_and_a_table_that_accepts_everything_fails():
    draft = verdicts.draft(SEED)
    assert draft["mix"] == {"bracket": 0.5, "housing": 0.5}
    assert all(station["scrap_rate"] == 0.0 for station in draft["stations"].values())
    observed = model_line.observed_truth(SEED)
    runs = _runs(draft)
    table = pd.DataFrame({"observed": observed, "model_mean": runs.mean()})
    table["ci_low"], table["ci_high"] = zip(*[model_line.student_interval(runs[k]) for k in table.index], strict=True)
    table["gap"] = model_line.tolerance_gaps(table["model_mean"], observed)
    table["accepted"] = table["gap"] <= 1.0
    judge("scenarios_acceptance_test", acceptance=table, replications=runs)
    table["accepted"] = True
    with pytest.raises(VerdictFailed, match="verdict of throughput_per_hour"):
        judge("scenarios_acceptance_test", acceptance=table, replications=runs)


def test_a_right_database_passes_schema_and_content_checks(database):
    judge("scenarios_database_schema_test", **kit.database_evidence(database))
    judge("scenarios_database_content_test", **kit.database_evidence(database))


def test_a_database_without_primary_keys_or_foreign_keys_fails(tmp_path):
    loose = tmp_path / "loose.sqlite"
    with sqlite3.connect(loose) as db:
        db.executescript(SCHEMA.replace("PRIMARY KEY (test_id, replication, kpi)", "UNIQUE (test_id, replication, kpi)"
                                        ))
    with pytest.raises(VerdictFailed, match="primary key of runs"):
        judge("scenarios_database_schema_test", **kit.database_evidence(loose))
    no_reference = tmp_path / "no_reference.sqlite"
    with sqlite3.connect(no_reference) as db:
        db.executescript(SCHEMA.replace("parameters (test_id TEXT REFERENCES tests(test_id)", "parameters (test_id TEXT"
                                        ))
    with pytest.raises(VerdictFailed, match=r"parameters\.test_id must be a FOREIGN KEY"):
        judge("scenarios_database_schema_test", **kit.database_evidence(no_reference))
    with pytest.raises(VerdictFailed, match="database file is missing"):
        judge("scenarios_database_schema_test", **kit.database_evidence(tmp_path / "absent.sqlite"))


def test_normal_intervals_and_rounded_parameters_in_the_database_fail(tmp_path, corrected):
    def normal(values):
        mean, half = values.mean(), 1.96 * values.std(ddof=1) / len(values) ** 0.5
        return mean - half, mean + half

    observed = model_line.observed_truth(SEED)
    runs = _runs(corrected)
    wrong_ci = tmp_path / "normal.sqlite"
    with sqlite3.connect(wrong_ci) as db:
        db.executescript(SCHEMA)
        _record(db, "ACC-01", "acceptance", corrected, None, runs, observed, interval=normal)
        _record(db, "SCN-00", "scenario", corrected, None, runs)
    with pytest.raises(VerdictFailed, match="Student-t"):
        judge("scenarios_database_content_test", **kit.database_evidence(wrong_ci))
    rounded = copy.deepcopy(corrected)
    rounded["process_times"]["bracket"]["cnc"]["mean_s"] = round(rounded["process_times"]["bracket"]["cnc"]["mean_s"])
    unreproducible = tmp_path / "rounded.sqlite"
    with sqlite3.connect(unreproducible) as db:
        db.executescript(SCHEMA)
        _record(db, "ACC-01", "acceptance", corrected, None, runs, observed)
        _record(db, "SCN-00", "scenario", rounded, None, runs)  # the runs came from other parameters
    with pytest.raises(VerdictFailed, match=r"rerun from the database"):
        judge("scenarios_database_content_test", **kit.database_evidence(unreproducible))


def test_an_action_plan_needs_three_owned_dated_actions(corrected):
    plan = pd.DataFrame({"action": ["A1", "A2", "A3"], "objective": ["times", "mix", "breakdowns"],
                         "deadline": ["2026-02-06", "2026-02-06", "2026-02-13"], "owner": ["methods", "planning", ""]})
    with pytest.raises(VerdictFailed, match="empty owner"):
        judge("scenarios_correction_test", action_plan=plan, corrected_params=corrected)
    plan.loc[2, "owner"] = "maintenance"
    judge("scenarios_correction_test", action_plan=plan, corrected_params=corrected)
    with pytest.raises(VerdictFailed, match="at least 3 actions"):
        judge("scenarios_correction_test", action_plan=plan.iloc[:2], corrected_params=corrected)
    plan.loc[0, "deadline"] = "soon"
    with pytest.raises(VerdictFailed, match="not a date"):
        judge("scenarios_correction_test", action_plan=plan, corrected_params=corrected)


PLAN = pd.DataFrame({"action": ["A1", "A2", "A3"], "objective": ["times", "mix", "breakdowns"],
                     "deadline": ["2026-02-06", "2026-02-06", "2026-02-13"],
                     "owner": ["methods", "planning", "upkeep"]})


def test_a_corrected_model_with_exponential_laws_or_the_uncorrected_draft_fails_when_the_grader_reruns_it(corrected):
    exponential = copy.deepcopy(corrected)
    for steps in exponential["process_times"].values():
        for station, law in steps.items():
            steps[station] = {"dist": "exponential", "mean_s": distribution_moments(law)[0]}
    with pytest.raises(VerdictFailed, match="still outside the tolerance"):
        judge("scenarios_correction_test", action_plan=PLAN, corrected_params=exponential)
    # A plan that claims the gaps closed while the parameters are still the draft's: the rerun decides.
    with pytest.raises(VerdictFailed, match="still outside the tolerance"):
        judge("scenarios_correction_test", action_plan=PLAN.assign(max_gap=[0.5, 0.4, 0.3]),
              corrected_params=verdicts.draft(SEED))
    with pytest.raises(VerdictFailed, match="cannot run them"):
        judge("scenarios_correction_test", action_plan=PLAN, corrected_params={"conwip": 6})


def test_the_cnc_speed_improvement_holds_on_the_plant_and_setpoints_beyond_the_brief_fail(database):
    tables = kit.database_evidence(database)

    def improvement(setpoints):
        judge("scenarios_improvement_test", improvement=setpoints, baseline_test="SCN-00", improvement_test="SCN-01",
              **tables)

    improvement({"speed": {"cnc": 1.12}})
    with pytest.raises(VerdictFailed, match=r"speed of cnc must stay in \[1.0, 1.15\]"):
        improvement({"speed": {"cnc": 1.3}})
    with pytest.raises(VerdictFailed, match="buffer of cnc: at most 2 places more"):
        improvement({"buffer": {"cnc": 12}})
    with pytest.raises(VerdictFailed, match=r"scenario\.\* parameters are not the improvement's"):
        improvement({"speed": {"cnc": 1.15}})


def test_raising_the_conwip_cap_gains_almost_nothing_on_the_plant_and_lengthens_lead_times():
    truth = verdicts.plant_gain(SEED, {"conwip": 10}, replications=2)
    assert truth["gain"] < 0.02 and truth["cycle_time_ratio"] > 1.3


def test_the_lab_tags_cover_its_criteria():
    assert validate_lab_tags([SOURCE], load_catalogue(), enforce_coverage=("rncp_mnsi:A3.3",)) == []


# --- wrong answers through the grader (test_labs.py grades the solution and the blank release) ------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The solution as two learners (two secret variants), and as a learner whose corrected model's process times
    are exponential (the wrong distribution)."""
    right = 'model["process_times"][product][station] = fit_law(group["net_s"])'
    exponential = solution_with("scenarios_correction_answer", right,
                                'model["process_times"][product][station] = '
                                '{"dist": "exponential", "mean_s": float(group["net_s"].mean())}')
    return grade_variants(tmp_path_factory.mktemp("course"), LAB,
                          {"ada": the_solution, "bob": the_solution, "exponential": exponential})


@pytest.mark.slow
def test_the_solution_scores_full_marks_on_two_secret_variants(graded):
    graded.assert_full_marks_on_distinct_variants("ada", "bob")
    assert all(len(graded.auto_scores(learner)) == 5 for learner in ("ada", "bob"))


@pytest.mark.slow
def test_a_model_corrected_with_the_wrong_distribution_loses_the_correction_and_improvement_points(graded):
    assert len(graded.auto_scores("exponential")) == 5
    assert graded.lost_points("exponential") == {"scenarios_correction_test": 4, "scenarios_improvement_test": 4}
