"""The learner's kit of lab_scenarios: the team's line model, the planning office's draft and the brief's figures.

- `run_model(params, *, hours, seed, scenario=None)`: the team's model of the line. `params` is the form a learner
  fitted in lab_model_line (conwip, mix, routings, process_times, stations, each station optionally with its
  `speed` factor; optionally `release_interval_s`, open release); the model writes them as a plant file without
  calendar (it runs on planned production time, the MES working clock) and runs factorylab's SimPy line on it,
  applying the scenario's setpoints (the commands the plant accepts: conwip, speed, buffer) at t=0. Nothing of the
  hidden plant goes in: the model is exactly as good as its parameters.
- `draft_params()`: the planning office's quick model v1, fitted from the MES export with three mistakes a
  hurried analyst makes (process times taken as finish - start on the working clock, so breakdowns during an
  operation count as processing, all laws normal; scrap ignored; the mix of the sales plan, 50/50, instead of
  the released parts'). The learner's acceptance test must find its gaps, the action plan correct them.
- `observed_kpis()`: the plant's KPIs over the export, in working time, as lab_model_line computes them.
- the brief's limits on improvements (IMPROVEMENT_LIMITS), target (TARGET_GAIN) and tolerances (MODEL_TOLERANCE).

The draft and the observed KPIs are data, not functions of a log: when graded, the grader's inputs for this
learner's variant (`labkit.variant.graded_input`); otherwise computed here from the practice seed's export
(`variant_draft_params`, `variant_observed_kpis` take a seed, never a log). lab_model_line asks its learners for
the same computations on the export their kernel receives without its seed, so no function here may answer them.
"""

import contextlib
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import simpy

from labkit.lab_model_line import UP_STATES, ProductionLog, kpi_table, simulate_production_log
from labkit.variant import graded_input
from simulators.kpis import compute_kpis
from simulators.learner import learner_seed
from simulators.line import Line, LineRun
from simulators.plantfile import parse_plant

SALES_PLAN_MIX = 0.5  # the planning office's share of each product (the sales plan, not the released parts)
TARGET_GAIN = 0.10  # the customer's request: 10 % more good parts per working hour
# What the brief allows an improvement to change, and how far (the plant's own command ranges are wider).
IMPROVEMENT_LIMITS = {"conwip": (1, 12), "speed": (1.0, 1.15), "buffer_extra_places": 2}
# How far a model's mean KPIs may sit from the plant's observed ones (relative, except utilisation: absolute).
MODEL_TOLERANCE = {"throughput_per_hour": 0.03, "mean_cycle_time_s": 0.04, "mean_wip": 0.03, "utilisation": 0.03}
MIN_REPLICATIONS = 5


def model_plant(params: dict):
    """The line as the model sees it: a plant file written from `params`, on the working clock (no calendar)."""
    stations = {}
    for name, spec in params["stations"].items():
        station = {"input_buffer": spec.get("buffer"), "scrap_rate": float(spec.get("scrap_rate") or 0.0),
                   "speed": float(spec.get("speed") or 1.0)}  # a speed setpoint divides the process times
        if spec.get("mtbf_hours"):
            station["breakdowns"] = {"mtbf_hours": spec["mtbf_hours"], "mttr_hours": spec["mttr_hours"]}
        stations[name] = station
    products = {
        product: {"mix": float(share) / sum(params["mix"].values()),
                  "routing": [{"station": station, "time": params["process_times"][product][station]}
                              for station in params["routings"][product]]}
        for product, share in params["mix"].items()
    }
    release = {"policy": "conwip", "wip_cap": int(params["conwip"])}
    if params.get("release_interval_s"):
        release = {"policy": "open", "interarrival": {"dist": "exponential", "mean_s": params["release_interval_s"]}}
    return parse_plant({"schema": "factorylab/plant/v1", "name": "line model", "stations": stations,
                        "location": {"site": "model", "area": "model", "line": "model"}, "products": products,
                        "release": release}, "<line model>")


def net_process_times(log: ProductionLog) -> pd.DataFrame:
    """One row per processed part: station, product and its net process time `net_s` (up time between start
    and finish: a breakdown or a planned stop pauses the processing). Given here, to lab_scenarios, which builds
    on lab_model_line's fits; lab_model_line and lab_twin_improve have learners write it (autograde/kit.py keeps
    this module out of their kernels)."""
    events, states = log.events, log.states
    rows = []
    for station, station_states in states.groupby("machine", sort=False):
        # Up time grows at slope 1 between two state changes if the station was up, else 0: linear
        # interpolation between the changes is exact.
        t = np.append(station_states["t_s"].to_numpy(), log.hours * 3600.0)
        up_s = np.concatenate([[0.0], np.cumsum(np.diff(t) * station_states["state"].isin(UP_STATES).to_numpy())])

        def clock(times, t=t, up_s=up_s):
            return np.interp(times, t, up_s)

        mine = events[events["machine"] == station]
        starts = mine[mine["kind"] == "part_started"].set_index("part_id")
        ends = mine[mine["kind"] == "part_finished"].set_index("part_id")["t_s"].rename("t_s_end")
        both = starts.join(ends, how="inner")
        net = clock(both["t_s_end"].to_numpy()) - clock(both["t_s"].to_numpy())
        rows.append(pd.DataFrame({"station": station, "product": both["product"].to_numpy(), "net_s": net}))
    return pd.concat(rows, ignore_index=True)


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


def draft_params() -> dict:
    """The planning office's model v1 of this notebook's line (see the module docstring for its three mistakes)."""
    return graded_input("draft_params", practice=lambda: variant_draft_params(learner_seed()))


def variant_draft_params(seed: int) -> dict:
    """Model v1 as the planning office fits it from the export of the plant variant of `seed`."""
    log = simulate_production_log(seed)
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


def observed_kpis() -> pd.Series:
    """The plant's KPIs over this notebook's export, one value per KPI name (kpi_table's): the grader's figures
    for the learner's variant when graded, else the practice variant's."""
    return pd.Series(graded_input("observed_kpis", practice=lambda: variant_observed_kpis(learner_seed())),
                     dtype=float)


def variant_observed_kpis(seed: int) -> dict[str, float]:
    """The KPIs of the export of the plant variant of `seed`, in working time, flattened: throughput per planned
    production hour, mean cycle time in working seconds (release to completion), time-average WIP and each
    station's running share of planned time."""
    log = simulate_production_log(seed)
    events, states = log.events, log.states
    work_end_s = log.work_hours * 3600.0
    released = events[events["kind"] == "part_released"].set_index("part_id")["work_s"]
    left = events[events["kind"].isin(["part_completed", "part_scrapped"])].set_index("part_id")["work_s"]
    completed = events[events["kind"] == "part_completed"].set_index("part_id")["work_s"]
    in_line = left.reindex(released.index).fillna(work_end_s) - released
    utilisation = {}
    for station, station_states in states.groupby("machine", sort=False):
        w = np.append(station_states["work_s"].to_numpy(), work_end_s)
        utilisation[station] = float((np.diff(w) * (station_states["state"] == "running").to_numpy()).sum()
                                     / work_end_s)
    return kpi_table({
        "throughput_per_hour": len(completed) / log.work_hours,
        "mean_cycle_time_s": float((completed - released.reindex(completed.index)).mean()),
        "mean_wip": float(in_line.sum() / work_end_s),
        "utilisation": utilisation,
    }).to_dict()


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


DATABASE_TABLES = ("tests", "parameters", "conditions", "runs", "results")


def database_evidence(path) -> dict:
    """What the grader reads of a simulation database: its schema (columns, primary and foreign keys of every
    table, as SQLite reports them) and the content of the five tables, as plain data."""
    path = Path(path)
    if not path.is_file():
        return {"schema": {}}
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        schema = {}
        for table in names:
            info = list(db.execute(f'PRAGMA table_info("{table}")'))
            schema[table] = {
                "columns": [row[1] for row in info],
                "primary_key": [row[1] for row in sorted(info, key=lambda row: row[5]) if row[5]],
                "foreign_keys": [[row[2], row[3], row[4]] for row in db.execute(f'PRAGMA foreign_key_list("{table}")')],
            }
        content = {table: pd.read_sql(f'SELECT * FROM "{table}"', db) for table in DATABASE_TABLES if table in names}
    return {"schema": schema, **{f"table_{name}": frame for name, frame in content.items()}}
