"""Checks of lab_scenarios: the team's line model, the planning office's draft, and the grading of the simulation
database, the model's correction and a production improvement against each learner's plant variant.

The lab continues lab_model_line (its `plant_variant` and `production_log` are the learner's plant and MES
export). Three things are handed to the learner here:
- `run_model(params, *, hours, seed, scenario=None)`: the team's model of the line. `params` is the form a learner
  fitted in lab_model_line (conwip, mix, routings, process_times, stations); the model writes them as a plant file
  without calendar (it runs on planned production time, the MES working clock) and runs factorylab's SimPy line
  on it, applying the scenario's setpoints (the commands the plant accepts: conwip, speed, buffer) at t=0.
  Nothing of the hidden plant goes in: the model is exactly as good as its parameters.
- `draft_params(log)`: the planning office's quick model v1, fitted from the MES export with three mistakes a
  hurried analyst makes (process times taken as finish - start on the working clock, so breakdowns during an
  operation count as processing, all laws normal; scrap ignored; the mix of the sales plan, 50/50, instead of
  the released parts'). The learner's acceptance test must find its gaps, the action plan correct them.
- the brief's limits on improvements (IMPROVEMENT_LIMITS) and target (TARGET_GAIN).

Graders know the truth: `plant_gain` applies a learner's improvement to the true plant variant (with its
calendar) and its baseline over replications sharing their seeds, and measures the real gain.
"""

import contextlib
import json
import math
import sqlite3
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import simpy
from scipy import stats

from autograde.checks.lab_model_line import (
    MODEL_TOLERANCE,
    ProductionLog,
    kpi_table,
    plant_variant,
    reference_observed_kpis,
    truth_log,
)
from simulators.kpis import compute_kpis
from simulators.line import Line, LineRun
from simulators.plantfile import parse_plant

SALES_PLAN_MIX = 0.5  # the planning office's share of each product (the sales plan, not the released parts)
TARGET_GAIN = 0.10  # the customer's request: 10 % more good parts per working hour
# What the brief allows an improvement to change, and how far (the plant's own command ranges are wider).
IMPROVEMENT_LIMITS = {"conwip": (1, 12), "speed": (1.0, 1.15), "buffer_extra_places": 2}
MIN_REPLICATIONS = 5
# How far the plant's real gain may fall below the target, and how far the learner's predicted gain may sit
# from the real one (absolute, in shares of throughput: 0.01 = one percentage point).
GAIN_SLACK = 0.01
PREDICTION_TOLERANCE = 0.02
PLANT_REPLICATIONS = 3
PLANT_WEEKS = 2
REQUIRED_COLUMNS = {
    "tests": ("test_id", "campaign", "title", "model_version"),
    "parameters": ("test_id", "name", "value"),
    "conditions": ("test_id", "replications", "horizon_h", "seeds", "clock"),
    "runs": ("test_id", "replication", "seed", "kpi", "value"),
    "results": ("test_id", "kpi", "n", "mean", "ci_low", "ci_high"),
}
CAMPAIGNS = ("acceptance", "scenario")


# --- the model and the draft, handed to the learner -----------------------------------------------------------


def model_plant(params: dict, *, source: str = "<line model>"):
    """The line as the model sees it: a plant file written from `params`, on the working clock (no calendar)."""
    stations = {}
    for name, spec in params["stations"].items():
        station = {"input_buffer": spec.get("buffer"), "scrap_rate": float(spec.get("scrap_rate") or 0.0)}
        if spec.get("mtbf_hours"):
            station["breakdowns"] = {"mtbf_hours": spec["mtbf_hours"], "mttr_hours": spec["mttr_hours"]}
        stations[name] = station
    products = {
        product: {"mix": float(share) / sum(params["mix"].values()),
                  "routing": [{"station": station, "time": params["process_times"][product][station]}
                              for station in params["routings"][product]]}
        for product, share in params["mix"].items()
    }
    return parse_plant({"schema": "factorylab/plant/v1", "name": "line model", "stations": stations,
                        "location": {"site": "model", "area": "model", "line": "model"}, "products": products,
                        "release": {"policy": "conwip", "wip_cap": int(params["conwip"])}}, source)


def run_model(params: dict, *, hours: float, seed: int, scenario: dict | None = None) -> dict:
    """Simulate `hours` of planned production time of the line described by `params` with the scenario's
    setpoints ({"conwip": n, "speed": {station: factor}, "buffer": {station: places}}) applied from the start;
    return the KPIs in lab_model_line's form (throughput per working hour, mean cycle time in working seconds,
    mean WIP, utilisation per station)."""
    env = simpy.Environment()
    plant = model_plant(params)
    line = Line(env, plant, seed)
    apply_scenario(line, scenario or {})
    env.run(until=hours * 3600.0)
    kpis = compute_kpis(LineRun(plant, seed, hours * 3600.0, line.state_log, line.events, line.setpoints))
    return {"throughput_per_hour": kpis["throughput_per_hour"], "mean_cycle_time_s": kpis["mean_cycle_time_s"],
            "mean_wip": kpis["mean_wip"],
            "utilisation": {name: station["utilisation"] for name, station in kpis["stations"].items()}}


def apply_scenario(line: Line, scenario: dict) -> None:
    """Send a scenario's setpoints to a line as the plant's commands (they raise CommandError out of range)."""
    unknown = set(scenario) - {"conwip", "speed", "buffer"}
    if unknown:
        raise ValueError(f"scenario: unknown setpoint(s) {sorted(unknown)}; the plant accepts conwip, speed, buffer")
    if "conwip" in scenario:
        line.set_conwip(scenario["conwip"])
    for station, factor in scenario.get("speed", {}).items():
        line.set_speed(station, factor)
    for station, places in scenario.get("buffer", {}).items():
        line.set_buffer(station, places)


def draft_params(log: ProductionLog) -> dict:
    """The planning office's model v1 (see the module docstring for its three mistakes)."""
    events = log.events
    setpoints = log.setpoints
    stations_in_order = list(log.states["machine"].unique())
    buffers = setpoints[setpoints["name"] == "buffer"].groupby("machine")["value"].last()
    started = events[events["kind"] == "part_started"].set_index(["machine", "part_id"])
    finished = events[events["kind"] == "part_finished"].set_index(["machine", "part_id"])["work_s"]
    durations = started.join(finished.rename("end_s"), how="inner")
    durations["duration_s"] = durations["end_s"] - durations["work_s"]
    process_times: dict = {}
    for (product, station), group in durations.reset_index().groupby(["product", "machine"]):
        process_times.setdefault(product, {})[station] = {
            "dist": "normal", "mean_s": round(float(group["duration_s"].mean()), 1),
            "sd_s": round(float(group["duration_s"].std(ddof=1)), 1)}
    completed = events[events["kind"] == "part_completed"]["part_id"]
    routes = started.reset_index()
    routes = routes[routes["part_id"].isin(completed)].groupby("part_id").agg(product=("product", "first"),
                                                                                 route=("machine", tuple))
    routings = {product: list(group["route"].mode()[0]) for product, group in routes.groupby("product")}
    stations = {}
    for name in stations_in_order:
        mine = events[(events["machine"] == name) & (events["reason"] == "breakdown")]
        starts = mine[mine["kind"] == "downtime_started"]["t_s"].to_numpy()
        ends = mine[mine["kind"] == "downtime_ended"]["t_s"].to_numpy()
        stations[name] = {
            "buffer": int(buffers[name]),
            "mtbf_hours": round(log.work_hours / len(starts), 2) if len(starts) else None,
            "mttr_hours": round(float(np.mean(ends - starts[: len(ends)])) / 3600.0, 3) if len(ends) else None,
            "scrap_rate": 0.0,
        }
    conwip = int(setpoints.loc[setpoints["name"] == "conwip", "value"].iloc[-1])
    return {"conwip": conwip, "mix": dict.fromkeys(sorted(process_times), SALES_PLAN_MIX), "routings": routings,
            "process_times": process_times, "stations": stations}


def student_interval(values) -> tuple[float, float]:
    """The 95 % Student-t interval of the mean of `values` (what the checks recompute)."""
    values = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def tolerance_gaps(model_means: pd.Series, observed: pd.Series) -> pd.Series:
    """Each KPI's gap in units of the brief's tolerance (1.0 = at the limit): relative for throughput, cycle
    time and WIP, absolute for utilisations."""
    gaps = {}
    for name, target in observed.items():
        if name.startswith("utilisation_"):
            gaps[name] = abs(model_means[name] - target) / MODEL_TOLERANCE["utilisation"]
        else:
            gaps[name] = abs(model_means[name] / target - 1.0) / MODEL_TOLERANCE[name]
    return pd.Series(gaps, dtype=float)


def flatten(params: dict, prefix: str = "") -> dict[str, object]:
    """A nested dict as dotted names -> values (lists and scalars are leaves): how the database stores them."""
    flat = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def unflatten(flat: dict[str, object]) -> dict:
    """The nested dict back from dotted names (the inverse of `flatten`)."""
    nested: dict = {}
    for name, value in flat.items():
        *path, leaf = name.split(".")
        here = nested
        for key in path:
            here = here.setdefault(key, {})
        here[leaf] = value
    return nested


# --- the truth, as graders compute it -------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _draft_acceptance(seed: int) -> pd.Series:
    """The grader's own acceptance of the draft: its tolerance gaps over MIN_REPLICATIONS runs."""
    log = truth_log(seed)
    runs = pd.DataFrame([kpi_table(run_model(draft_params(log), hours=log.work_hours, seed=500 + r))
                         for r in range(MIN_REPLICATIONS)])
    return tolerance_gaps(runs.mean(), kpi_table(reference_observed_kpis(log)))


def plant_kpis(seed: int, scenario: dict, replication: int, weeks: int = PLANT_WEEKS) -> dict:
    """The true plant variant of `seed`, with its calendar, run with the scenario applied from the start."""
    plant = plant_variant(seed)
    env = simpy.Environment()
    run_seed = seed * 1000 + 900 + replication  # never the log's own seed: fresh weeks of the plant
    line = Line(env, plant, run_seed)
    apply_scenario(line, scenario)
    horizon_s = weeks * 168.0 * 3600.0
    env.run(until=horizon_s)
    return compute_kpis(LineRun(plant, run_seed, horizon_s, line.state_log, line.events, line.setpoints))


def plant_gain(seed: int, scenario: dict, *, replications: int = PLANT_REPLICATIONS) -> dict:
    """The real effect of a scenario on the plant: throughput gain and cycle-time ratio against the plant as it is,
    over replications sharing their seeds (common random numbers)."""
    base = [plant_kpis(seed, {}, r) for r in range(replications)]
    new = [plant_kpis(seed, _json_scenario(scenario), r) for r in range(replications)]

    def mean(kpis, name):
        return float(np.mean([k[name] for k in kpis]))

    return {"gain": mean(new, "throughput_per_hour") / mean(base, "throughput_per_hour") - 1.0,
            "cycle_time_ratio": mean(new, "mean_cycle_time_s") / mean(base, "mean_cycle_time_s")}


def _json_scenario(scenario: dict) -> dict:
    return json.loads(json.dumps(scenario))


# --- checks ------------------------------------------------------------------------------------------------


def check_acceptance(acceptance: pd.DataFrame, replications: pd.DataFrame, log: ProductionLog) -> None:
    """The acceptance test of the draft: the plant's KPIs, the model's mean and 95 % CI over its replications,
    each gap in tolerance units and the verdict; the KPIs the draft clearly misses must be rejected."""
    log = truth_log(log.seed, round(log.hours / 168.0))
    observed = kpi_table(reference_observed_kpis(log))
    assert isinstance(replications, pd.DataFrame) and len(replications) >= MIN_REPLICATIONS, (
        f"replications: one row per replication of the draft, at least {MIN_REPLICATIONS}")
    assert isinstance(acceptance, pd.DataFrame), "acceptance must be a DataFrame indexed by KPI"
    for column in ("observed", "model_mean", "ci_low", "ci_high", "gap", "accepted"):
        assert column in acceptance.columns, f"acceptance: missing column {column!r}"
    for name, target in observed.items():
        assert name in acceptance.index and name in replications.columns, f"acceptance: no row for KPI {name}"
        row = acceptance.loc[name]
        values = replications[name].to_numpy(dtype=float)
        low, high = student_interval(values)
        scale = max(1.0, abs(values.mean()))
        assert abs(row["observed"] - target) <= 0.005 * abs(target) + 1e-9, (
            f"acceptance: observed {name} = {row['observed']:.4g} is not the plant's ({target:.4g}); use the MES "
            "working clock as in lab_model_line")
        assert abs(row["model_mean"] - values.mean()) <= 1e-9 * scale, (
            f"acceptance: model_mean of {name} is not the mean of its replications")
        assert abs(row["ci_low"] - low) <= 1e-6 * scale and abs(row["ci_high"] - high) <= 1e-6 * scale, (
            f"acceptance: the 95 % CI of {name} is not the Student-t interval of its replications (n-1 degrees "
            "of freedom, sample standard deviation)")
        expected_gap = tolerance_gaps(pd.Series({name: values.mean()}), pd.Series({name: target}))[name]
        assert abs(row["gap"] - expected_gap) <= 1e-6 * max(1.0, expected_gap), (
            f"acceptance: gap of {name} = {row['gap']:.4g}, expected {expected_gap:.4g}: the gap is |model / "
            "observed - 1| / tolerance, or |model - observed| / 0.03 for a utilisation")
        assert bool(row["accepted"]) == (expected_gap <= 1.0), (
            f"acceptance: verdict of {name}: a KPI is accepted when its gap is at most 1 (within tolerance)")
    clearly_off = set(_draft_acceptance(log.seed).loc[lambda gaps: gaps > 2.0].index)
    mine_off = set(acceptance.index[~acceptance["accepted"].astype(bool)])
    assert clearly_off <= mine_off, (
        f"acceptance: the draft misses {sorted(clearly_off - mine_off)} by far, and your test accepts them; run "
        "the draft's parameters (draft_params) over the export's working hours")


def check_database_schema(path) -> None:
    """The simulation database: its five tables with the required columns, primary keys and foreign keys."""
    path = Path(path)
    assert path.is_file(), f"{path}: no such database file; write it with sqlite3 in the lab's folder"
    with _connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, columns in REQUIRED_COLUMNS.items():
            assert table in tables, f"{path.name}: no table {table!r} (tables: {sorted(tables)})"
            info = {row[1]: row for row in db.execute(f"PRAGMA table_info({table})")}
            missing = [column for column in columns if column not in info]
            assert not missing, f"{path.name}: table {table} has no column(s) {missing}"
            keys = [name for name, row in sorted(info.items(), key=lambda item: item[1][5]) if row[5]]
            expected = {"tests": ["test_id"], "parameters": ["test_id", "name"], "conditions": ["test_id"],
                        "runs": ["test_id", "replication", "kpi"], "results": ["test_id", "kpi"]}[table]
            assert keys == expected, (
                f"{path.name}: the primary key of {table} is {keys or 'missing'}, expected ({', '.join(expected)}): "
                "it says what identifies one row, so that a test cannot be recorded twice")
            if table != "tests":
                references = {(row[2], row[3], row[4]) for row in db.execute(f"PRAGMA foreign_key_list({table})")}
                assert ("tests", "test_id", "test_id") in references, (
                    f"{path.name}: {table}.test_id must be a FOREIGN KEY referencing tests(test_id)")


def check_database_content(path, log: ProductionLog, *, reproduce: bool = True) -> None:
    """The database's content: a referenced list of tests of both campaigns, each with its parameters and
    conditions, at least five runs, correct statistics, acceptance tests holding the plant's values; and one
    test reproduced from what the database says (its parameters, seed and horizon)."""
    log = truth_log(log.seed, round(log.hours / 168.0))
    observed = kpi_table(reference_observed_kpis(log))
    with _connect(Path(path)) as db:
        tests = pd.read_sql("SELECT * FROM tests", db)
        parameters = pd.read_sql("SELECT * FROM parameters", db)
        conditions = pd.read_sql("SELECT * FROM conditions", db).set_index("test_id")
        runs = pd.read_sql("SELECT * FROM runs", db)
        results = pd.read_sql("SELECT * FROM results", db)
    assert set(tests["campaign"]) <= set(CAMPAIGNS), (
        f"tests.campaign: only {CAMPAIGNS}, got {sorted(set(tests['campaign']) - set(CAMPAIGNS))}")
    for campaign in CAMPAIGNS:
        assert (tests["campaign"] == campaign).any(), f"tests: no test of the {campaign!r} campaign"
    for _, test in tests.iterrows():
        test_id = test["test_id"]
        assert str(test["title"]).strip() and str(test["model_version"]).strip(), (
            f"tests[{test_id}]: give a title and the model version")
        assert test_id in conditions.index, f"conditions: no row for test {test_id}"
        condition = conditions.loc[test_id]
        mine = runs[runs["test_id"] == test_id]
        assert (parameters["test_id"] == test_id).sum() >= 5, (
            f"parameters: test {test_id} lists almost no parameters; store every model parameter and setpoint")
        seeds = json.loads(condition["seeds"])
        assert int(condition["replications"]) >= MIN_REPLICATIONS and len(seeds) == int(condition["replications"]), (
            f"conditions[{test_id}]: at least {MIN_REPLICATIONS} replications, and one seed per replication in seeds")
        assert sorted(set(mine["seed"])) == sorted(seeds) and mine["replication"].nunique() == len(seeds), (
            f"runs[{test_id}]: one replication per seed listed in its conditions")
        for kpi in observed.index:
            values = mine.loc[mine["kpi"] == kpi].sort_values("replication")["value"].to_numpy(dtype=float)
            assert len(values) == len(seeds), f"runs[{test_id}]: {kpi} is missing in some replications"
            row = results[(results["test_id"] == test_id) & (results["kpi"] == kpi)]
            assert len(row) == 1, f"results: no row for test {test_id}, KPI {kpi}"
            row = row.iloc[0]
            low, high = student_interval(values)
            scale = max(1.0, abs(values.mean()))
            assert int(row["n"]) == len(values) and abs(row["mean"] - values.mean()) <= 1e-9 * scale, (
                f"results[{test_id}, {kpi}]: n and mean must be those of its runs")
            assert abs(row["ci_low"] - low) <= 1e-6 * scale and abs(row["ci_high"] - high) <= 1e-6 * scale, (
                f"results[{test_id}, {kpi}]: the CI is not the 95 % Student-t interval of its runs")
            if test["campaign"] == "acceptance":
                assert "observed" in results.columns and abs(row["observed"] - observed[kpi]) <= 0.005 * abs(
                    observed[kpi]) + 1e-9, (f"results[{test_id}, {kpi}]: an acceptance test records the plant's "
                                            "observed value in results.observed")
    if reproduce:
        _check_reproducible(tests, parameters, conditions, runs)


def _check_reproducible(tests, parameters, conditions, runs) -> None:
    """Take the last scenario test, rebuild its model and setpoints from the database alone, rerun its first
    replication and compare with the stored KPIs: the database must say everything needed to redo a test."""
    test_id = tests.loc[tests["campaign"] == "scenario", "test_id"].iloc[-1]
    flat = {row["name"]: json.loads(row["value"]) for _, row in parameters[parameters["test_id"] == test_id].iterrows()}
    stored = unflatten(flat)
    params, scenario = stored.get("model"), stored.get("scenario", {})
    assert isinstance(params, dict), (
        f"parameters[{test_id}]: no model.* parameters (name them model.<path>, e.g. model.stations.cnc.mtbf_hours)")
    first = runs[runs["test_id"] == test_id].sort_values("replication")
    replication = first["replication"].iloc[0]
    seed = int(first["seed"].iloc[0])
    horizon_h = float(conditions.loc[test_id, "horizon_h"])
    try:
        kpis = kpi_table(run_model(params, hours=horizon_h, seed=seed, scenario=scenario))
    except Exception as error:  # the learner's stored parameters are what failed: say which test
        raise AssertionError(f"test {test_id} cannot be rerun from the database: {error}") from error
    stored_kpis = first[first["replication"] == replication].set_index("kpi")["value"]
    for kpi, value in kpis.items():
        assert abs(stored_kpis[kpi] - value) <= 1e-9 * max(1.0, abs(value)), (
            f"test {test_id}, replication {replication}: rerun from the database's parameters, seed {seed} and "
            f"horizon {horizon_h} h, {kpi} is {value:.6g}, the database says {stored_kpis[kpi]:.6g}: a parameter "
            "or a condition is missing or rounded")


def _connect(path: Path) -> contextlib.closing:
    """Read-only: grading must not change the learner's database."""
    return contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True))


def check_action_plan(action_plan: pd.DataFrame) -> None:
    """At least three actions, each with an objective, a deadline (a date) and an owner."""
    assert isinstance(action_plan, pd.DataFrame), "action_plan must be a DataFrame, one row per action"
    for column in ("action", "objective", "deadline", "owner"):
        assert column in action_plan.columns, f"action_plan: missing column {column!r}"
    assert len(action_plan) >= 3, f"action_plan: at least 3 actions, got {len(action_plan)}"
    for index, row in action_plan.iterrows():
        for column in ("action", "objective", "owner"):
            assert isinstance(row[column], str) and row[column].strip(), f"action_plan row {index}: empty {column}"
        assert not pd.isna(pd.to_datetime(row["deadline"], errors="coerce")), (
            f"action_plan row {index}: deadline {row['deadline']!r} is not a date (e.g. 2026-03-15)")


def check_correction(corrected_params: dict, log: ProductionLog, *, hours: float | None = None,
                     replications: int = 3) -> None:
    """Rerun the corrected model afresh (seeds of its own): every KPI within the brief's tolerance of the plant's,
    where the draft was far off."""
    log = truth_log(log.seed, round(log.hours / 168.0))
    observed = kpi_table(reference_observed_kpis(log))
    hours = log.work_hours if hours is None else hours
    runs = pd.DataFrame([kpi_table(run_model(corrected_params, hours=hours, seed=2000 + r))
                         for r in range(replications)])
    gaps = tolerance_gaps(runs.mean(), observed)
    before = _draft_acceptance(log.seed).max()
    off = gaps[gaps > 1.0].round(2).to_dict()
    assert not off, (
        f"corrected model: KPIs still outside the tolerance (gap in tolerance units, 1 = the limit): {off}; the "
        f"draft's largest gap was {before:.1f}. Look for the parameters that drive them (process times net of "
        "downtime, the mix, breakdowns and scrap)")


def check_improvement_limits(improvement: dict, log: ProductionLog) -> None:
    """The improvement uses only the plant's setpoints, within what the brief allows."""
    assert isinstance(improvement, dict) and improvement, (
        "improvement: a dict of setpoints, e.g. {'speed': {'cnc': 1.1}} or {'conwip': 8, 'buffer': {'cnc': 7}}")
    unknown = set(improvement) - {"conwip", "speed", "buffer"}
    assert not unknown, f"improvement: the plant accepts conwip, speed and buffer setpoints, not {sorted(unknown)}"
    plant = plant_variant(log.seed)
    low, high = IMPROVEMENT_LIMITS["conwip"]
    if "conwip" in improvement:
        assert low <= improvement["conwip"] <= high, f"improvement: conwip must stay in [{low}, {high}] (the brief)"
    low, high = IMPROVEMENT_LIMITS["speed"]
    for station, factor in improvement.get("speed", {}).items():
        assert station in plant.stations, f"improvement: unknown station {station!r}"
        assert low <= factor <= high, f"improvement: speed of {station} must stay in [{low}, {high}] (the brief)"
    for station, places in improvement.get("buffer", {}).items():
        assert station in plant.stations, f"improvement: unknown station {station!r}"
        most = plant.stations[station].input_buffer + IMPROVEMENT_LIMITS["buffer_extra_places"]
        assert 1 <= places <= most, f"improvement: buffer of {station} at most {most} places (floor space, the brief)"


def check_improvement(improvement: dict, baseline_test: str, improvement_test: str, path,
                      log: ProductionLog) -> None:
    """The improvement as tested in the database (same model and seeds as its baseline), and its gain on the true
    plant: at least the target (less GAIN_SLACK), close to the predicted gain, with no longer cycle time."""
    check_improvement_limits(improvement, log)
    with _connect(Path(path)) as db:
        parameters = pd.read_sql("SELECT * FROM parameters", db)
        conditions = pd.read_sql("SELECT * FROM conditions", db).set_index("test_id")
        results = pd.read_sql("SELECT * FROM results", db).set_index(["test_id", "kpi"])
    stored = {}
    for test_id in (baseline_test, improvement_test):
        assert test_id in conditions.index, f"{test_id}: no such test in the database"
        rows = parameters[parameters["test_id"] == test_id]
        stored[test_id] = unflatten({row["name"]: json.loads(row["value"]) for _, row in rows.iterrows()})
    assert stored[baseline_test].get("model") == stored[improvement_test].get("model"), (
        f"{improvement_test} and {baseline_test} must run the same model parameters: only the setpoints differ")
    assert stored[improvement_test].get("scenario", {}) == _json_scenario(improvement), (
        f"{improvement_test}: its scenario.* parameters are not the improvement's setpoints")
    seeds = {test_id: json.loads(conditions.loc[test_id, "seeds"]) for test_id in (baseline_test, improvement_test)}
    assert seeds[baseline_test] == seeds[improvement_test], (
        f"{improvement_test} and {baseline_test}: run both with the same seeds (common random numbers), so that "
        "the difference shows the setpoints, not the luck of the draws")
    for test_id in (baseline_test, improvement_test):
        horizon_h = float(conditions.loc[test_id, "horizon_h"])
        assert horizon_h >= 0.5 * log.work_hours, (
            f"{test_id}: replications of {horizon_h:g} h are too short to promise a throughput (start-up, noise); "
            f"run them as long as the export ({log.work_hours:g} working hours)")
    throughput = "throughput_per_hour"
    predicted = (results.loc[(improvement_test, throughput), "mean"]
                 / results.loc[(baseline_test, throughput), "mean"] - 1.0)
    truth = plant_gain(log.seed, improvement)
    assert truth["gain"] >= TARGET_GAIN - GAIN_SLACK, (
        f"improvement: on the plant itself it gains {truth['gain']:.1%} good parts per hour (your model said "
        f"{predicted:.1%}); the brief asks for {TARGET_GAIN:.0%}")
    assert abs(predicted - truth["gain"]) <= PREDICTION_TOLERANCE, (
        f"improvement: your model predicted {predicted:+.1%}, the plant gives {truth['gain']:+.1%}; a validated model "
        f"predicts within {PREDICTION_TOLERANCE:.0%}")
    promised = results.loc[(improvement_test, throughput), "mean"]
    # What the plant would make: its observed throughput (the export) times the real gain. Comparing ratios on
    # shared seeds keeps the grader's own sampling noise far below the tolerance.
    observed = reference_observed_kpis(truth_log(log.seed, round(log.hours / 168.0)))[throughput]
    real = observed * (1.0 + truth["gain"])
    assert abs(promised / real - 1.0) <= MODEL_TOLERANCE[throughput], (
        f"improvement: your model promises {promised:.2f} good parts per working hour, the plant makes {real:.2f} "
        f"with these setpoints; more than {MODEL_TOLERANCE[throughput]:.0%} apart: test on the corrected model")
    assert truth["cycle_time_ratio"] <= 1.0 + GAIN_SLACK, (
        f"improvement: the plant's mean cycle time grows by {truth['cycle_time_ratio'] - 1:.1%}; the brief forbids "
        "longer lead times")
