"""Checks of lab_model_line, and each learner's plant variant and production log (shared by the RNCP labs).

In the RNCP track the plant plays "the real system": learners see what its MES records, never its plant
file. Each learner gets their own variant of the default plant, derived from their seed by
`plant_variant`: every station's process times are scaled by a seeded factor within ±PROCESS_SPREAD, its
MTBF and MTTR by factors within [1/RELIABILITY_SPREAD, RELIABILITY_SPREAD] and its scrap rate by a factor
within ±SCRAP_SPREAD (routings, buffers, mix, calendar and the CONWIP cap are the default plant's: they are
documented in the plant's own records anyway). `production_log(seed)` runs the variant's line alone for
LOG_WEEKS weeks and hands out only what the MES records: events, states and setpoints, each stamped with
the plant's working clock `work_s` (seconds of planned production time since the start, which stops during
shifts-off and breaks). The twin labs import `plant_variant` and `production_log` from here.

Graders know the truth: the check functions rebuild the variant and their own copy of the log from the seed
(`truth_log`; the learner's log only tells them which seed) and compare. Tolerances:
- process times: the distribution family of the plant file, its mean within max(2 %, 4 standard errors of
  the sample mean) and its standard deviation within max(10 %, 4 standard errors) of the hidden values;
- MTBF, MTTR, scrap rates and product mix: within 3 % of what the log supports (a station fails a few
  dozen times in four weeks, so its sampling error is larger than any useful tolerance on the hidden value;
  the grader checks the estimate, and the message says which way it is off);
- observed KPIs: within 0.5 % of the reference computation; the model's KPIs within MODEL_TOLERANCE of
  the plant's observed ones.
"""

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import stats

from simulators.distributions import Distribution
from simulators.line import simulate
from simulators.plantfile import Plant, load_plant
from simulators.seeding import stream

LOG_WEEKS = 4
PROCESS_SPREAD = 0.08
RELIABILITY_SPREAD = 1.25
SCRAP_SPREAD = 0.3
UP_STATES = ("running", "starved", "blocked")  # a station's failure and process clocks run in these
ESTIMATE_TOLERANCE = 0.03
# How far the model's mean KPIs may sit from the plant's observed ones (relative, except utilisation).
MODEL_TOLERANCE = {"throughput_per_hour": 0.03, "mean_cycle_time_s": 0.04, "mean_wip": 0.03, "utilisation": 0.03}
MIN_REPLICATIONS = 5


@dataclass(frozen=True)
class ProductionLog:
    """What the plant's MES recorded over `hours` of calendar time (`work_hours` of planned production).

    events: t_s, work_s, kind, machine, part_id, product, reason (one row per MES event, in time order);
    states: t_s, work_s, machine, state, reason (a station enters `state` at t_s);
    setpoints: t_s, machine, name, value (buffer capacities, speed factors, the CONWIP cap).
    """

    seed: int
    hours: float
    work_hours: float
    events: pd.DataFrame
    states: pd.DataFrame
    setpoints: pd.DataFrame


def plant_variant(seed: int) -> Plant:
    """The default plant as this seed's learner meets it: hidden parameters scaled by seeded factors."""
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
    return replace(plant, stations=stations, products=products, source=f"<variant of the default plant, seed {seed}>")


def _scaled(distribution: Distribution, factor: float) -> Distribution:
    return Distribution(distribution.kind, MappingProxyType({k: v * factor for k, v in distribution.params.items()}))


def production_log(seed: int | None = None, *, weeks: int = LOG_WEEKS) -> ProductionLog:
    """The MES records of `weeks` weeks of this learner's plant variant (seed None: the learner's seed).

    A fresh copy on every call (about a second): what a learner does to it cannot reach the checks, which
    rebuild their own from the seed (`truth_log`)."""
    from simulators.learner import learner_seed

    seed = learner_seed() if seed is None else seed
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
    return ProductionLog(seed, hours, float(clock(np.array([hours * 3600.0]))[0]) / 3600.0, events, states, setpoints)


@lru_cache(maxsize=4)
def truth_log(seed: int, weeks: int = LOG_WEEKS) -> ProductionLog:
    """The grader's own copy of a learner's production log (never handed to a notebook)."""
    return production_log(seed, weeks=weeks)


def _truth(log: ProductionLog) -> ProductionLog:
    """The checks take the learner's log only to know its seed and length, and read their own copy."""
    return truth_log(log.seed, round(log.hours / 168.0))


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


# --- the truth, as graders compute it -------------------------------------------------------------------------


def reference_routings(seed: int) -> dict[str, list[str]]:
    plant = plant_variant(seed)
    return {name: [step.station for step in product.routing] for name, product in plant.products.items()}


def reference_flow(log: ProductionLog) -> pd.DataFrame:
    """Moves of parts between steps: release -> first station, station -> station (counted when the part
    starts at the next one), station -> scrap, last station -> shipped."""
    events = log.events
    started = events[events["kind"] == "part_started"]
    previous = started.groupby("part_id")["machine"].shift(1).fillna("release")
    moves = pd.DataFrame({"from": previous.to_numpy(), "to": started["machine"].to_numpy()})
    for kind, target in (("part_scrapped", "scrap"), ("part_completed", "shipped")):
        rows = events[events["kind"] == kind]
        moves = pd.concat([moves, pd.DataFrame({"from": rows["machine"].to_numpy(), "to": target})])
    flow = moves.groupby(["from", "to"]).size().rename("parts").reset_index()
    return flow.sort_values(["from", "to"]).reset_index(drop=True)


def net_process_times(log: ProductionLog) -> pd.DataFrame:
    """One row per processed part: station, product and its net process time (up time between start and
    finish: a breakdown or a planned stop pauses the processing)."""
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


def reference_reliability(log: ProductionLog) -> dict[str, dict]:
    """Per station: MTBF (up hours per breakdown), MTTR (mean repair hours) and scrap rate, from the log."""
    events, states = log.events, log.states
    horizon_s = log.hours * 3600.0
    result = {}
    for station, station_states in states.groupby("machine", sort=False):
        t = np.append(station_states["t_s"].to_numpy(), horizon_s)
        up_s = float((np.diff(t) * station_states["state"].isin(UP_STATES).to_numpy()).sum())
        mine = events[(events["machine"] == station)]
        starts = mine[(mine["kind"] == "downtime_started") & (mine["reason"] == "breakdown")]["t_s"].to_numpy()
        ends = mine[(mine["kind"] == "downtime_ended") & (mine["reason"] == "breakdown")]["t_s"].to_numpy()
        finished = (mine["kind"] == "part_finished").sum()
        scrapped = (mine["kind"] == "part_scrapped").sum()
        result[station] = {
            "mtbf_hours": up_s / 3600.0 / len(starts) if len(starts) else None,
            "mttr_hours": float(np.mean(ends - starts[: len(ends)])) / 3600.0 if len(ends) else None,
            "scrap_rate": float(scrapped / finished) if finished else 0.0,
        }
    return result


def reference_mix(log: ProductionLog) -> dict[str, float]:
    released = log.events[log.events["kind"] == "part_released"]["product"].value_counts(normalize=True)
    return {product: float(share) for product, share in released.items()}


def reference_observed_kpis(log: ProductionLog) -> dict:
    """The plant's KPIs in working time: throughput per planned production hour, mean cycle time in working
    seconds (release to completion), time-average WIP and each station's running share of planned time."""
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
    return {
        "throughput_per_hour": len(completed) / log.work_hours,
        "mean_cycle_time_s": float((completed - released.reindex(completed.index)).mean()),
        "mean_wip": float(in_line.sum() / work_end_s),
        "utilisation": utilisation,
    }


def kpi_table(kpis: dict) -> pd.Series:
    """A KPI dict flattened to one value per KPI name (utilisation_<station> for each station)."""
    flat = {name: value for name, value in kpis.items() if name != "utilisation"}
    flat.update({f"utilisation_{station}": value for station, value in kpis["utilisation"].items()})
    return pd.Series(flat, dtype=float)


# --- checks ------------------------------------------------------------------------------------------------


def check_routings(routings: dict, seed: int) -> None:
    """The routing of each product: its stations in order, every step, nothing else."""
    truth = reference_routings(seed)
    assert isinstance(routings, dict), f"routings must be a dict product -> list of stations, got {type(routings)}"
    assert sorted(routings) == sorted(truth), (
        f"routings: the products are {sorted(truth)}, got {sorted(routings)}: read `product` in the events")
    for product, stations in truth.items():
        assert list(routings[product]) == stations, (
            f"routings[{product!r}] = {list(routings[product])}: not the stations a {product} visits, in order; "
            "take each part's part_started machines in time order and keep the sequence of complete parts")


def check_flow(flow: pd.DataFrame, log: ProductionLog) -> None:
    """The flow diagram's data: parts per move, release, scrap and shipping included."""
    log = _truth(log)
    truth = reference_flow(log)
    assert isinstance(flow, pd.DataFrame), "flow must be a DataFrame with columns from, to, parts"
    missing = {"from", "to", "parts"} - set(flow.columns)
    assert not missing, f"flow: missing column(s) {sorted(missing)}; expected from, to, parts"
    mine = flow.groupby(["from", "to"])["parts"].sum()
    expected = truth.set_index(["from", "to"])["parts"]
    absent = sorted(set(expected.index) - set(mine.index))
    assert not absent, f"flow: moves missing: {absent[:5]} (release, scrap and shipped moves count too)"
    extra = sorted(set(mine.index) - set(expected.index))
    assert not extra, f"flow: moves the parts never make: {extra[:5]}"
    wrong = [(move, int(mine[move]), int(expected[move])) for move in expected.index if mine[move] != expected[move]]
    assert not wrong, ("flow: wrong part counts (move, yours, the log's): "
                       f"{wrong[:3]}; a move to a station counts when the part starts there")


def check_resources(resources: pd.DataFrame, conwip_cap: int, seed: int) -> None:
    """The model's resources: stations in line order, buffer capacities, which ones break down, the WIP cap."""
    plant = plant_variant(seed)
    assert isinstance(resources, pd.DataFrame), "resources must be a DataFrame indexed by station"
    assert list(resources.index) == list(plant.stations), (
        f"resources: index {list(resources.index)}: list every station once, in line order")
    for column in ("buffer_capacity", "has_breakdowns"):
        assert column in resources.columns, f"resources: missing column {column!r}"
    for name, station in plant.stations.items():
        assert resources.loc[name, "buffer_capacity"] == station.input_buffer, (
            f"resources: buffer_capacity of {name} is {resources.loc[name, 'buffer_capacity']}: "
            "read the buffer setpoints of the log")
        assert bool(resources.loc[name, "has_breakdowns"]) == (station.breakdowns is not None), (
            f"resources: has_breakdowns of {name}: check its downtime events (reason breakdown)")
    assert conwip_cap == plant.release.wip_cap, f"conwip_cap = {conwip_cap}: read the conwip setpoint of the log"


def check_process_fits(process_times: dict, log: ProductionLog) -> None:
    """Each (product, station) process time: family, mean and sd against the plant's hidden distribution."""
    log = _truth(log)
    plant = plant_variant(log.seed)
    samples = net_process_times(log)
    for product in plant.products.values():
        assert product.name in process_times, f"process_times: no entry for {product.name!r}"
        for step in product.routing:
            fitted = process_times[product.name].get(step.station)
            where = f"process_times[{product.name!r}][{step.station!r}]"
            assert isinstance(fitted, dict) and "dist" in fitted, (
                f"{where}: must be a plant-file distribution like {{'dist': 'normal', 'mean_s': 60, 'sd_s': 6}}")
            truth = step.time
            assert fitted["dist"] == truth.kind, (
                f"{where}: {fitted['dist']!r} is not the family that fits these times best; compare the "
                "candidates' goodness of fit (e.g. Kolmogorov-Smirnov) on the net process times")
            n = int(((samples["station"] == step.station) & (samples["product"] == product.name)).sum())
            mean_s, sd_s = distribution_moments(fitted)
            true_mean_s, true_sd_s = distribution_moments({"dist": truth.kind, **truth.params})
            mean_tolerance = max(0.02, 4.0 * true_sd_s / true_mean_s / math.sqrt(n))
            assert abs(mean_s / true_mean_s - 1.0) <= mean_tolerance, (
                f"{where}: mean {mean_s:.1f} s is {'above' if mean_s > true_mean_s else 'below'} the plant's by more "
                f"than {mean_tolerance:.1%}; did you take out the time the station was down or stopped?")
            if true_sd_s > 0:
                sd_tolerance = max(0.10, 4.0 / math.sqrt(2 * n))
                assert abs(sd_s / true_sd_s - 1.0) <= sd_tolerance, (
                    f"{where}: standard deviation {sd_s:.1f} s is {'above' if sd_s > true_sd_s else 'below'} the "
                    f"plant's by more than {sd_tolerance:.0%}")


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
    raise AssertionError(f"unknown distribution family {kind!r}: use constant, exponential, normal, lognormal "
                         "or triangular")


def check_reliability(stations: dict, log: ProductionLog) -> None:
    """MTBF, MTTR (hours) and scrap rate per station, against what the log supports."""
    log = _truth(log)
    truth = reference_reliability(log)
    for station, expected in truth.items():
        assert station in stations, f"stations: no entry for {station!r}"
        mine = stations[station]
        for key in ("mtbf_hours", "mttr_hours", "scrap_rate"):
            value, target = mine.get(key), expected[key]
            where = f"stations[{station!r}][{key!r}]"
            if target is None or target == 0.0:
                assert not value, f"{where}: the log shows none at {station}, so it must be None or 0, got {value}"
                continue
            assert isinstance(value, int | float) and value > 0, f"{where}: must be a positive number, got {value!r}"
            hint = {"mtbf_hours": "MTBF counts the station's up time (running, starved, blocked) per breakdown, "
                                  "not calendar time",
                    "mttr_hours": "MTTR is the mean time from downtime_started to downtime_ended (breakdowns)",
                    "scrap_rate": "scrap rate = parts scrapped at the station / parts it finished"}[key]
            assert abs(value / target - 1.0) <= ESTIMATE_TOLERANCE, (
                f"{where} = {value:.4g} is {'too high' if value > target else 'too low'} for this log; {hint}")


def check_mix(mix: dict, log: ProductionLog) -> None:
    log = _truth(log)
    truth = reference_mix(log)
    assert sorted(mix) == sorted(truth), f"mix: the products are {sorted(truth)}, got {sorted(mix)}"
    for product, share in truth.items():
        assert abs(mix[product] - share) <= ESTIMATE_TOLERANCE * share, (
            f"mix[{product!r}] = {mix[product]:.3f}: the share of released parts is not that")


def check_observed_kpis(kpis: dict, log: ProductionLog) -> None:
    """The plant's KPIs computed in working time, against the reference computation (0.5 %)."""
    log = _truth(log)
    truth = kpi_table(reference_observed_kpis(log))
    mine = _flat(kpis, "observed KPIs")
    for name, target in truth.items():
        assert name in mine, f"observed KPIs: missing {name}"
        assert abs(mine[name] - target) <= 0.005 * abs(target) + 1e-9, (
            f"observed KPIs: {name} = {mine[name]:.4g} is {'too high' if mine[name] > target else 'too low'}; "
            "use the working clock work_s (planned production time), not calendar time")


def _flat(kpis, what: str) -> pd.Series:
    assert isinstance(kpis, dict) and "utilisation" in kpis, (
        f"{what} must be a dict with throughput_per_hour, mean_cycle_time_s, mean_wip and utilisation "
        "(a dict station -> share of working time running)")
    return kpi_table(kpis)


def check_confidence_interval(confidence_interval) -> None:
    """A 95 % Student-t interval of the mean of replications."""
    values = [31.2, 29.8, 30.5, 32.0, 30.1]
    low, high = confidence_interval(values)
    half = stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / math.sqrt(len(values))
    assert abs((low + high) / 2 - np.mean(values)) < 1e-9, "the interval must be centred on the sample mean"
    assert abs((high - low) / 2 - half) < 1e-6, (
        f"half-width {(high - low) / 2:.4f}, expected {half:.4f}: use Student's t with n-1 degrees of freedom "
        "and the sample standard deviation (ddof=1)")


def check_validation(validation: pd.DataFrame, replications: pd.DataFrame, log: ProductionLog) -> None:
    """The validation table: the plant's KPIs, the model's mean over replications and its 95 % CI, each KPI
    close enough to the plant's."""
    log = _truth(log)
    observed = kpi_table(reference_observed_kpis(log))
    assert isinstance(replications, pd.DataFrame) and len(replications) >= MIN_REPLICATIONS, (
        f"replications: one row per replication, at least {MIN_REPLICATIONS}")
    for column in ("observed", "model_mean", "ci_low", "ci_high"):
        assert column in validation.columns, f"validation: missing column {column!r}"
    for name, target in observed.items():
        assert name in validation.index and name in replications.columns, f"validation: no row for KPI {name}"
        row = validation.loc[name]
        values = replications[name].to_numpy(dtype=float)
        mean = values.mean()
        half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
        assert abs(row["observed"] - target) <= 0.005 * abs(target) + 1e-9, f"validation: observed {name} is wrong"
        assert abs(row["model_mean"] - mean) <= 1e-9 * max(1.0, abs(mean)), (
            f"validation: model_mean of {name} is not the mean of its replications")
        assert abs(row["ci_low"] - (mean - half)) <= 1e-6 * max(1.0, abs(mean)) and \
            abs(row["ci_high"] - (mean + half)) <= 1e-6 * max(1.0, abs(mean)), (
            f"validation: the 95 % CI of {name} is not the Student-t interval of its replications")
        if name.startswith("utilisation_"):
            tolerance, gap = MODEL_TOLERANCE["utilisation"], abs(mean - target)
            shown = f"{gap:.3f} (absolute)"
        else:
            tolerance, gap = MODEL_TOLERANCE[name], abs(mean / target - 1.0)
            shown = f"{gap:.1%}"
        assert gap <= tolerance, (
            f"validation: the model's {name} is off the plant's by {shown}, more than the {tolerance:g} allowed; "
            "check that parameter's fit, the breakdowns and the routing rules of your model")


def check_model(run_model, params: dict, log: ProductionLog, *, hours: float = 160.0, replications: int = 3) -> None:
    """Run the learner's model afresh (seeds of its own) and compare its mean throughput with the plant's."""
    log = _truth(log)
    observed = reference_observed_kpis(log)
    runs = [run_model(params, hours=hours, seed=1000 + index) for index in range(replications)]
    throughput = float(np.mean([_flat(run, "run_model's result")["throughput_per_hour"] for run in runs]))
    target = observed["throughput_per_hour"]
    tolerance = MODEL_TOLERANCE["throughput_per_hour"]
    assert abs(throughput / target - 1.0) <= tolerance, (
        f"run_model: {throughput:.2f} good parts per working hour over {replications} fresh runs, the plant makes "
        f"{target:.2f}; more than {tolerance:.0%} apart")
