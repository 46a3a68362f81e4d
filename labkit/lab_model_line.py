"""The learner's kit of lab_model_line (and lab_scenarios): the line's MES export and the helpers to read it.

In the RNCP track the plant plays "the real system": learners see what its MES records, never its plant file.
Each learner's plant is a variant of the default plant (`plant_variant`): every station's process times are
scaled by a seeded factor within ±PROCESS_SPREAD, its MTBF and MTTR by factors within
[1/RELIABILITY_SPREAD, RELIABILITY_SPREAD] and its scrap rate by a factor within ±SCRAP_SPREAD (routings,
buffers, mix, calendar and the CONWIP cap are the default plant's: the plant's own records document them).

`production_log()` is what a notebook reads: when graded, the MES records (events, states, setpoints, each
stamped with the working clock `work_s`) the grader wrote into the learner's variant folder, generated on the
grader's side from a seed the kernel never sees; otherwise the public practice variant's, simulated here from
the practice seed (`learner_seed()`). Nothing here knows a graded variant's hidden parameters.
"""

import math
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from labkit import plaindata
from simulators.distributions import Distribution
from simulators.learner import graded_variant_dir, learner_seed
from simulators.line import simulate
from simulators.plantfile import Plant, load_plant
from simulators.seeding import stream

LOG_WEEKS = 4
PROCESS_SPREAD = 0.08
RELIABILITY_SPREAD = 1.25
SCRAP_SPREAD = 0.3
UP_STATES = ("running", "starved", "blocked")  # a station's failure and process clocks run in these
LOG_INPUTS = ("production_log_events", "production_log_states", "production_log_setpoints", "production_log_meta")


@dataclass(frozen=True)
class ProductionLog:
    """What the plant's MES recorded over `hours` of calendar time (`work_hours` of planned production).

    events: t_s, work_s, kind, machine, part_id, product, reason (one row per MES event, in time order);
    states: t_s, work_s, machine, state, reason (a station enters `state` at t_s);
    setpoints: t_s, machine, name, value (buffer capacities, speed factors, the CONWIP cap).
    """

    hours: float
    work_hours: float
    events: pd.DataFrame
    states: pd.DataFrame
    setpoints: pd.DataFrame


def production_log() -> ProductionLog:
    """This notebook's four-week MES export: the graded variant's when grading, else the practice variant's.

    A fresh copy on every call: what a notebook does to it changes nothing anywhere else."""
    folder = graded_variant_dir()
    if folder is None:
        return simulate_production_log(learner_seed())
    inputs = folder / "inputs"
    meta = plaindata.read(inputs, "production_log_meta")
    return ProductionLog(float(meta["hours"]), float(meta["work_hours"]),
                         plaindata.read(inputs, "production_log_events"),
                         plaindata.read(inputs, "production_log_states"),
                         plaindata.read(inputs, "production_log_setpoints"))


def log_inputs(log: ProductionLog) -> dict:
    """The plain-data inputs a grader writes into a variant folder so that `production_log()` reads `log`."""
    return {"production_log_events": log.events, "production_log_states": log.states,
            "production_log_setpoints": log.setpoints,
            "production_log_meta": {"hours": log.hours, "work_hours": log.work_hours}}


def plant_variant(seed: int) -> Plant:
    """The default plant as the learner of this seed meets it: hidden parameters scaled by seeded factors."""
    plant = load_plant()
    stations = {}
    scale = {}
    for name, station in plant.stations.items():
        rng = stream(seed, "variant", name)
        scale[name] = 1.0 + float(rng.uniform(-PROCESS_SPREAD, PROCESS_SPREAD))
        mtbf_factor, mttr_factor = (float(RELIABILITY_SPREAD ** x) for x in rng.uniform(-1.0, 1.0, 2))
        scrap_factor = 1.0 + float(rng.uniform(-SCRAP_SPREAD, SCRAP_SPREAD))
        breakdowns = station.breakdowns
        if breakdowns is not None:
            breakdowns = replace(breakdowns, mtbf_hours=breakdowns.mtbf_hours * mtbf_factor,
                                 mttr_hours=breakdowns.mttr_hours * mttr_factor)
        stations[name] = replace(station, breakdowns=breakdowns, scrap_rate=station.scrap_rate * scrap_factor)
    products = {
        name: replace(product, routing=tuple(replace(step, time=_scaled(step.time, scale[step.station]))
                                             for step in product.routing))
        for name, product in plant.products.items()
    }
    return replace(plant, stations=stations, products=products, source="<a variant of the default plant>")


def _scaled(distribution: Distribution, factor: float) -> Distribution:
    return Distribution(distribution.kind, MappingProxyType({k: v * factor for k, v in distribution.params.items()}))


def simulate_production_log(seed: int, *, weeks: int = LOG_WEEKS) -> ProductionLog:
    """The MES records of `weeks` weeks of the plant variant of `seed` (about a second)."""
    plant = plant_variant(seed)
    hours = 168.0 * weeks
    run = simulate(plant, hours=hours, seed=seed)
    clock = working_clock(plant, hours)
    events = pd.DataFrame(run.events, columns=["t_s", "kind", "machine", "part_id", "product", "reason"])
    events["part_id"] = events["part_id"].astype("Int64")
    events.insert(1, "work_s", clock(events["t_s"].to_numpy()))
    states = pd.DataFrame(run.state_log, columns=["t_s", "machine", "state", "reason"])
    states.insert(1, "work_s", clock(states["t_s"].to_numpy()))
    setpoints = pd.DataFrame(run.setpoints, columns=["t_s", "machine", "name", "value"])
    return ProductionLog(hours, float(clock(np.array([hours * 3600.0]))[0]) / 3600.0, events, states, setpoints)


def working_clock(plant: Plant, hours: float):
    """A function mapping calendar seconds to working seconds (planned production time since t=0)."""
    horizon_s = hours * 3600.0
    stops = plant.calendar.planned_stops(horizon_s) if plant.calendar is not None else []
    # Piecewise linear: slope 1 while working, 0 during a stop.
    knots_t, knots_w = [0.0], [0.0]
    for start_s, end_s, _ in stops:
        knots_w.append(knots_w[-1] + start_s - knots_t[-1])
        knots_t.append(start_s)
        knots_w.append(knots_w[-1])
        knots_t.append(end_s)
    knots_w.append(knots_w[-1] + horizon_s - knots_t[-1])
    knots_t.append(horizon_s)
    t, w = np.array(knots_t), np.array(knots_w)
    return lambda t_s: np.interp(t_s, t, w)


def kpi_table(kpis: dict) -> pd.Series:
    """A KPI dict flattened to one value per KPI name (utilisation_<station> for each station)."""
    flat = {name: value for name, value in kpis.items() if name != "utilisation"}
    flat.update({f"utilisation_{station}": value for station, value in kpis["utilisation"].items()})
    return pd.Series(flat, dtype=float)


def distribution_moments(dist: dict) -> tuple[float, float]:
    """Mean and standard deviation (s) of a plant-file distribution mapping."""
    kind = dist["dist"]
    if kind == "constant":
        return float(dist["value_s"]), 0.0
    if kind == "exponential":
        return float(dist["mean_s"]), float(dist["mean_s"])
    if kind == "triangular":
        a, c, b = dist["min_s"], dist["mode_s"], dist["max_s"]
        return (a + b + c) / 3.0, math.sqrt((a * a + b * b + c * c - a * b - a * c - b * c) / 18.0)
    if kind in ("normal", "lognormal"):
        return float(dist["mean_s"]), float(dist["sd_s"])
    raise ValueError(f"unknown distribution family {kind!r}: use constant, exponential, normal, lognormal "
                     "or triangular")


# --- what the grader asks of a notebook's model ---------------------------------------------------------------

PROBE_HOURS = 310.0  # working hours per probe run: as long as the export
PROBE_REPLICATIONS = 8
PROBE_OPEN_LOAD = 0.6  # the bottleneck's load under the probe's open release
PROBE_OPEN_CONWIP = 40  # the CONWIP cap the probe's open-release case carries (ignored by a model that releases open)
PROBE_SPEED = 1.25  # the bottleneck's speed factor in the probe's setpoint case (the plant's commands allow 0.5-1.5)
PRACTICE_PROBE_SEED = 1
# Which probe cases each test cell of the model runs (the as-is case again beside the setpoint case: the
# response to the setpoint is the difference between the two, on the same seeds).
PROBE_CELLS = {"model": ("as_is",), "release": ("other_conwip", "open_release"),
               "setpoint": ("as_is", "bottleneck_speed")}


def plant_params(plant: Plant) -> dict:
    """A plant's parameters in the form lab_model_line fits them (conwip, mix, routings, process_times, stations)."""
    return {
        "conwip": plant.release.wip_cap,
        "mix": {name: product.mix for name, product in plant.products.items()},
        "routings": {name: [step.station for step in product.routing] for name, product in plant.products.items()},
        "process_times": {name: {step.station: {"dist": step.time.kind, **step.time.params} for step in product.routing}
                          for name, product in plant.products.items()},
        "stations": {name: {"buffer": station.input_buffer,
                            "mtbf_hours": station.breakdowns.mtbf_hours if station.breakdowns else None,
                            "mttr_hours": station.breakdowns.mttr_hours if station.breakdowns else None,
                            "scrap_rate": station.scrap_rate}
                     for name, station in plant.stations.items()},
    }


def station_loads(params: dict) -> dict[str, float]:
    """Mean work (s) each station does per released part: the mix-weighted mean process times of its steps."""
    load: dict[str, float] = {}
    for product, share in params["mix"].items():
        for station in params["routings"][product]:
            mean_s = distribution_moments(params["process_times"][product][station])[0]
            load[station] = load.get(station, 0.0) + share * mean_s
    return load


def bottleneck(params: dict) -> str:
    """The station with the most work per released part (on the plant's lines, the CNC)."""
    load = station_loads(params)
    return max(load, key=load.get)


def model_probe(seed: int) -> dict:
    """The grader's questions to a line model: a line of the same structure as yours with other parameters (from
    `seed`), the seeds and horizon of the runs, and four cases: the line as it is, another CONWIP cap, an open
    release (parts enter every `release_interval_s` on average, exponential, whatever the WIP) on the line
    without breakdowns, since a repair hours long under open release swings a run's cycle time by tens of per cent
    and no handful of runs could then tell a right release rule from a wrong one, and the line with its
    bottleneck's speed setpoint raised (its process times divided by PROBE_SPEED)."""
    params = plant_params(plant_variant(seed))
    rng = stream(seed, "probe")
    slowest = bottleneck(params)
    bottleneck_s = station_loads(params)[slowest]  # work per released part at the busiest station
    cap = params["conwip"]
    other_cap = int(rng.choice([value for value in (2, 3, cap + 4) if value != cap]))
    reliable = {name: {**spec, "mtbf_hours": None, "mttr_hours": None} for name, spec in params["stations"].items()}
    faster = {name: {**spec, "speed": PROBE_SPEED} if name == slowest else dict(spec)
              for name, spec in params["stations"].items()}
    return {
        "params": params,
        "hours": PROBE_HOURS,
        "seeds": [int(value) for value in rng.choice(10**6, PROBE_REPLICATIONS, replace=False)],
        "bottleneck": slowest,
        "cases": {"as_is": {}, "other_conwip": {"conwip": other_cap},
                  "open_release": {"conwip": PROBE_OPEN_CONWIP, "stations": reliable,
                                   "release_interval_s": round(bottleneck_s / PROBE_OPEN_LOAD, 1)},
                  "bottleneck_speed": {"stations": faster}},
    }


def probe_model(run_model, probe: dict, cases=("as_is",), *, repeat: bool = False) -> pd.DataFrame:
    """Run `run_model` on the probe's line for each of `cases` and every seed (and, with `repeat`, the first
    run of the first case once more, for reproducibility): one row per run with `case`, `seed`, `repeat` and
    the flattened KPIs."""
    rows = []
    for case in cases:
        params = {**probe["params"], **probe["cases"][case]}
        for seed in probe["seeds"]:
            rows.append({"case": case, "seed": seed, "repeat": False,
                         **kpi_table(run_model(params, hours=probe["hours"], seed=seed)).to_dict()})
    if repeat:
        case, first = cases[0], probe["seeds"][0]
        params = {**probe["params"], **probe["cases"][case]}
        rows.append({"case": case, "seed": first, "repeat": True,
                     **kpi_table(run_model(params, hours=probe["hours"], seed=first)).to_dict()})
    return pd.DataFrame(rows)


def practice_model_probe() -> dict:
    return model_probe(PRACTICE_PROBE_SEED)


def practice_validation_seeds() -> list[int]:
    return [int(value) for value in stream(PRACTICE_PROBE_SEED, "validation").choice(10**6, PROBE_REPLICATIONS,
                                                                                       replace=False)]
