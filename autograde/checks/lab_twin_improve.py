"""Checks of lab_twin_improve: the methods team's twin, the plant's trial runs, and the grading of the gap
analysis, the monitoring plan, the test plan's setpoints and the dashboards against the plant's truth.

The plant is lab_twin_build's (the default plant, one working week per learner seed, `production_log`). The
learner's twin is the methods team's model, `twin_params(seed)`: lab_model_line's `params` form (mix,
routings, process-time laws, station reliabilities and buffers), calibrated last quarter. Each seed's twin is
off the plant in its own way: three (product, station) process times are stale by 10-20 % (a tool change, a
new fixture), the other parameters within a few per cent. `twin_plant(params, setpoints)` turns such a
params dict into a plant for `simulators.line.simulate`, so the twin runs on the same engine as the plant
and, with the same seed, meets the same breakdowns (common random numbers: a gap between the two is the
model's, not the dice's).

The brief's economics (per working week): each good part brings MARGIN_EUR, less the CNC's tooling, which
wears faster at higher speed (TOOL_EUR x speed^4 per part); each CONWIP card (a part allowed in the line)
costs WIP_CARD_EUR (cash tied up, floor space, lead time promised to customers) and each place of the CNC's
input buffer BUFFER_PLACE_EUR. The test plan is one factor at a time in the order of SWEEPS, each from the
setpoints chosen before it; the grader replays that plan on the true plant (GRADER_REPLICATIONS weeks, common
random numbers) in the learner's own context and accepts a setpoint whose true contribution is within
REGRET_TOLERANCE_EUR of the best level of the same sweep.
"""

import math
from dataclasses import replace
from functools import lru_cache
from types import MappingProxyType

import numpy as np
import pandas as pd
import simpy
from scipy import stats

from autograde.checks.lab_model_line import distribution_moments
from autograde.checks.lab_twin_build import DAY_S, LOG_HOURS, SHIFT_S, production_log, shift_window
from simulators.distributions import Distribution, parse_distribution
from simulators.learner import learner_seed
from simulators.line import Line
from simulators.plantfile import Breakdowns, Plant, load_plant
from simulators.seeding import stream

MARGIN_EUR = 40.0
TOOL_EUR = 4.0
WIP_CARD_EUR = 1000.0
BUFFER_PLACE_EUR = 150.0
CURRENT_SETPOINTS = MappingProxyType({"conwip": 6, "cnc_speed": 1.0, "cnc_buffer": 6})
SWEEPS = MappingProxyType({
    "conwip": tuple(range(2, 11)),
    "cnc_speed": tuple(round(0.85 + 0.05 * i, 2) for i in range(11)),  # 0.85 to 1.35
    "cnc_buffer": tuple(range(1, 7)),
})
MIN_REPLICATIONS = 5
GRADER_REPLICATIONS = 6
GRADER_SEED = 9000  # replication r of the grader's sweeps uses seed GRADER_SEED + r
REGRET_TOLERANCE_EUR = 400.0
STALE_PAIRS = 3  # process times the stale twin gets wrong
STALE_RANGE = (0.10, 0.20)  # by this much, either way
GAP_THRESHOLD = 0.05  # a process time more than 5 % off the plant's is a gap to act on
FIDELITY_CONWIP = (3, 6)  # the twin is validated where variability matters (3) and at the current cap (6)
FIDELITY_SEEDS = tuple(range(4000, 4004))
FIDELITY_TOLERANCE = 0.02
UP_STATES = ("running", "starved", "blocked")
BREAK_AFTER_S, BREAK_S = 4 * 3600.0, 15 * 60.0
MONITORED = ("good_parts", "mean_lead_time_s", "cnc_starved_share")
REFERENCE_DAYS = 2  # control limits from Monday and Tuesday, checks from Wednesday on


# --- what learners get -----------------------------------------------------------------------------------


def twin_params(seed: int | None = None) -> dict:
    """The methods team's twin of the line, as calibrated last quarter (lab_model_line's params form)."""
    seed = learner_seed() if seed is None else seed
    plant = load_plant()
    rng = stream(seed, "twin_improve", "stale")
    pairs = [(product.name, step.station) for product in plant.products.values() for step in product.routing]
    stale = {pairs[i] for i in rng.choice(len(pairs), STALE_PAIRS, replace=False)}
    process_times = {}
    for product in plant.products.values():
        process_times[product.name] = {}
        for step in product.routing:
            if (product.name, step.station) in stale:
                factor = 1.0 + float(rng.choice([-1.0, 1.0]) * rng.uniform(*STALE_RANGE))
            else:
                factor = 1.0 + float(rng.uniform(-0.02, 0.02))
            process_times[product.name][step.station] = {
                "dist": step.time.kind, **{k: round(v * factor, 2) for k, v in step.time.params.items()}}
    stations = {}
    for name, station in plant.stations.items():
        near = lambda value: round(value * (1.0 + float(rng.uniform(-0.03, 0.03))), 4)  # noqa: E731
        breakdowns = station.breakdowns
        stations[name] = {"buffer": station.input_buffer,
                          "mtbf_hours": near(breakdowns.mtbf_hours) if breakdowns else None,
                          "mttr_hours": near(breakdowns.mttr_hours) if breakdowns else None,
                          "scrap_rate": near(station.scrap_rate)}
    mix = {name: product.mix for name, product in plant.products.items()}
    return {"conwip": plant.release.wip_cap, "mix": mix,
            "routings": {name: [step.station for step in p.routing] for name, p in plant.products.items()},
            "process_times": process_times, "stations": stations}


def twin_plant(params: dict, setpoints: dict | None = None) -> Plant:
    """The line described by `params` (with `setpoints` applied) as a plant `simulators.line` can run.

    The calendar, location and sensors are the plant's documented ones; every hidden parameter comes from
    `params`. `setpoints`: any of conwip, cnc_speed, cnc_buffer (CURRENT_SETPOINTS for the others)."""
    plant = load_plant()
    chosen = {**CURRENT_SETPOINTS, "conwip": params.get("conwip", CURRENT_SETPOINTS["conwip"]), **(setpoints or {})}
    stations = {}
    for name, station in plant.stations.items():
        mine = params["stations"][name]
        breakdowns = (Breakdowns(float(mine["mtbf_hours"]), float(mine["mttr_hours"]))
                      if mine.get("mtbf_hours") else None)
        stations[name] = replace(station, breakdowns=breakdowns, scrap_rate=float(mine.get("scrap_rate") or 0.0),
                                 input_buffer=chosen["cnc_buffer"] if name == "cnc" else mine["buffer"],
                                 speed=float(chosen["cnc_speed"]) if name == "cnc" else station.speed)
    products = {}
    for name, product in plant.products.items():
        routing = tuple(replace(step, time=parse_distribution(params["process_times"][name][step.station],
                                                              f"process_times.{name}.{step.station}"))
                        for step in product.routing)
        products[name] = replace(product, mix=float(params["mix"][name]), routing=routing)
    return replace(plant, stations=stations, products=products, source="<twin>",
                   release=replace(plant.release, wip_cap=int(chosen["conwip"])))


def run_week(plant: Plant, seed: int, hours: float = LOG_HOURS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The MES export (events, states) of `plant` over `hours` from Monday 06:00 (lab_twin_build's form)."""
    env = simpy.Environment()
    line = Line(env, plant, seed)
    env.run(until=hours * 3600.0)
    events = pd.DataFrame(line.events, columns=["t_s", "kind", "machine", "part_id", "product", "reason"])
    states = pd.DataFrame(line.state_log, columns=["t_s", "machine", "state", "reason"])
    return events.astype({"part_id": "Int64"}), states


def good_parts(plant: Plant, seed: int, hours: float = LOG_HOURS) -> int:
    """Good parts completed in `hours` (the test plan's response, without building DataFrames)."""
    env = simpy.Environment()
    line = Line(env, plant, seed)
    env.run(until=hours * 3600.0)
    return line.completed


def contribution_eur(good: float, setpoints: dict) -> float:
    """The brief's weekly contribution of `good` parts made with `setpoints`."""
    return (good * (MARGIN_EUR - TOOL_EUR * float(setpoints["cnc_speed"]) ** 4)
            - WIP_CARD_EUR * setpoints["conwip"] - BUFFER_PLACE_EUR * setpoints["cnc_buffer"])


def plant_trial(setpoints: dict, seed: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The MES export of the week the plant runs with `setpoints` (same week, same breakdowns as the log)."""
    seed = learner_seed() if seed is None else seed
    return run_week(_true_plant(_checked(setpoints)), seed)


def working_seconds(from_s: float, to_s: float) -> float:
    """Planned production time between two moments of the week (shifts 06:00-22:00 Mon-Fri, breaks out)."""
    total = 0.0
    for day in range(5):
        for shift in (0, 1):
            start_s = day * DAY_S + shift * SHIFT_S
            resume_s = start_s + BREAK_AFTER_S + BREAK_S
            for low, high in ((start_s, start_s + BREAK_AFTER_S), (resume_s, start_s + SHIFT_S)):
                total += max(0.0, min(high, to_s) - max(low, from_s))
    return total


def recorded_stream(until_s: float, seed: int | None = None, prefix: str = "factorylab/lyon/machining/line1"):
    """The `_events` and `_state` messages a subscriber received up to `until_s`, decoded, in order."""
    return [(topic, payload) for _, topic, payload in _timed_stream(until_s, seed, prefix)]


def _timed_stream(until_s: float, seed: int | None, prefix: str) -> list[tuple[float, str, dict]]:
    events, states = production_log(seed, hours=until_s / 3600.0 + 0.01)
    items = []
    for row in events[events["t_s"] <= until_s].itertuples(index=False):
        payload = {"timestamp": row.timestamp, "kind": row.kind, "machine": row.machine,
                   "part_id": None if pd.isna(row.part_id) else int(row.part_id), "product": row.product,
                   "reason": row.reason}
        items.append((row.t_s, 0, f"{prefix}/_events", payload))
    for row in states[states["t_s"] <= until_s].itertuples(index=False):
        items.append((row.t_s, 1, f"{prefix}/{row.machine}/_state",
                      {"timestamp": row.timestamp, "state": row.state, "reason": row.reason}))
    items.sort(key=lambda item: item[:2])
    return [(t_s, topic, payload) for t_s, _, topic, payload in items]


# --- the truth ----------------------------------------------------------------------------------------------


def _checked(setpoints: dict) -> dict:
    assert isinstance(setpoints, dict) and set(setpoints) == set(SWEEPS), (
        f"setpoints must be a dict with exactly the keys {sorted(SWEEPS)}, got {setpoints!r}")
    for name, levels in SWEEPS.items():
        assert any(math.isclose(setpoints[name], level) for level in levels), (
            f"setpoints[{name!r}] = {setpoints[name]!r}: not one of the test plan's levels {levels}")
    return dict(setpoints)


def _true_plant(setpoints: dict) -> Plant:
    plant = load_plant()
    stations = dict(plant.stations)
    stations["cnc"] = replace(stations["cnc"], input_buffer=int(setpoints["cnc_buffer"]),
                              speed=float(setpoints["cnc_speed"]))
    return replace(plant, stations=stations, release=replace(plant.release, wip_cap=int(setpoints["conwip"])))


@lru_cache(maxsize=512)
def _true_contribution(conwip: int, cnc_speed: float, cnc_buffer: int) -> float:
    setpoints = {"conwip": conwip, "cnc_speed": cnc_speed, "cnc_buffer": cnc_buffer}
    plant = _true_plant(setpoints)
    good = np.mean([good_parts(plant, GRADER_SEED + r) for r in range(GRADER_REPLICATIONS)])
    return contribution_eur(float(good), setpoints)


def true_sweep(parameter: str, context: dict) -> pd.Series:
    """The plant's mean weekly contribution at each level of `parameter`, the others as in `context`."""
    values = {}
    for level in SWEEPS[parameter]:
        point = {**context, parameter: level}
        values[level] = _true_contribution(int(point["conwip"]), round(float(point["cnc_speed"]), 2),
                                           int(point["cnc_buffer"]))
    return pd.Series(values, name=parameter)


def net_process_times(events: pd.DataFrame, states: pd.DataFrame) -> pd.DataFrame:
    """One row per processed part: product, station, net process time (s of up time between start and
    finish; a breakdown or a planned stop pauses the processing)."""
    horizon_s = max(float(events["t_s"].max()), float(states["t_s"].max()))
    rows = []
    for station, mine in states.groupby("machine", sort=False):
        t = np.append(mine["t_s"].to_numpy(), horizon_s)
        up_s = np.concatenate([[0.0], np.cumsum(np.diff(t) * mine["state"].isin(UP_STATES).to_numpy())])
        at = events[events["machine"] == station]
        started = at[at["kind"] == "part_started"].set_index("part_id")
        finished = at[at["kind"] == "part_finished"].set_index("part_id")["t_s"].rename("t_end_s")
        both = started.join(finished, how="inner")
        net = np.interp(both["t_end_s"].to_numpy(), t, up_s) - np.interp(both["t_s"].to_numpy(), t, up_s)
        rows.append(pd.DataFrame({"product": both["product"].to_numpy(), "station": station, "net_s": net}))
    return pd.concat(rows, ignore_index=True)


def reference_gaps(seed: int, params: dict) -> pd.DataFrame:
    """Per (product, station): the twin's mean process time, the plant's (from the week's log), the gap."""
    events, states = production_log(seed)
    plant_mean = net_process_times(events, states).groupby(["product", "station"])["net_s"].mean()
    rows = []
    for product, steps in params["process_times"].items():
        for station, dist in steps.items():
            twin_s = distribution_moments(dist)[0]
            plant_s = float(plant_mean[(product, station)])
            rows.append((product, station, twin_s, plant_s, twin_s / plant_s - 1.0))
    gaps = pd.DataFrame(rows, columns=["product", "station", "twin_mean_s", "plant_mean_s", "gap"])
    gaps["significant"] = gaps["gap"].abs() > GAP_THRESHOLD
    return gaps.set_index(["product", "station"])


def monitoring_values(events: pd.DataFrame, states: pd.DataFrame) -> pd.DataFrame:
    """The monitored parameters for each working hour without a break, indexed by the hour's start (s)."""
    hours = [day * DAY_S + h * 3600.0 for day in range(5) for h in range(16) if h not in (4, 12)]
    released = events[events["kind"] == "part_released"].set_index("part_id")["t_s"]
    completed = events[events["kind"] == "part_completed"]
    cnc = states[states["machine"] == "cnc"]
    t = np.append(cnc["t_s"].to_numpy(), LOG_HOURS * 3600.0)
    starved_s = np.concatenate([[0.0], np.cumsum(np.diff(t) * (cnc["state"] == "starved").to_numpy())])
    rows = []
    for start_s in hours:
        end_s = start_s + 3600.0
        done = completed[(completed["t_s"] >= start_s) & (completed["t_s"] < end_s)]
        lead_s = done["t_s"].to_numpy() - released.reindex(done["part_id"]).to_numpy()
        starved = float(np.interp(end_s, t, starved_s) - np.interp(start_s, t, starved_s)) / 3600.0
        rows.append((start_s, len(done), float(lead_s.mean()) if len(done) else float("nan"), starved))
    return pd.DataFrame(rows, columns=["hour_start_s", *MONITORED]).set_index("hour_start_s")


def reference_limits(values: pd.DataFrame) -> pd.DataFrame:
    """Individuals-chart limits per parameter from the reference days: CL = mean, sigma = mean moving range /
    1.128, limits CL +/- 3 sigma, the lower one not below 0."""
    reference = values[values.index < REFERENCE_DAYS * DAY_S]
    rows = {}
    for name in MONITORED:
        series = reference[name].dropna()
        centre = float(series.mean())
        sigma = float(series.diff().abs().mean()) / 1.128
        rows[name] = {"lcl": max(0.0, centre - 3 * sigma), "cl": centre, "ucl": centre + 3 * sigma}
    return pd.DataFrame(rows).T


# --- grading ------------------------------------------------------------------------------------------------


def check_gaps(gaps: pd.DataFrame, seed: int | None = None, params: dict | None = None) -> None:
    """The learner's gap table: each pair's twin and plant mean process time, the gap, the significant flag."""
    seed = learner_seed() if seed is None else seed
    params = twin_params(seed) if params is None else params
    truth = reference_gaps(seed, params)
    assert isinstance(gaps, pd.DataFrame), "gaps must be a DataFrame indexed by (product, station)"
    missing = {"twin_mean_s", "plant_mean_s", "gap", "significant"} - set(gaps.columns)
    assert not missing, f"gaps: missing column(s) {sorted(missing)}"
    absent = sorted(set(truth.index) - set(gaps.index))
    assert not absent, f"gaps: no row for {absent[:3]} (index: product, station)"
    for key, row in truth.iterrows():
        mine = gaps.loc[key]
        assert abs(float(mine["twin_mean_s"]) / row["twin_mean_s"] - 1) <= 1e-3, (
            f"gaps {key}: twin_mean_s {float(mine['twin_mean_s']):.1f}, the twin's law has mean "
            f"{row['twin_mean_s']:.1f} s")
        assert abs(float(mine["plant_mean_s"]) / row["plant_mean_s"] - 1) <= 0.01, (
            f"gaps {key}: plant_mean_s {float(mine['plant_mean_s']):.1f} s, the log gives {row['plant_mean_s']:.1f} s; "
            "count only the station's up time between part_started and part_finished (breakdowns and stops pause it)")
        assert bool(mine["significant"]) == bool(row["significant"]), (
            f"gaps {key}: significant is {bool(mine['significant'])}, the gap is {row['gap']:+.1%} "
            f"(threshold {GAP_THRESHOLD:.0%})")


def check_action_plan(plan: pd.DataFrame, seed: int | None = None, params: dict | None = None) -> None:
    """At least three actions, each with an objective, an owner and a deadline, covering every significant gap."""
    seed = learner_seed() if seed is None else seed
    params = twin_params(seed) if params is None else params
    assert isinstance(plan, pd.DataFrame) and len(plan) >= 3, "ACTION_PLAN: a DataFrame of at least 3 actions"
    missing = {"action", "gap", "objective", "owner", "deadline"} - set(plan.columns)
    assert not missing, f"ACTION_PLAN: missing column(s) {sorted(missing)}"
    for column in ("action", "objective", "owner"):
        empty = plan[column].astype(str).str.strip().isin(["", "nan", "None"])
        assert not empty.any(), f"ACTION_PLAN: action {int(empty.to_numpy().argmax())} has no {column}"
    deadlines = pd.to_datetime(plan["deadline"].astype(str), format="%Y-%m-%d", errors="coerce")
    assert deadlines.notna().all(), "ACTION_PLAN: each deadline must be a date (YYYY-MM-DD)"
    truth = reference_gaps(seed, params)
    significant = {f"{product}/{station}" for product, station in truth.index[truth["significant"]]}
    covered = set(plan["gap"].astype(str))
    assert significant <= covered, (
        f"ACTION_PLAN: no action on the significant gap(s) {sorted(significant - covered)} "
        "(column gap: 'product/station')")
    stray = covered - {f"{product}/{station}" for product, station in truth.index} - {"model", "data", "process"}
    assert not stray, f"ACTION_PLAN: unknown gap(s) {sorted(stray)}: use 'product/station', or model/data/process"


def fidelity(params: dict) -> dict[int, float]:
    """Relative gap of the twin's good parts to the plant's, per CONWIP level of FIDELITY_CONWIP (same seeds)."""
    result = {}
    for conwip in FIDELITY_CONWIP:
        setpoints = {**CURRENT_SETPOINTS, "conwip": conwip}
        twin = sum(good_parts(twin_plant(params, setpoints), seed) for seed in FIDELITY_SEEDS)
        plant = sum(good_parts(_true_plant(setpoints), seed) for seed in FIDELITY_SEEDS)
        result[conwip] = twin / plant - 1.0
    return result


def check_twin_fidelity(params: dict) -> None:
    """The recalibrated twin makes the plant's output within FIDELITY_TOLERANCE at CONWIP 3 and 6."""
    for conwip, gap in fidelity(params).items():
        assert abs(gap) <= FIDELITY_TOLERANCE, (
            f"with CONWIP {conwip}, the twin makes {gap:+.1%} good parts against the plant over the same weeks "
            f"(allowed: {FIDELITY_TOLERANCE:.0%}); recalibrate every significant process time, and keep each "
            "law's family and spread (at a low CONWIP the variability of the CNC decides the output)")


def check_monitoring(plan: dict, log: pd.DataFrame, seed: int | None = None) -> None:
    """At least 3 monitored parameters with the brief's limits, and a log of every check from Wednesday on."""
    seed = learner_seed() if seed is None else seed
    values = monitoring_values(*production_log(seed))
    limits = reference_limits(values)
    assert isinstance(plan, dict) and len(plan) >= 3, "MONITORING_PLAN: at least 3 parameters"
    missing = sorted(set(MONITORED) - set(plan))
    assert not missing, f"MONITORING_PLAN: no entry for {missing}"
    for name in MONITORED:
        entry = plan[name]
        for key in ("lcl", "cl", "ucl", "setpoint", "reaction"):
            assert key in entry, f"MONITORING_PLAN[{name!r}]: missing {key!r}"
        assert entry["setpoint"] in SWEEPS, (
            f"MONITORING_PLAN[{name!r}]['setpoint'] must be one of {sorted(SWEEPS)}: the setpoint that acts on it")
        for key in ("lcl", "cl", "ucl"):
            want = limits.loc[name, key]
            assert abs(float(entry[key]) - want) <= 1e-3 * max(1.0, abs(want)), (
                f"MONITORING_PLAN[{name!r}][{key!r}] = {float(entry[key]):.4g}, the reference days give {want:.4g}: "
                "individuals chart, sigma = mean moving range / 1.128, limits at 3 sigma, the lower one not below 0")
    assert isinstance(log, pd.DataFrame), "MONITORING_LOG must be a DataFrame"
    need = {"hour_start_s", "parameter", "value", "out_of_control"}
    assert need <= set(log.columns), f"MONITORING_LOG: needs the columns {sorted(need)}"
    checked = values[values.index >= REFERENCE_DAYS * DAY_S]
    for name in MONITORED:
        mine = log[log["parameter"] == name].set_index("hour_start_s")
        expected = checked[name].dropna()
        assert len(mine) == len(expected) and set(mine.index) == set(expected.index), (
            f"MONITORING_LOG: {len(mine)} checks of {name}; every working hour without a break from Wednesday "
            f"on holds one ({len(expected)})")
        wrong = [h for h in expected.index
                 if abs(float(mine.loc[h, "value"]) - expected[h]) > 1e-3 * max(1.0, abs(expected[h]))]
        assert not wrong, f"MONITORING_LOG: {name} at hour_start_s={wrong[0]:g} is not the log's value"
        flags = (expected < limits.loc[name, "lcl"]) | (expected > limits.loc[name, "ucl"])
        mismatched = [h for h in expected.index if bool(mine.loc[h, "out_of_control"]) != bool(flags[h])]
        assert not mismatched, (f"MONITORING_LOG: {name} at hour_start_s={mismatched[0]:g}: out_of_control is "
                                f"{bool(mine.loc[mismatched[0], 'out_of_control'])}")


def check_test_plan(results: pd.DataFrame, recommended: dict) -> None:
    """The test plan's table: every level of each sweep, replications, Student-t 95 % CI, and the recommended
    setpoint of each parameter is its sweep's best mean."""
    need = {"parameter", "level", "replications", "mean_eur", "sd_eur", "ci_low_eur", "ci_high_eur"}
    assert isinstance(results, pd.DataFrame) and need <= set(results.columns), (
        f"TEST_RESULTS must be a DataFrame with the columns {sorted(need)}")
    for name, levels in SWEEPS.items():
        rows = results[results["parameter"] == name]
        assert sorted(round(float(v), 2) for v in rows["level"]) == sorted(round(float(v), 2) for v in levels), (
            f"TEST_RESULTS: the levels of {name} must be {levels}")
        assert (rows["replications"] >= MIN_REPLICATIONS).all(), (
            f"TEST_RESULTS: at least {MIN_REPLICATIONS} replications per level ({name})")
        half = stats.t.ppf(0.975, rows["replications"] - 1) * rows["sd_eur"] / np.sqrt(rows["replications"])
        assert np.allclose(rows["ci_low_eur"], rows["mean_eur"] - half, rtol=1e-6, atol=1e-3) and np.allclose(
            rows["ci_high_eur"], rows["mean_eur"] + half, rtol=1e-6, atol=1e-3), (
            f"TEST_RESULTS: the CI of {name} is not mean +/- t(0.975, n-1) x sd / sqrt(n)")
        best = float(rows.loc[rows["mean_eur"].idxmax(), "level"])
        assert math.isclose(float(recommended[name]), best), (
            f"RECOMMENDED[{name!r}] = {recommended[name]}, your test plan's best level is {best}")


def check_setpoints(recommended: dict) -> None:
    """Each recommended setpoint is optimal on the true plant within REGRET_TOLERANCE_EUR, in the test plan's
    order and context (one factor at a time, from the setpoints chosen before it)."""
    recommended = _checked(recommended)
    context = dict(CURRENT_SETPOINTS)
    for name in SWEEPS:
        curve = true_sweep(name, context)
        level = next(lv for lv in SWEEPS[name] if math.isclose(lv, recommended[name]))
        regret = float(curve.max() - curve[level])
        assert regret <= REGRET_TOLERANCE_EUR, (
            f"{name} = {recommended[name]}: on the plant this setpoint earns {regret:,.0f} EUR a week less than its "
            f"best level {curve.idxmax()} (tolerance {REGRET_TOLERANCE_EUR:,.0f} EUR): is the twin faithful at this "
            "range of settings (recalibrated, right laws)?")
        context[name] = level


def check_applied(recommended: dict, replies: dict, status: dict) -> None:
    """The three setpoints were sent on `_cmd`, accepted on `_reply`, and the plant's status shows them."""
    assert isinstance(replies, dict) and len(replies) >= 3, (
        "REPLIES: the plant's reply to each of your 3 commands, by command id")
    refused = {key: reply for key, reply in replies.items() if not reply.get("ok")}
    assert not refused, f"the plant refused: {refused}"
    assert status.get("conwip") == recommended["conwip"], (
        f"the plant's status shows CONWIP {status.get('conwip')}, you recommended {recommended['conwip']}")
    assert math.isclose(status["speeds"]["cnc"], recommended["cnc_speed"]), (
        f"the CNC runs at speed {status['speeds']['cnc']}, you recommended {recommended['cnc_speed']}")
    assert status["buffers"]["cnc"]["capacity"] == recommended["cnc_buffer"], (
        f"the CNC's buffer holds {status['buffers']['cnc']['capacity']}, you recommended {recommended['cnc_buffer']}")


def true_dashboard(until_s: float, rate_per_h: float, seed: int) -> dict:
    """What the three dashboards must show after the stream up to `until_s`."""
    events, states = production_log(seed, hours=until_s / 3600.0 + 0.01)
    done = events[(events["kind"] == "part_completed") & (events["t_s"] <= until_s)]["t_s"]
    start_s, _ = shift_window(until_s)
    per_shift = done.groupby((done // DAY_S) * 2 + ((done % DAY_S) >= SHIFT_S)).size()
    last = states[states["t_s"] <= until_s].groupby("machine").tail(1)
    return {"shift_output": int((done >= start_s).sum()),
            "states": dict(zip(last["machine"], last["state"], strict=True)),
            "shift_outputs": [int(per_shift.get(i, 0)) for i in range(int(until_s // DAY_S) * 2
                                                                      + (until_s % DAY_S >= SHIFT_S) + 1)],
            "week_projection": len(done) + rate_per_h * working_seconds(until_s, LOG_HOURS * 3600.0) / 3600.0}


def _trace_value(figure, what: str):
    assert figure.data, f"dashboards.figures[{what!r}] has no trace"
    return figure.data[0]


def check_dashboards(make_dashboards, rate_per_h: float, seed: int | None = None,
                     cuts_s=(2 * DAY_S + 5 * 3600.0 + 600.0, 3 * DAY_S + 10 * 3600.0 + 1800.0)) -> None:
    """Replay the MES stream into one set of dashboards up to each cut; each time they show the truth."""
    import ipywidgets

    seed = learner_seed() if seed is None else seed
    boards = make_dashboards(rate_per_h)
    figures = getattr(boards, "figures", None)
    assert isinstance(figures, dict) and set(figures) == {"operational", "tactical", "strategic"}, (
        "dashboards.figures must map 'operational', 'tactical' and 'strategic' to plotly figures")
    widget = getattr(boards, "widget", None)
    assert isinstance(widget, ipywidgets.Tab) and len(widget.children) >= 3, (
        "dashboards.widget must be an ipywidgets.Tab with one tab per level (one shared place)")
    stream = _timed_stream(max(cuts_s), seed, "factorylab/lyon/machining/line1")
    position = 0
    for cut_s in cuts_s:
        while position < len(stream) and stream[position][0] <= cut_s:
            boards.update(*stream[position][1:])
            position += 1
        boards.refresh()
        truth = true_dashboard(cut_s, rate_per_h, seed)
        where = f"after the stream up to t={cut_s:.0f} s"
        shown = _trace_value(figures["operational"], "operational").value
        assert shown == truth["shift_output"], (
            f"{where}: the operational dashboard shows {shown} good parts this shift, the plant made "
            f"{truth['shift_output']}")
        lights = {machine: html.value for machine, html in getattr(boards, "lights", {}).items()}
        for machine, state in truth["states"].items():
            assert state in lights.get(machine, ""), f"{where}: the light of {machine} must show {state!r}"
        bars = list(_trace_value(figures["tactical"], "tactical").y or ())
        assert [int(v) for v in bars] == truth["shift_outputs"], (
            f"{where}: the tactical dashboard's bars {bars} are not the good parts of each shift so far "
            f"{truth['shift_outputs']}")
        projection = _trace_value(figures["strategic"], "strategic").value
        assert projection is not None and abs(float(projection) - truth["week_projection"]) <= 1.0, (
            f"{where}: the strategic dashboard projects {projection} good parts for the week, expected "
            f"{truth['week_projection']:.0f} (made so far + twin rate x remaining working hours)")


def scaled_law(dist: dict, factor: float) -> dict:
    """A plant-file law with every time multiplied by `factor` (same family, same coefficient of variation)."""
    law = Distribution(dist["dist"], {k: v for k, v in dist.items() if k != "dist"})
    return {"dist": law.kind, **{k: v * factor for k, v in law.params.items()}}
