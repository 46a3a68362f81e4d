"""The learner's kit of lab_strategy: the site's records and simulator, phase 1's project log, the brief's figures.

The lab's situation is a *site*: the machining line (the default plant with seeded hidden parameters: process
times, breakdowns, scrap), its IIoT sensor network (defect rates and a network outage drawn from the seed) and its
MES, where operators scan each part on a terminal at the manual stations (SCANNED_STATIONS) and miss a seeded share
of the scans. `variant_site_model(seed)` draws that situation as plain data; `simulate_site(model, seed=...)` is
the site's simulator (factorylab's SimPy line and sensor network on the model, with the levers a recommendation
pulls); the records a company holds come out of it:

- `site_records()`: the MES export (MES_WEEKS weeks: events and machine states, stamped with the working clock)
  and the IIoT pilot's sample (IIOT_HOURS hours of readings and the sensors' metadata) of this notebook's site:
  when graded, the records the grader wrote into the learner's variant folder, drawn on the grader's side from a
  seed the kernel never sees; otherwise the public practice variant's, simulated here from `learner_seed()`.
- `site_model()`: the site's simulation model as the methods office keeps it, for `simulate_site`;
  `simulation_seeds()`: the seeds the grader reruns the simulations with.
- `project_log()`: phase 1 of the digitalisation programme (the IIoT pilot): its lots, weekly progress reports and
  monthly team surveys, drawn from the seed like the site.
- `probe_*()`: the grader's inputs for the learner's functions (other sites, matrices, WBS, logs, surveys).
- `figure_traces(figure)`, `weekly_load(wbs, allocations, schedule)`: plain views of a figure and of a plan.

Nothing here computes a maturity criterion, a score, a schedule or an earned value: those are the learner's work,
and the references live with the verdicts (autograde/verdicts/lab_strategy.py).
"""

import math
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import yaml

from labkit import plaindata
from labkit.variant import graded_input
from simulators.dataset import write_dataset
from simulators.distributions import Distribution
from simulators.learner import graded_variant_dir, learner_seed
from simulators.line import simulate
from simulators.plantfile import Plant, load_plant
from simulators.scenarios import load_scenario
from simulators.seeding import stream

MES_WEEKS = 2
IIOT_HOURS = 4.0  # the pilot recorded the first four hours of a Monday morning shift (06:00-10:00)
PRACTICE_PROBE_SEED = 1

# --- the brief's figures ------------------------------------------------------------------------------------------

BOTTLENECK = "cnc"
DOCUMENTED_CYCLE_S = MappingProxyType({"bracket": 95.0, "housing": 130.0})  # the CNC maker's guaranteed cycle
ROUTINGS = MappingProxyType({"bracket": ("saw", "cnc", "deburr", "inspect"),
                             "housing": ("saw", "cnc", "wash", "inspect")})
SCANNED_STATIONS = ("deburr", "wash")  # manual stations: operators scan each part on an MES terminal

CRITERIA = ("data_availability", "data_quality", "connectivity", "oee", "maintenance", "traceability")
# The maturity grid: each criterion's measured value at score 0 (floor) and at score 5 (target).
MATURITY_SCALE = MappingProxyType({
    "data_availability": (0.70, 1.0),
    "data_quality": (0.95, 1.0),
    "connectivity": (0.75, 1.0),
    "oee": (0.65, 0.95),
    "maintenance": (0.80, 0.98),
    "traceability": (0.70, 1.0),
})

COMPANY_GOALS = ("customers", "competitiveness", "sustainability", "people", "resilience")
STAKEHOLDERS = ("customers", "suppliers", "integrator", "direction", "production", "maintenance", "quality",
                "methods", "it_ot", "operators", "works_council")
EXTERNAL_STAKEHOLDERS = ("customers", "suppliers", "integrator")
PLAN_START, PLAN_END = "2027-01-01", "2028-06-30"
PLAN_BUDGET_K_EUR = 450.0

SOURCE_TYPES = ("standard", "regulation", "institutional", "academic", "vendor", "press")
RELIABLE_SOURCE_TYPES = ("standard", "regulation", "institutional", "academic")
WATCH_MAX_AGE_YEARS = 5
RESOURCE_KINDS = ("material", "human", "economic")
SCORE_RANGE = (1, 5)

# Who can work on phase 2, how many days a week each role can give it, and what a day costs.
ROLES = MappingProxyType({
    "project_manager": {"capacity_days_per_week": 3.0, "day_rate_eur": 600.0},
    "ot_it_admin": {"capacity_days_per_week": 2.0, "day_rate_eur": 550.0},
    "automation_technician": {"capacity_days_per_week": 4.0, "day_rate_eur": 450.0},
    "maintenance_lead": {"capacity_days_per_week": 1.0, "day_rate_eur": 500.0},
    "methods_engineer": {"capacity_days_per_week": 2.0, "day_rate_eur": 550.0},
    "quality_engineer": {"capacity_days_per_week": 1.0, "day_rate_eur": 500.0},
    "integrator": {"capacity_days_per_week": 10.0, "day_rate_eur": 850.0},
    "trainer": {"capacity_days_per_week": 5.0, "day_rate_eur": 900.0},
})

AT_RISK_ADOPTION = 3.0  # a team is at risk below this adoption score...
AT_RISK_TREND = -0.5  # ...or when its score fell by this much or more over TREND_MONTHS
TREND_MONTHS = 3
SUPPORTER_ADOPTION = 4.0  # a supporter team scores at least this...
SUPPORTER_RESPONSE = 0.7  # ...and at least this share of it answered the last survey
CHANGE_LEVERS = ("communication", "training", "involvement", "coaching", "recognition")
REX_CATEGORIES = ("documentation", "project_method", "communication", "technical", "skills")

# --- the levers a recommendation may pull in the simulator, and their effect --------------------------------------

LEVERS = ("predictive_maintenance", "remote_support", "in_process_probing", "sensor_maintenance", "edge_gateway",
          "redundant_network", "automatic_identification")
PREDICTIVE_MTBF_FACTOR = 1.6  # condition monitoring: failures caught and repaired in planned stops
REMOTE_SUPPORT_MTTR_FACTOR = 0.6  # the maker's remote diagnostics and a stock of critical spares
PROBING_SCRAP_FACTOR = 0.5  # in-process probing on the CNC
SENSOR_MAINTENANCE_FACTOR = 0.25  # wired sensors, calibration and cabling plan: defect rates divided by 4
SENSOR_DEFECTS = ("dropout_rate", "gap_rate", "stuck_rate", "spike_rate", "out_of_range_rate")


@dataclass(frozen=True)
class Mes:
    """The MES export: `events` (t_s, work_s, kind, machine, part_id, product, reason) and `states` (t_s, work_s,
    machine, state, reason) over `hours` of calendar time, of which `work_hours` of planned production time."""

    events: pd.DataFrame
    states: pd.DataFrame
    hours: float
    work_hours: float


@dataclass(frozen=True)
class Iiot:
    """The IIoT sample: `readings` as the historian received them (arrival order) and the `sensors`' metadata
    (machine, sensor, low, high, period_s...), over `hours` from `start` (a UTC timestamp)."""

    readings: pd.DataFrame
    sensors: pd.DataFrame
    start: pd.Timestamp
    hours: float


@dataclass(frozen=True)
class Site:
    """What the company's systems recorded: its MES export and its IIoT sample."""

    mes: Mes
    iiot: Iiot


# --- the site model and its simulator -----------------------------------------------------------------------------


def variant_site_model(seed: int) -> dict:
    """The site of `seed` as plain data: per station a process-time factor, breakdowns and scrap; the sensor
    network's defect rates; the network outage of the recorded shift; the share of missed scans per manual station."""
    plant = load_plant()
    stations = {}
    for name, station in plant.stations.items():
        rng = stream(seed, "site", "station", name)
        factor, mtbf, mttr, scrap = rng.uniform(-1.0, 1.0, 4)
        spec = {"process_time_factor": round(1.0 + 0.06 * float(factor), 4), "mtbf_hours": None, "mttr_hours": None,
                "scrap_rate": round(station.scrap_rate * (1.0 + 0.4 * float(scrap)), 5)}
        if station.breakdowns is not None:
            spec["mtbf_hours"] = round(station.breakdowns.mtbf_hours * 1.35 ** float(mtbf), 3)
            spec["mttr_hours"] = round(station.breakdowns.mttr_hours * 1.35 ** float(mttr), 3)
        stations[name] = spec
    rng = stream(seed, "site", "network")
    network = {"dropout_rate": float(rng.uniform(0.002, 0.03)), "gap_rate": float(rng.uniform(2e-5, 2e-4)),
               "stuck_rate": float(rng.uniform(5e-6, 8e-5)), "spike_rate": float(rng.uniform(5e-4, 4e-3)),
               "out_of_range_rate": float(rng.uniform(2e-4, 5e-3)), "duplicate_rate": float(rng.uniform(0.002, 0.02))}
    outage = {"start_h": round(float(rng.uniform(0.5, 2.5)), 3), "duration_h": round(float(rng.uniform(0.1, 0.7)), 3),
              "buffered": False}
    scan = stream(seed, "site", "scan")
    scan_miss = {name: round(float(scan.uniform(0.01, 0.22)), 4) for name in SCANNED_STATIONS}
    return {"stations": stations, "sensor_network": {k: round(v, 6) for k, v in network.items()}, "outage": outage,
            "scan_miss": scan_miss}


def apply_levers(model: dict, levers: dict | None) -> dict:
    """The site model once a recommendation's levers are in place (see LEVERS and their factors)."""
    levers = dict(levers or {})
    unknown = sorted(set(levers) - set(LEVERS))
    if unknown:
        raise ValueError(f"levers: unknown lever(s) {unknown}; the simulator knows {', '.join(LEVERS)}")
    stations = {name: dict(spec) for name, spec in model["stations"].items()}
    network = dict(model["sensor_network"])
    outage = dict(model["outage"]) if model.get("outage") else None
    scan_miss = dict(model["scan_miss"])
    for station in _station_list(levers, "predictive_maintenance", [s for s, v in stations.items() if v["mtbf_hours"]]):
        stations[station]["mtbf_hours"] *= PREDICTIVE_MTBF_FACTOR
    if _switch(levers, "remote_support"):
        for spec in stations.values():
            if spec["mttr_hours"]:
                spec["mttr_hours"] *= REMOTE_SUPPORT_MTTR_FACTOR
    if _switch(levers, "in_process_probing"):
        stations[BOTTLENECK]["scrap_rate"] *= PROBING_SCRAP_FACTOR
    if _switch(levers, "sensor_maintenance"):
        for name in SENSOR_DEFECTS:
            network[name] *= SENSOR_MAINTENANCE_FACTOR
    if _switch(levers, "edge_gateway") and outage:
        outage["buffered"] = True
    if _switch(levers, "redundant_network"):
        outage = None
    for station in _station_list(levers, "automatic_identification", list(SCANNED_STATIONS)):
        scan_miss[station] = 0.0
    return {"stations": stations, "sensor_network": network, "outage": outage, "scan_miss": scan_miss}


def _switch(levers: dict, name: str) -> bool:
    value = levers.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"levers: {name} is true or false, got {value!r}")
    return value


def _station_list(levers: dict, name: str, allowed: list[str]) -> list[str]:
    value = levers.get(name, [])
    if not isinstance(value, list | tuple) or not set(value) <= set(allowed):
        raise ValueError(f"levers: {name} is a list of stations among {allowed}, got {value!r}")
    return list(dict.fromkeys(value))


def site_plant(model: dict) -> Plant:
    """The default plant with the model's process times, breakdowns and scrap (sensors and calendar unchanged)."""
    plant = load_plant()
    stations = {}
    for name, station in plant.stations.items():
        spec = model["stations"][name]
        breakdowns = None
        if spec["mtbf_hours"]:  # the plant file's wear law, with the model's MTBF and MTTR
            breakdowns = replace(station.breakdowns, mtbf_hours=spec["mtbf_hours"], mttr_hours=spec["mttr_hours"])
        stations[name] = replace(station, breakdowns=breakdowns, scrap_rate=float(spec["scrap_rate"]))
    products = {
        name: replace(product, routing=tuple(
            replace(step, time=_scaled(step.time, model["stations"][step.station]["process_time_factor"]))
            for step in product.routing))
        for name, product in plant.products.items()
    }
    return replace(plant, stations=stations, products=products, source="<the site model>")


def _scaled(distribution: Distribution, factor: float) -> Distribution:
    return Distribution(distribution.kind, MappingProxyType({k: v * factor for k, v in distribution.params.items()}))


def simulate_site(model: dict, *, seed: int, levers: dict | None = None, mes_weeks: float = MES_WEEKS,
                  iiot_hours: float = IIOT_HOURS) -> Site:
    """Simulate the site of `model` with `levers` in place: its MES export over `mes_weeks` weeks and its IIoT sample
    over the first `iiot_hours` hours, for the random draws of `seed` (the same seed, the same records)."""
    model = apply_levers(model, levers)
    plant = site_plant(model)
    return Site(mes_export(plant, model, seed, 168.0 * mes_weeks), iiot_sample(plant, model, seed, iiot_hours))


def mes_export(plant: Plant, model: dict, seed: int, hours: float) -> Mes:
    """The MES records of `hours` of the line, less the scans missed at the manual stations (both the start and
    the finish of a part there are lost when its operator does not scan it)."""
    run = simulate(plant, hours=hours, seed=seed)
    clock = working_clock(plant, hours)
    events = pd.DataFrame(run.events, columns=["t_s", "kind", "machine", "part_id", "product", "reason"])
    events["part_id"] = events["part_id"].astype("Int64")
    missed = pd.Series(False, index=events.index)
    for station in SCANNED_STATIONS:
        here = (events["machine"] == station) & events["kind"].isin(["part_started", "part_finished"])
        parts = events.loc[here, "part_id"].drop_duplicates().to_numpy()
        draws = stream(seed, "site", "scans", station).random(len(parts))
        lost = set(parts[draws < model["scan_miss"][station]].tolist())
        missed |= here & events["part_id"].isin(lost)
    events = events[~missed].reset_index(drop=True)
    events.insert(1, "work_s", clock(events["t_s"].to_numpy()))
    states = pd.DataFrame(run.state_log, columns=["t_s", "machine", "state", "reason"])
    states.insert(1, "work_s", clock(states["t_s"].to_numpy()))
    return Mes(events, states, float(hours), float(clock(np.array([hours * 3600.0]))[0]) / 3600.0)


def working_clock(plant: Plant, hours: float):
    """A function mapping calendar seconds to working seconds (planned production time since t=0)."""
    horizon_s = hours * 3600.0
    knots_t, knots_w = [0.0], [0.0]
    for start_s, end_s, _ in plant.calendar.planned_stops(horizon_s):
        knots_w += [knots_w[-1] + start_s - knots_t[-1], knots_w[-1] + start_s - knots_t[-1]]
        knots_t += [start_s, end_s]
    knots_w.append(knots_w[-1] + horizon_s - knots_t[-1])
    knots_t.append(horizon_s)
    t, w = np.array(knots_t), np.array(knots_w)
    return lambda t_s: np.interp(t_s, t, w)


def iiot_sample(plant: Plant, model: dict, seed: int, hours: float) -> Iiot:
    """The readings the historian received over the first `hours` (the sensor network's defects and the outage
    applied by factorylab's imperfection model) and the sensors' metadata."""
    faults = []
    if model.get("outage"):
        outage = model["outage"]
        faults.append({"id": "site-network", "kind": "network_outage", "start_h": float(outage["start_h"]),
                       "duration_h": float(outage["duration_h"]), "buffered": bool(outage["buffered"])})
    scenario = {"name": "site", "imperfections": dict(model["sensor_network"]), "faults": faults}
    with tempfile.TemporaryDirectory(prefix="factorylab-site-") as folder:
        path = Path(folder) / "site.yaml"
        path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
        written = write_dataset(plant=plant, scenario=load_scenario(path, plant), seed=seed, hours=hours,
                                out_dir=Path(folder) / "sample")
        readings = pd.read_parquet(written / "readings.parquet",
                                   columns=["timestamp", "seq", "machine", "sensor", "value", "unit", "quality"])
        sensors = pd.read_parquet(written / "sensors.parquet",
                                  columns=["machine", "sensor", "kind", "unit", "low", "high", "period_s"])
    return Iiot(readings, sensors, pd.Timestamp(plant.start), float(hours))


# --- what a notebook reads ----------------------------------------------------------------------------------------


def site_records() -> Site:
    """This notebook's site records: the graded variant's when grading, else the practice variant's."""
    if graded_variant_dir() is None:
        seed = learner_seed()
        return simulate_site(variant_site_model(seed), seed=seed)
    return read_site("site")


def site_model() -> dict:
    """The site's simulation model (the methods office's), for `simulate_site`."""
    return graded_input("site_model", practice=lambda: variant_site_model(learner_seed()))


def simulation_seeds() -> list[int]:
    """The seeds to run each simulation with: the grader reruns your simulations with the same ones."""
    return graded_input("simulation_seeds", practice=lambda: grader_seeds(PRACTICE_PROBE_SEED, "simulation", 2))


def grader_seeds(seed: int, purpose: str, count: int) -> list[int]:
    """`count` seeds drawn for `purpose` from `seed` (the grader's, from the learner's secret seed)."""
    return [int(value) for value in stream(seed, "grader", purpose).choice(10**6, count, replace=False)]


def site_inputs(site: Site, name: str) -> dict:
    """The plain-data inputs a grader writes so that `read_site(name)` returns `site`."""
    return {f"{name}_events": site.mes.events, f"{name}_states": site.mes.states,
            f"{name}_readings": site.iiot.readings, f"{name}_sensors": site.iiot.sensors,
            f"{name}_meta": {"hours": site.mes.hours, "work_hours": site.mes.work_hours,
                             "iiot_start": site.iiot.start.isoformat(), "iiot_hours": site.iiot.hours}}


def read_site(name: str) -> Site:
    """A site the grader wrote into the variant folder (`site_inputs`)."""
    inputs = graded_variant_dir() / "inputs"
    meta = plaindata.read(inputs, f"{name}_meta")
    mes = Mes(plaindata.read(inputs, f"{name}_events"), plaindata.read(inputs, f"{name}_states"),
              float(meta["hours"]), float(meta["work_hours"]))
    iiot = Iiot(plaindata.read(inputs, f"{name}_readings"), plaindata.read(inputs, f"{name}_sensors"),
                pd.Timestamp(meta["iiot_start"]), float(meta["iiot_hours"]))
    return Site(mes, iiot)


# --- phase 1's project log ----------------------------------------------------------------------------------------

# Phase 1 (the IIoT pilot) as planned: lot id, lot, planned start week (1 = the project's first week), planned
# weeks, budget at completion (k€) and the lots it waits for.
PHASE1_PLAN = (
    ("P1-L1", "scoping", 1, 3, 18.0, ()),
    ("P1-L2", "ot_network", 4, 6, 42.0, ("P1-L1",)),
    ("P1-L3", "sensor_retrofit", 4, 8, 65.0, ("P1-L1",)),
    ("P1-L4", "broker_historian", 10, 5, 30.0, ("P1-L2",)),
    ("P1-L5", "mes_terminals", 6, 7, 38.0, ("P1-L1",)),
    ("P1-L6", "dashboards", 15, 5, 22.0, ("P1-L3", "P1-L4")),
    ("P1-L7", "training_change", 12, 10, 15.0, ("P1-L1",)),
    ("P1-L8", "acceptance_closing", 20, 4, 12.0, ("P1-L5", "P1-L6")),
)
PHASE1_STATUS_WEEK = 24  # the planned end was week 23: the director wants the status and the lessons now
PHASE1_TEAMS = (("operators_morning", 14), ("operators_afternoon", 12), ("maintenance", 6), ("quality", 4),
                ("methods", 3), ("logistics", 5), ("it_ot", 2))
SURVEY_MONTHS = 6


@dataclass(frozen=True)
class ProjectLog:
    """A project's records. `lots`: lot_id, lot, planned_start_week, planned_weeks, budget_k_eur, depends_on (a list
    of lot ids); `progress`: the weekly reports (week, lot_id, percent_complete and actual_cost_k_eur, both
    cumulative since the lot started; a week without a report changed nothing known); `teams`: team, size;
    `survey`: the monthly pulse survey (month, team, respondents, adoption on 1-5, training_attendance, a share);
    `status_week`: the last week reported."""

    lots: pd.DataFrame
    progress: pd.DataFrame
    teams: pd.DataFrame
    survey: pd.DataFrame
    status_week: int


def variant_project_log(seed: int, *, status_week: int = PHASE1_STATUS_WEEK, missing_rate: float = 0.1) -> ProjectLog:
    """Phase 1 as it went for the site of `seed`: seeded slips, durations and costs per lot, a share of the weekly
    reports missing, and the teams' monthly surveys."""
    rng = stream(seed, "project", "lots")
    lots = pd.DataFrame(PHASE1_PLAN, columns=["lot_id", "lot", "planned_start_week", "planned_weeks", "budget_k_eur",
                                              "depends_on"])
    lots["depends_on"] = lots["depends_on"].map(list)
    finish: dict[str, int] = {}
    reports = []
    for lot in lots.itertuples():
        slip, duration_factor, cost_factor = int(rng.integers(0, 3)), rng.uniform(0.9, 1.6), rng.uniform(0.85, 1.45)
        start = max([lot.planned_start_week + slip] + [finish[dep] + 1 for dep in lot.depends_on])
        weeks = max(1, math.ceil(lot.planned_weeks * duration_factor))
        finish[lot.lot_id] = start + weeks - 1
        for week in range(start, min(finish[lot.lot_id], status_week) + 1):
            done = (week - start + 1) / weeks
            percent = 100.0 if done >= 1.0 else 5.0 * round(20.0 * (3 * done**2 - 2 * done**3))
            cost = round(lot.budget_k_eur * cost_factor * done ** 0.9, 1)
            if done < 1.0 and rng.random() < missing_rate:
                continue  # the lot's report of that week never came
            reports.append((week, lot.lot_id, percent, cost))
    progress = pd.DataFrame(reports, columns=["week", "lot_id", "percent_complete", "actual_cost_k_eur"])
    progress = progress.sort_values(["week", "lot_id"], ignore_index=True)
    teams, survey = _survey(seed)
    return ProjectLog(lots, progress, teams, survey, int(status_week))


def _survey(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The monthly pulse survey: each team's adoption drifts from its own start; one team loses heart, one leads."""
    rng = stream(seed, "project", "survey")
    names = [name for name, _ in PHASE1_TEAMS]
    falling, leading = rng.choice(len(names), 2, replace=False)
    rows = []
    for index, (team, size) in enumerate(PHASE1_TEAMS):
        start, slope, answering = rng.uniform(2.8, 3.9), rng.uniform(-0.12, 0.2), rng.uniform(0.45, 0.95)
        if index == falling:
            start, slope = rng.uniform(3.4, 3.9), rng.uniform(-0.35, -0.22)
        if index == leading:
            start, slope, answering = rng.uniform(4.05, 4.35), rng.uniform(0.05, 0.15), rng.uniform(0.8, 1.0)
        scores = np.clip(start + slope * np.arange(SURVEY_MONTHS) + rng.normal(0.0, 0.08, SURVEY_MONTHS), 1.0, 5.0)
        scores = np.round(scores, 1)
        if abs(abs(scores[-1] - scores[-1 - TREND_MONTHS]) - abs(AT_RISK_TREND)) < 0.05:
            scores[-1 - TREND_MONTHS] += 0.1 * np.sign(scores[-1 - TREND_MONTHS] - scores[-1])  # no tie on the rule
        for month in range(1, SURVEY_MONTHS + 1):
            if month < SURVEY_MONTHS and index not in (falling, leading) and rng.random() < 0.1:
                continue  # the team skipped that month's survey
            respondents = max(1, int(rng.binomial(size, answering)))
            if index == leading:
                respondents = max(respondents, math.ceil(SUPPORTER_RESPONSE * size))
            rows.append((month, team, respondents, float(scores[month - 1]),
                         round(float(np.clip(answering + rng.normal(0.0, 0.1), 0.0, 1.0)), 2)))
    return (pd.DataFrame(PHASE1_TEAMS, columns=["team", "size"]),
            pd.DataFrame(rows, columns=["month", "team", "respondents", "adoption", "training_attendance"]))


def project_log() -> ProjectLog:
    """Phase 1's log of this notebook's site: the graded variant's when grading, else the practice variant's."""
    if graded_variant_dir() is None:
        return variant_project_log(learner_seed())
    return read_project_log("project")


def project_inputs(log: ProjectLog, name: str) -> dict:
    """The plain-data inputs a grader writes so that `read_project_log(name)` returns `log`."""
    return {f"{name}_lots": log.lots, f"{name}_progress": log.progress, f"{name}_teams": log.teams,
            f"{name}_survey": log.survey, f"{name}_meta": {"status_week": log.status_week}}


def read_project_log(name: str) -> ProjectLog:
    inputs = graded_variant_dir() / "inputs"
    lots = plaindata.read(inputs, f"{name}_lots")
    lots["depends_on"] = lots["depends_on"].map(list)
    return ProjectLog(lots, plaindata.read(inputs, f"{name}_progress"), plaindata.read(inputs, f"{name}_teams"),
                      plaindata.read(inputs, f"{name}_survey"),
                      int(plaindata.read(inputs, f"{name}_meta")["status_week"]))


# --- the grader's inputs for the learner's functions ---------------------------------------------------------------


def probe_site_for(seed: int) -> Site:
    """Another site for the maturity functions: a rougher sensor network over 1.5 h (an outage, every sensor defect
    more frequent, many duplicates) and one week of MES records cut during a breakdown of the bottleneck."""
    model = variant_site_model(seed)
    model["sensor_network"] = {name: rate * 3.0 for name, rate in model["sensor_network"].items()}
    model["outage"] = {"start_h": 0.4, "duration_h": 0.25, "buffered": False}
    model["scan_miss"] = {name: 0.3 for name in SCANNED_STATIONS}
    plant = site_plant(model)
    mes = mes_export(plant, model, seed, 168.0)
    breakdowns = mes.events[(mes.events["machine"] == BOTTLENECK) & (mes.events["kind"] == "downtime_started")]
    cut_s = float(breakdowns["t_s"].iloc[len(breakdowns) // 2]) + 60.0
    clock = working_clock(plant, 168.0)
    mes = Mes(mes.events[mes.events["t_s"] <= cut_s].reset_index(drop=True),
              mes.states[mes.states["t_s"] <= cut_s].reset_index(drop=True), cut_s / 3600.0,
              float(clock(np.array([cut_s]))[0]) / 3600.0)
    return Site(mes, iiot_sample(plant, model, seed, 1.5))


def probe_cycle_for(seed: int) -> dict[str, float]:
    """Documented cycle times of another machine, for the OEE function."""
    rng = stream(seed, "grader", "cycle")
    return {product: round(float(value) * float(rng.uniform(0.8, 1.2)), 1)
            for product, value in DOCUMENTED_CYCLE_S.items()}


def probe_site() -> Site:
    """The grader's other site for your maturity functions (the practice one at home)."""
    if graded_variant_dir() is None:
        return probe_site_for(PRACTICE_PROBE_SEED)
    return read_site("probe")


def probe_cycle_s() -> dict[str, float]:
    return graded_input("probe_cycle_s", practice=lambda: probe_cycle_for(PRACTICE_PROBE_SEED))


def probe_scores_for(seed: int) -> list[list[float]]:
    """(value, floor, target) triples for the maturity score: inside, below the floor, above the target."""
    rng = stream(seed, "grader", "scores")
    floor, target = sorted(float(x) for x in rng.uniform(0.5, 0.99, 2))
    return [[round(float(x), 4), round(floor, 4), round(target, 4)]
            for x in (rng.uniform(floor, target), floor - 0.1, target + 0.01, rng.uniform(floor, target))]


def probe_scores() -> list[list[float]]:
    return graded_input("probe_scores", practice=lambda: probe_scores_for(PRACTICE_PROBE_SEED))


def probe_matrices_for(seed: int) -> list[dict]:
    """Weighting matrices: technologies x impacts scored 1-5, weights summing to 1, to 100, and with a zero."""
    rng = stream(seed, "grader", "matrices")
    probes = []
    for total, zero in ((1.0, False), (100.0, False), (10.0, True)):
        impacts = [f"impact_{i}" for i in range(int(rng.integers(4, 8)))]
        technologies = [f"tech_{i}" for i in range(int(rng.integers(3, 7)))]
        weights = rng.uniform(0.5, 3.0, len(impacts))
        if zero:
            weights[int(rng.integers(len(impacts)))] = 0.0
        weights = np.round(weights / weights.sum() * total, 3)
        probes.append({"matrix": {tech: {impact: int(rng.integers(1, 6)) for impact in impacts}
                                  for tech in technologies},
                       "weights": dict(zip(impacts, weights.tolist(), strict=True))})
    return probes


def probe_matrices() -> list[tuple[pd.DataFrame, pd.Series]]:
    """The grader's matrices for `weighted_scores`: (matrix, weights) pairs."""
    probes = graded_input("probe_matrices", practice=lambda: probe_matrices_for(PRACTICE_PROBE_SEED))
    return [(pd.DataFrame.from_dict(probe["matrix"], orient="index"), pd.Series(probe["weights"], dtype=float))
            for probe in probes]


def probe_wbs_for(seed: int) -> list[list[dict]]:
    """Work breakdowns for `schedule`: lots with durations and dependencies on earlier lots, listed out of order."""
    rng = stream(seed, "grader", "wbs")
    probes = []
    for _ in range(3):
        count = int(rng.integers(6, 10))
        lots = []
        for index in range(count):
            earlier = [f"W{j}" for j in range(index)]
            deps = sorted(rng.choice(earlier, int(rng.integers(0, min(3, index) + 1)), replace=False).tolist()) \
                if earlier else []
            lots.append({"lot_id": f"W{index}", "weeks": int(rng.integers(1, 9)), "depends_on": deps})
        order = rng.permutation(count)
        probes.append([lots[i] for i in order])
    return probes


def probe_wbs() -> list[pd.DataFrame]:
    """The grader's work breakdowns for `schedule` (lot_id, weeks, depends_on)."""
    probes = graded_input("probe_wbs", practice=lambda: probe_wbs_for(PRACTICE_PROBE_SEED))
    return [pd.DataFrame(lots) for lots in probes]


def probe_project_log() -> ProjectLog:
    """Another project's log for your earned-value and survey functions (the practice one at home)."""
    if graded_variant_dir() is None:
        return probe_project_log_for(PRACTICE_PROBE_SEED)
    return read_project_log("probe_project")


def probe_project_log_for(seed: int) -> ProjectLog:
    """A log of the same kind taken mid-project, with more reports missing."""
    return variant_project_log(seed, status_week=int(stream(seed, "grader", "status").integers(12, 20)),
                               missing_rate=0.3)


# --- plain views ----------------------------------------------------------------------------------------------------


def figure_traces(figure) -> list[dict]:
    """The traces of a plotly figure as plain data: type, name and the coordinates it draws (x, y, r, theta)."""
    traces = []
    for trace in figure.data:
        plain = {"type": trace.type, "name": trace.name}
        for axis in ("x", "y", "r", "theta"):
            values = getattr(trace, axis, None) if axis in trace else None
            if values is not None:
                plain[axis] = [value.item() if isinstance(value, np.generic) else value for value in values]
        traces.append(plain)
    return traces


def weekly_load(allocations: pd.DataFrame, schedule: pd.DataFrame) -> pd.DataFrame:
    """Person-days per week and role: each allocation (lot_id, role, days) spread evenly over its lot's weeks, from
    `schedule`'s start_week (0 = the project's first week) to finish_week (excluded)."""
    weeks = int(schedule["finish_week"].max()) if len(schedule) else 0
    load = pd.DataFrame(0.0, index=pd.RangeIndex(weeks, name="week"), columns=sorted(set(allocations["role"])))
    for allocation in allocations.itertuples():
        start, finish = (int(schedule.loc[allocation.lot_id, column]) for column in ("start_week", "finish_week"))
        load.loc[start:finish - 1, allocation.role] += allocation.days / (finish - start)
    return load
