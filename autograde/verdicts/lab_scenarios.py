"""Verdicts of lab_scenarios: the simulation database, the acceptance test and correction of the planning office's
model, and a production improvement, against each learner's plant variant.

The learner's plant is the variant of lab_model_line (labkit.lab_model_line.plant_variant) drawn from their graded
seed; the kernel receives only its four-week MES export, the plant's observed KPIs over it and the planning
office's draft model fitted from it (computed here: lab_model_line asks its learners for the KPIs). The team's model
(labkit.lab_scenarios.run_model) is a pure function of plain parameters, so the grader reruns it here on what the
notebook recorded (the corrected parameters, a test read back from the database) rather than trust the numbers.
`plant_gain` applies a learner's improvement to the true plant variant (with its calendar) and to its baseline over
replications sharing their seeds, and measures the real gain.
"""

import json
import math
from functools import lru_cache

import numpy as np
import pandas as pd
import simpy

from autograde.variants import Variant
from autograde.verdicts import Evidence, LabVerdicts, VerdictFailed, expect, phrase
from autograde.verdicts.lab_model_line import (
    check_statistics,
    dataframe,
    near_plant,
    numeric_columns,
    observed_truth,
    summarises,
    tolerance_gaps,
    truth_log,
)
from labkit import plaindata
from labkit.lab_model_line import kpi_table, log_inputs, plant_variant
from labkit.lab_scenarios import (
    IMPROVEMENT_LIMITS,
    MIN_REPLICATIONS,
    MODEL_TOLERANCE,
    TARGET_GAIN,
    apply_scenario,
    run_model,
    unflatten,
    variant_draft_params,
)
from simulators.kpis import compute_kpis
from simulators.line import Line, LineRun

VERDICTS = LabVerdicts("lab_scenarios")
# How far the plant's real gain may fall below the target, and how far the learner's predicted gain may sit
# from the real one (absolute, in shares of throughput: 0.01 = one percentage point).
GAIN_SLACK = 0.01
PREDICTION_TOLERANCE = 0.02
PLANT_REPLICATIONS = 3
PLANT_WEEKS = 2
CORRECTION_REPLICATIONS = 3
REQUIRED_COLUMNS = {
    "tests": ("test_id", "campaign", "title", "model_version"),
    "parameters": ("test_id", "name", "value"),
    "conditions": ("test_id", "replications", "horizon_h", "seeds", "clock"),
    "runs": ("test_id", "replication", "seed", "kpi", "value"),
    "results": ("test_id", "kpi", "n", "mean", "ci_low", "ci_high"),
}
PRIMARY_KEYS = {"tests": ["test_id"], "parameters": ["test_id", "name"], "conditions": ["test_id"],
                "runs": ["test_id", "replication", "kpi"], "results": ["test_id", "kpi"]}
CAMPAIGNS = ("acceptance", "scenario")


@VERDICTS.preparer
def prepare(variant: Variant, folder) -> None:
    inputs = folder / "inputs"
    for name, value in log_inputs(truth_log(variant.seed)).items():
        plaindata.write(inputs, name, value)
    plaindata.write(inputs, "observed_kpis", observed_truth(variant.seed).to_dict())
    plaindata.write(inputs, "draft_params", draft(variant.seed))


# --- the truth ----------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def draft(seed: int) -> dict:
    """The planning office's draft of the variant of `seed` (what its kernel receives as kit.draft_params())."""
    return variant_draft_params(seed)


@lru_cache(maxsize=4)
def draft_acceptance(seed: int) -> pd.Series:
    """The grader's own acceptance of the draft: its tolerance gaps over MIN_REPLICATIONS runs."""
    work_hours = truth_log(seed).work_hours
    runs = pd.DataFrame([kpi_table(run_model(draft(seed), hours=work_hours, seed=500 + r))
                         for r in range(MIN_REPLICATIONS)])
    return tolerance_gaps(runs.mean(), observed_truth(seed))


def plant_kpis(seed: int, scenario: dict, replication: int, weeks: int = PLANT_WEEKS) -> dict:
    """The true plant variant of `seed`, with its calendar, run with the scenario applied from the start."""
    plant = plant_variant(seed)
    env = simpy.Environment()
    run_seed = (seed * 1000 + 900 + replication) % 2**63  # never the log's own seed: fresh weeks of the plant
    line = Line(env, plant, run_seed)
    apply_scenario(line, scenario)
    horizon_s = weeks * 168.0 * 3600.0
    env.run(until=horizon_s)
    return compute_kpis(LineRun(plant, run_seed, horizon_s, line.state_log, line.events, line.setpoints))


def plant_gain(seed: int, scenario: dict, *, replications: int = PLANT_REPLICATIONS) -> dict:
    """The real effect of a scenario on the plant: throughput gain and cycle-time ratio against the plant as it is,
    over replications sharing their seeds (common random numbers)."""
    base = [plant_kpis(seed, {}, r) for r in range(replications)]
    new = [plant_kpis(seed, scenario, r) for r in range(replications)]

    def mean(kpis, name):
        return float(np.mean([k[name] for k in kpis]))

    return {"gain": mean(new, "throughput_per_hour") / mean(base, "throughput_per_hour") - 1.0,
            "cycle_time_ratio": mean(new, "mean_cycle_time_s") / mean(base, "mean_cycle_time_s")}


# --- helpers ------------------------------------------------------------------------------------------------------


def _tables(evidence: Evidence) -> dict[str, pd.DataFrame]:
    schema = evidence["schema"]
    expect(isinstance(schema, dict) and schema, "the database file is missing or empty; write it with sqlite3 at "
                                                "DB_PATH")
    tables = {}
    for table, columns in REQUIRED_COLUMNS.items():
        expect(f"table_{table}" in evidence, "database: no table {table!r}", table=table)
        frame = evidence[f"table_{table}"]
        expect(isinstance(frame, pd.DataFrame), "table {table} must be a pandas DataFrame", table=table)
        missing = [column for column in columns if column not in frame.columns]
        expect(not missing, "database: table {table} has no column(s) {missing}", table=table, missing=missing)
        tables[table] = frame
    return tables


def _stored_params(parameters: pd.DataFrame, test_id) -> dict:
    rows = parameters[parameters["test_id"] == test_id]
    try:
        return unflatten({str(row["name"]): json.loads(row["value"]) for _, row in rows.iterrows()})
    except (TypeError, ValueError):
        raise VerdictFailed("parameters[{test_id}]: values must be JSON text (json.dumps)", test_id=test_id) from None


def _seeds(conditions: pd.DataFrame, test_id) -> list:
    try:
        seeds = json.loads(conditions.loc[test_id, "seeds"])
    except (TypeError, ValueError):
        raise VerdictFailed("conditions[{test_id}]: seeds must be a JSON list of integers", test_id=test_id) from None
    expect(isinstance(seeds, list) and all(isinstance(seed, int) for seed in seeds),
           "conditions[{test_id}]: seeds must be a JSON list of integers", test_id=test_id)
    return seeds


# --- verdicts -----------------------------------------------------------------------------------------------------


@VERDICTS.cell("scenarios_database_schema_test")
def database_schema(evidence: Evidence, variant: Variant) -> None:
    """The five tables with the required columns, primary keys and foreign keys to the test list."""
    schema = evidence["schema"]
    expect(isinstance(schema, dict) and schema, "the database file is missing or empty; write it with sqlite3")
    for table, columns in REQUIRED_COLUMNS.items():
        expect(isinstance(schema.get(table), dict), "database: no table {table!r}", table=table)
        info = schema[table]
        missing = [column for column in columns if column not in info.get("columns", [])]
        expect(not missing, "database: table {table} has no column(s) {missing}", table=table, missing=missing)
        keys = info.get("primary_key")
        expect(keys == PRIMARY_KEYS[table],
               "database: the primary key of {table} is {keys}, expected ({expected}): it says what identifies one "
               "row, so that a test cannot be recorded twice", table=table, keys=keys or "missing",
               expected=", ".join(PRIMARY_KEYS[table]))
        if table != "tests":
            references = {tuple(reference) for reference in info.get("foreign_keys", [])}
            expect(("tests", "test_id", "test_id") in references,
                   "database: {table}.test_id must be a FOREIGN KEY referencing tests(test_id)", table=table)


@VERDICTS.cell("scenarios_acceptance_test")
def acceptance(evidence: Evidence, variant: Variant) -> None:
    """The acceptance test of the draft: statistics consistent with its replications, the plant's values, gaps in
    tolerance units and verdicts; the KPIs the draft clearly misses (by the grader's own runs) are rejected."""
    observed = observed_truth(variant.seed)
    replications = dataframe(evidence["replications"], "acceptance_runs")
    table = dataframe(evidence["acceptance"], "acceptance")
    expect(len(replications) >= MIN_REPLICATIONS,
           "acceptance_runs: one row per replication of the draft, at least {count}", count=MIN_REPLICATIONS)
    numeric_columns(replications, observed.index, "acceptance_runs")
    numeric_columns(table, ("observed", "model_mean", "ci_low", "ci_high", "gap"), "acceptance")
    expect("accepted" in table.columns, "acceptance: missing column 'accepted'")
    check_statistics(table, replications, observed, "acceptance", phrase("take it from kit.observed_kpis()"))
    expected_gaps = tolerance_gaps(replications[list(observed.index)].astype(float).mean(), observed)
    for name, expected_gap in expected_gaps.items():
        row = table.loc[name]
        expect(abs(row["gap"] - expected_gap) <= 1e-6 * max(1.0, expected_gap),
               "acceptance: gap of {name} is wrong: the gap is |model / observed - 1| / tolerance, or "
               "|model - observed| / 0.03 for a utilisation", name=name)
        expect(bool(row["accepted"]) == (expected_gap <= 1.0),
               "acceptance: verdict of {name}: a KPI is accepted when its gap is at most 1 (within tolerance)",
               name=name)
    clearly_off = set(draft_acceptance(variant.seed).loc[lambda gaps: gaps > 2.0].index)
    mine_off = set(table.index[~table["accepted"].astype(bool)])
    expect(clearly_off <= mine_off,
           "acceptance: the draft misses {kpis} by far, and your test accepts them; run the draft's parameters "
           "(draft_params) over the export's working hours", kpis=sorted(clearly_off - mine_off))


@VERDICTS.cell("scenarios_correction_test")
def correction(evidence: Evidence, variant: Variant) -> None:
    """At least three actions with objective, deadline and owner; the corrected parameters, run by the grader on
    seeds of its own, bring every KPI within the brief's tolerance of the plant's."""
    plan = dataframe(evidence["action_plan"], "action_plan")
    for column in ("action", "objective", "deadline", "owner"):
        expect(column in plan.columns, "action_plan: missing column {column!r}", column=column)
    expect(len(plan) >= 3, "action_plan: at least 3 actions")
    for index, row in plan.iterrows():
        for column in ("action", "objective", "owner"):
            expect(isinstance(row[column], str) and row[column].strip(), "action_plan row {index}: empty {column}",
                   index=index, column=column)
        expect(not pd.isna(pd.to_datetime(row["deadline"], errors="coerce")),
               "action_plan row {index}: deadline {deadline!r} is not a date (e.g. 2026-03-15)", index=index,
               deadline=row["deadline"])
    params = evidence["corrected_params"]
    expect(isinstance(params, dict), "corrected_params: the model's parameters, in lab_model_line's form")
    log = truth_log(variant.seed)
    try:
        runs = pd.DataFrame([kpi_table(run_model(params, hours=log.work_hours, seed=2000 + r))
                             for r in range(CORRECTION_REPLICATIONS)])
    except Exception as error:  # the learner's parameters are what failed
        raise VerdictFailed("corrected_params: the model cannot run them ({error})",
                            error=f"{type(error).__name__}: {error}") from None
    gaps = tolerance_gaps(runs.mean(), observed_truth(variant.seed))
    off = sorted(gaps[~(gaps <= 1.0)].index)
    expect(not off, "corrected model: rerun by the grader, these KPIs are still outside the tolerance: {off}; look "
                    "for the parameters that drive them (process times net of downtime, the mix, breakdowns, scrap)",
           off=off)


def _check_limits(improvement, seed: int) -> None:
    expect(isinstance(improvement, dict) and improvement,
           "improvement: a dict of setpoints, e.g. `{'speed': {'cnc': 1.1}}` or `{'conwip': 8, 'buffer': {'cnc': 7}}`")
    unknown = set(improvement) - {"conwip", "speed", "buffer"}
    expect(not unknown, "improvement: the plant accepts `conwip`, `speed` and `buffer` setpoints, not {unknown}",
           unknown=sorted(unknown))
    plant = plant_variant(seed)
    low, high = IMPROVEMENT_LIMITS["conwip"]
    if "conwip" in improvement:
        expect(isinstance(improvement["conwip"], int) and low <= improvement["conwip"] <= high,
               "improvement: conwip must be an integer in [{low}, {high}] (the brief)", low=low, high=high)
    low, high = IMPROVEMENT_LIMITS["speed"]
    for station, factor in improvement.get("speed", {}).items():
        expect(station in plant.stations, "improvement: unknown station {station!r}", station=station)
        expect(plaindata.is_finite_number(factor) and low <= factor <= high,
               "improvement: speed of {station} must stay in [{low}, {high}] (the brief)", station=station, low=low,
               high=high)
    for station, places in improvement.get("buffer", {}).items():
        expect(station in plant.stations, "improvement: unknown station {station!r}", station=station)
        most = plant.stations[station].input_buffer + IMPROVEMENT_LIMITS["buffer_extra_places"]
        expect(isinstance(places, int) and 1 <= places <= most,
               "improvement: buffer of {station}: at most {extra} places more than today (floor space, the brief)",
               station=station, extra=IMPROVEMENT_LIMITS["buffer_extra_places"])


@VERDICTS.cell("scenarios_improvement_test")
def improvement(evidence: Evidence, variant: Variant) -> None:
    """The improvement as tested in the database (same model and seeds as its baseline), and its gain on the true
    plant: at least the target (less GAIN_SLACK), close to the predicted gain, with no longer cycle time."""
    chosen = evidence["improvement"]
    _check_limits(chosen, variant.seed)
    baseline_test, improvement_test = evidence["baseline_test"], evidence["improvement_test"]
    tables = _tables(evidence)
    parameters, conditions = tables["parameters"], tables["conditions"].set_index("test_id")
    results = tables["results"].set_index(["test_id", "kpi"])
    stored = {}
    for test_id in (baseline_test, improvement_test):
        expect(test_id in conditions.index, "{test_id}: no such test in the database", test_id=test_id)
        stored[test_id] = _stored_params(parameters, test_id)
    expect(stored[baseline_test].get("model") == stored[improvement_test].get("model"),
           "{improvement_test} and {baseline_test} must run the same model parameters: only the setpoints differ",
           improvement_test=improvement_test, baseline_test=baseline_test)
    expect(stored[improvement_test].get("scenario", {}) == chosen,
           "{improvement_test}: its scenario.* parameters are not the improvement's setpoints",
           improvement_test=improvement_test)
    expect(_seeds(conditions, baseline_test) == _seeds(conditions, improvement_test),
           "{improvement_test} and {baseline_test}: run both with the same seeds (common random numbers), so that "
           "the difference shows the setpoints, not the luck of the draws", improvement_test=improvement_test,
           baseline_test=baseline_test)
    log = truth_log(variant.seed)
    for test_id in (baseline_test, improvement_test):
        expect(float(conditions.loc[test_id, "horizon_h"]) >= 0.5 * log.work_hours,
               "{test_id}: replications this short cannot promise a throughput (start-up, noise); run them as "
               "long as the export", test_id=test_id)
    throughput = "throughput_per_hour"
    for test_id in (baseline_test, improvement_test):
        expect((test_id, throughput) in results.index, "results: no {throughput} row for {test_id}",
               throughput=throughput, test_id=test_id)
    predicted = (results.loc[(improvement_test, throughput), "mean"]
                 / results.loc[(baseline_test, throughput), "mean"] - 1.0)
    truth = plant_gain(variant.seed, chosen)
    expect(truth["gain"] >= TARGET_GAIN - GAIN_SLACK,
           "improvement: on the plant itself these setpoints fall short of the brief's +{target:.0%} (your model "
           "said {predicted:+.1%})", target=TARGET_GAIN, predicted=predicted)
    expect(abs(predicted - truth["gain"]) <= PREDICTION_TOLERANCE,
           "improvement: your model's predicted gain ({predicted:+.1%}) is more than {tolerance:.0%} from the "
           "plant's real gain; test on the corrected model", predicted=predicted, tolerance=PREDICTION_TOLERANCE)
    promised = results.loc[(improvement_test, throughput), "mean"]
    # What the plant would make: its observed throughput (the export) times the real gain. Comparing ratios on
    # shared seeds keeps the grader's own sampling noise far below the tolerance.
    real = observed_truth(variant.seed)[throughput] * (1.0 + truth["gain"])
    expect(abs(promised / real - 1.0) <= MODEL_TOLERANCE[throughput],
           "improvement: your model promises {promised:.2f} good parts per working hour, more than {tolerance:.0%} "
           "from what the plant makes with these setpoints: test on the corrected model", promised=promised,
           tolerance=MODEL_TOLERANCE[throughput])
    expect(truth["cycle_time_ratio"] <= 1.0 + GAIN_SLACK,
           "improvement: on the plant the mean cycle time grows with these setpoints; the brief forbids longer "
           "lead times")


@VERDICTS.cell("scenarios_database_content_test")
def database_content(evidence: Evidence, variant: Variant) -> None:
    """A referenced list of tests of both campaigns, each with its parameters and conditions, at least five runs,
    correct statistics, the plant's values for acceptance tests; and the last scenario test, rerun by the grader
    from what the database says (parameters, seed, horizon), reproduces its stored KPIs."""
    observed = observed_truth(variant.seed)
    tables = _tables(evidence)
    tests, parameters, runs, results = tables["tests"], tables["parameters"], tables["runs"], tables["results"]
    conditions = tables["conditions"].set_index("test_id")
    expect(set(tests["campaign"]) <= set(CAMPAIGNS), "tests.campaign: only {campaigns}", campaigns=CAMPAIGNS)
    for campaign in CAMPAIGNS:
        expect((tests["campaign"] == campaign).any(), "tests: no test of the {campaign!r} campaign",
               campaign=campaign)
    for _, test in tests.iterrows():
        test_id = test["test_id"]
        expect(str(test["title"]).strip() and str(test["model_version"]).strip(),
               "tests[{test_id}]: give a title and the model version", test_id=test_id)
        expect(test_id in conditions.index, "conditions: no row for test {test_id}", test_id=test_id)
        condition = conditions.loc[test_id]
        mine = runs[runs["test_id"] == test_id]
        expect((parameters["test_id"] == test_id).sum() >= 5,
               "parameters: test {test_id} lists almost no parameters; store every model parameter and setpoint",
               test_id=test_id)
        seeds = _seeds(conditions, test_id)
        expect(int(condition["replications"]) >= MIN_REPLICATIONS and len(seeds) == int(condition["replications"]),
               "conditions[{test_id}]: at least {count} replications, and one seed per replication", test_id=test_id,
               count=MIN_REPLICATIONS)
        expect(sorted(set(mine["seed"].astype(int))) == sorted(seeds) and mine["replication"].nunique() == len(seeds),
               "runs[{test_id}]: one replication per seed listed in its conditions", test_id=test_id)
        for kpi in observed.index:
            values = mine.loc[mine["kpi"] == kpi].sort_values("replication")["value"].to_numpy(dtype=float)
            expect(len(values) == len(seeds), "runs[{test_id}]: {kpi} is missing in some replications",
                   test_id=test_id, kpi=kpi)
            row = results[(results["test_id"] == test_id) & (results["kpi"] == kpi)]
            expect(len(row) == 1, "results: no row for test {test_id}, KPI {kpi}", test_id=test_id, kpi=kpi)
            row = row.iloc[0]
            mean_right, interval_right = summarises(values, row["mean"], row["ci_low"], row["ci_high"])
            expect(int(row["n"]) == len(values) and mean_right,
                   "results[{test_id}, {kpi}]: n and mean must be those of its runs", test_id=test_id, kpi=kpi)
            expect(interval_right, "results[{test_id}, {kpi}]: the CI is not the 95 % Student-t interval of its runs",
                   test_id=test_id, kpi=kpi)
            if test["campaign"] == "acceptance":
                expect("observed" in results.columns and near_plant(row["observed"], observed[kpi]),
                       "results[{test_id}, {kpi}]: an acceptance test records the plant's observed value in "
                       "results.observed", test_id=test_id, kpi=kpi)
    _check_reproducible(tests, parameters, conditions, runs)


def _check_reproducible(tests, parameters, conditions, runs) -> None:
    """Take the last scenario test, rebuild its model and setpoints from the database alone, rerun its first
    replication and compare with the stored KPIs: the database must say everything needed to redo a test."""
    test_id = tests.loc[tests["campaign"] == "scenario", "test_id"].iloc[-1]
    stored = _stored_params(parameters, test_id)
    params, scenario = stored.get("model"), stored.get("scenario", {})
    expect(isinstance(params, dict),
           "parameters[{test_id}]: no model.* parameters (name them model.<path>, e.g. "
           "model.stations.cnc.mtbf_hours)", test_id=test_id)
    first = runs[runs["test_id"] == test_id].sort_values("replication")
    replication = first["replication"].iloc[0]
    seed = int(first["seed"].iloc[0])
    horizon_h = float(conditions.loc[test_id, "horizon_h"])
    expect(0.0 < horizon_h <= 24 * 365, "conditions[{test_id}]: horizon_h must be a positive number of hours",
           test_id=test_id)
    try:
        kpis = kpi_table(run_model(params, hours=horizon_h, seed=seed, scenario=scenario))
    except Exception as error:  # the learner's stored parameters are what failed: say which test
        raise VerdictFailed("test {test_id} cannot be rerun from the database: {error}", test_id=test_id,
                            error=f"{type(error).__name__}: {error}") from None
    stored_kpis = first[first["replication"] == replication].set_index("kpi")["value"]
    for kpi, value in kpis.items():
        expect(kpi in stored_kpis.index and math.isclose(stored_kpis[kpi], value, rel_tol=1e-9, abs_tol=1e-9),
               "test {test_id}, replication {replication}: rerun from the database's parameters, seed and horizon, "
               "{kpi} differs from what the database says: a parameter or a condition is missing or rounded",
               test_id=test_id, replication=replication, kpi=kpi)
