"""The learner's kit of lab_twin_improve: the methods team's twin, the brief's economics, the plant's trial weeks,
the replayed MES stream, and the probe of the dashboards' hidden test cell.

The plant is the learner's own, as in lab_twin_build: the variant of lab_model_line drawn from the variant's seed
(`labkit.lab_model_line.plant_variant(seed)`: process times, MTBF/MTTR and scrap scaled by seeded factors), one
working week of it per variant (`production_log()`, read from the learner's graded variant when graded). The
learner's twin is the methods team's model, `twin_params()`: lab_model_line's `params` form (mix, routings,
process-time laws, station reliabilities and buffers), calibrated last quarter on that plant and off it in its
own way in each variant (`stale_twin(seed)`: three (product, station) process times stale by 10-20 %, the other
parameters within a few per cent). `twin_plant(params, setpoints)` turns a params dict into a plant for
`simulators.line`, so the twin runs on the same engine as the plant and, with the same seed, meets the same
breakdowns (common random numbers: a gap between the two is the model's, not the dice's).

When graded, the kernel reads from the variant's folder what the plant's MES and the methods team would send,
never the seed they came from nor the plant's parameters: the week, the stale twin, the plant's good parts over
the fidelity weeks (`fidelity`) and the trial week's export for each setpoint pair of the test plan
(`plant_trial`). At home the practice variant (`learner_seed()`, public) is simulated here.

The brief's economics (per working week): each good part brings MARGIN_EUR, less the CNC's tooling, which
wears faster at higher speed (TOOL_EUR x speed^4 per part); each CONWIP card costs WIP_CARD_EUR and each place of
the CNC's input buffer BUFFER_PLACE_EUR (six today, not a decision: under a CONWIP cap of a few cards the buffer
never fills); a second CNC machining centre, the capacity project, costs SECOND_CNC_EUR a week. The decisions the
lab grades need the simulation: the CONWIP cap (how much work in process keeps a variable, breaking-down
bottleneck busy) and, once a second CNC shares the first one's buffer, where the bottleneck moves and so which
CONWIP cap and CNC speed then pay (`cnc_machines` in the setpoints).
"""

import math
from dataclasses import replace
from functools import lru_cache
from types import MappingProxyType

import pandas as pd

from labkit.lab_model_line import plant_params, plant_variant
from labkit.lab_twin_build import DAY_S, EVENT_COLUMNS, LOG_HOURS, SHIFT_S, production_log, shift_window
from labkit.variant import graded_input
from simulators.distributions import parse_distribution
from simulators.learner import learner_seed
from simulators.line import simulate
from simulators.plantfile import Breakdowns, Plant, load_plant
from simulators.seeding import stream
from simulators.topics import timestamp

__all__ = ["DAY_S", "LOG_HOURS", "SHIFT_S", "production_log", "shift_window"]  # re-exported for the notebook

MARGIN_EUR = 40.0
TOOL_EUR = 4.0
WIP_CARD_EUR = 1000.0
BUFFER_PLACE_EUR = 150.0
SECOND_CNC_EUR = 20000.0  # a second CNC machining centre: lease, operators for two shifts, tooling stock
CURRENT_SETPOINTS = MappingProxyType({"conwip": 6, "cnc_speed": 1.0, "cnc_buffer": 6, "cnc_machines": 1})
SWEEPS = MappingProxyType({
    "conwip": tuple(range(2, 11)),
    "cnc_speed": tuple(round(0.85 + 0.05 * i, 2) for i in range(11)),  # 0.85 to 1.35
})
PROJECT = MappingProxyType({"cnc_machines": 2})  # the capacity project the twin tests before anyone signs a lease
SETPOINTS = ("conwip", "cnc_speed", "cnc_buffer")  # what the plant's commands set (set_conwip, set_speed, set_buffer)
MIN_REPLICATIONS = 5
STALE_PAIRS = 3  # process times the stale twin gets wrong
STALE_RANGE = (0.10, 0.20)  # by this much, either way
GAP_THRESHOLD = 0.05  # a process time more than 5 % off the plant's is a gap to act on
FIDELITY_CONWIP = (3, 6)  # the twin is validated where variability matters (3) and at the current cap (6)
FIDELITY_SEEDS = tuple(range(4000, 4004))
FIDELITY_TOLERANCE = 0.02
BREAK_AFTER_S, BREAK_S = 4 * 3600.0, 15 * 60.0
MONITORED = ("good_parts", "mean_lead_time_s", "cnc_starved_share")
REFERENCE_DAYS = 2  # control limits from Monday and Tuesday, checks from Wednesday on
STREAM_PREFIX = "factorylab/lyon/machining/line1"
# What a trial week's export holds: the MES's production and downtime records (not each station's operations).
TRIAL_KINDS = ("part_released", "part_completed", "part_scrapped", "downtime_started", "downtime_ended")
TRIAL_COLUMNS = ["t_s", "kind", "machine", "part_id", "product", "reason"]


# --- what learners get -----------------------------------------------------------------------------------


def twin_params() -> dict:
    """The methods team's twin of the line, as calibrated last quarter (lab_model_line's params form)."""
    return graded_input("twin_params", practice=lambda: stale_twin(learner_seed()))


def stale_twin(seed: int) -> dict:
    """The twin of variant `seed`: its plant's laws, three process times 10-20 % off, the rest within 3 %."""
    params = plant_params(plant_variant(seed))
    rng = stream(seed, "twin_improve", "stale")
    laws = params["process_times"]
    pairs = [(product, station) for product, steps in laws.items() for station in steps]
    stale = {pairs[i] for i in rng.choice(len(pairs), STALE_PAIRS, replace=False)}
    for product, station in pairs:
        if (product, station) in stale:
            factor = 1.0 + float(rng.choice([-1.0, 1.0]) * rng.uniform(*STALE_RANGE))
        else:
            factor = 1.0 + float(rng.uniform(-0.02, 0.02))
        law = laws[product][station]
        laws[product][station] = law | {k: round(v * factor, 2) for k, v in law.items() if k != "dist"}
    for station in params["stations"].values():
        for key in ("mtbf_hours", "mttr_hours", "scrap_rate"):
            if station[key] is not None:
                station[key] = round(station[key] * (1.0 + float(rng.uniform(-0.03, 0.03))), 4)
    return params


def twin_plant(params: dict, setpoints: dict | None = None) -> Plant:
    """The line described by `params` (with `setpoints` applied) as a plant `simulators.line` can run.

    The calendar, location and sensors are the plant's documented ones; every hidden parameter comes from
    `params`. `setpoints`: any of conwip, cnc_speed, cnc_buffer, cnc_machines (CURRENT_SETPOINTS for the others;
    a second CNC is an identical machine sharing the first one's input buffer)."""
    plant = load_plant()
    chosen = {**CURRENT_SETPOINTS, "conwip": params.get("conwip", CURRENT_SETPOINTS["conwip"]), **(setpoints or {})}
    stations = {}
    for name, station in plant.stations.items():
        mine = params["stations"][name]
        breakdowns = (Breakdowns(float(mine["mtbf_hours"]), float(mine["mttr_hours"]))
                      if mine.get("mtbf_hours") else None)
        stations[name] = replace(station, breakdowns=breakdowns, scrap_rate=float(mine.get("scrap_rate") or 0.0),
                                 input_buffer=chosen["cnc_buffer"] if name == "cnc" else mine["buffer"],
                                 speed=float(chosen["cnc_speed"]) if name == "cnc" else station.speed,
                                 servers=int(chosen["cnc_machines"]) if name == "cnc" else station.servers)
    products = {}
    for name, product in plant.products.items():
        routing = tuple(replace(step, time=parse_distribution(params["process_times"][name][step.station],
                                                              f"process_times.{name}.{step.station}"))
                        for step in product.routing)
        products[name] = replace(product, mix=float(params["mix"][name]), routing=routing)
    return replace(plant, stations=stations, products=products, source="<twin>",
                   release=replace(plant.release, wip_cap=int(chosen["conwip"])))


def good_parts(plant: Plant, seed: int, hours: float = LOG_HOURS) -> int:
    """Good parts completed in `hours` (the test plan's response, without building DataFrames)."""
    return sum(event.kind == "part_completed" for event in simulate(plant, hours=hours, seed=seed).events)


def contribution_eur(good: float, setpoints: dict) -> float:
    """The brief's weekly contribution of `good` parts made with `setpoints` (CURRENT_SETPOINTS for the buffer and
    the number of CNCs when not given)."""
    chosen = {**CURRENT_SETPOINTS, **setpoints}
    return (good * (MARGIN_EUR - TOOL_EUR * float(chosen["cnc_speed"]) ** 4)
            - WIP_CARD_EUR * chosen["conwip"] - BUFFER_PLACE_EUR * chosen["cnc_buffer"]
            - SECOND_CNC_EUR * (int(chosen["cnc_machines"]) - 1))


def plant_trial(setpoints: dict) -> pd.DataFrame:
    """The MES export of the trial week the plant runs with `setpoints` (conwip and cnc_speed at levels of the
    test plan): its production and downtime records (TRIAL_KINDS), in EVENT_COLUMNS. On the practice variant, the
    same week and breakdowns as the log; when graded, a trial week of the grader's, read from the exports the MES
    administrator prepared for every setpoint pair of the test plan."""
    chosen = checked_setpoints(setpoints)
    weeks = graded_input("trial_weeks", practice=lambda: trial_week(learner_seed(), learner_seed(), chosen))
    mine = weeks[weeks["conwip"].eq(round(chosen["conwip"]))
                 & (weeks["cnc_speed"] - float(chosen["cnc_speed"])).abs().lt(1e-6)]
    events = mine[TRIAL_COLUMNS].reset_index(drop=True)
    start = load_plant().start
    events.insert(0, "timestamp", [timestamp(start, t_s) for t_s in events["t_s"]])
    return events[EVENT_COLUMNS].astype({"part_id": "Int64"})


def trial_week(seed: int, trial_seed: int, setpoints: dict) -> pd.DataFrame:
    """The trial week `trial_seed` of the plant variant of `seed` run with `setpoints`: its TRIAL_KINDS records
    (TRIAL_COLUMNS) with the setpoints' conwip and cnc_speed on each row."""
    run = simulate(true_plant(seed, setpoints), hours=LOG_HOURS, seed=int(trial_seed))
    rows = [(round(e.t_s, 3), e.kind, e.machine, e.part_id, e.product, e.reason)
            for e in run.events if e.kind in TRIAL_KINDS]
    frame = pd.DataFrame(rows, columns=TRIAL_COLUMNS).astype({"part_id": "Int64"})
    frame.insert(0, "cnc_speed", round(float(setpoints["cnc_speed"]), 2))
    frame.insert(0, "conwip", round(setpoints["conwip"]))
    return frame


def trial_weeks(seed: int, trial_seed: int) -> pd.DataFrame:
    """`trial_week` for every (conwip, cnc_speed) pair of the test plan, in one table (what the grader writes).

    Each pair's trial is a week of its own (seeded from `trial_seed` and the pair): with one week shared by every
    pair, the table would be a common-random-numbers test plan run on the plant itself, its best pair the plant's."""
    rng = stream(trial_seed, "twin_improve", "trial_weeks")
    pairs = [(conwip, speed) for conwip in SWEEPS["conwip"] for speed in SWEEPS["cnc_speed"]]
    weeks = rng.choice(2**31 - 1, len(pairs), replace=False) + 1
    return pd.concat([trial_week(seed, int(week), {"conwip": conwip, "cnc_speed": speed})
                      for (conwip, speed), week in zip(pairs, weeks, strict=True)], ignore_index=True)


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


def recorded_stream(until_s: float, prefix: str = STREAM_PREFIX) -> list[tuple[str, dict]]:
    """The `_events` and `_state` messages a subscriber received up to `until_s` of the week, decoded, in order."""
    return [(topic, payload) for _, topic, payload in timed_stream(until_s, prefix)]


def timed_stream(until_s: float, prefix: str = STREAM_PREFIX) -> list[tuple[float, str, dict]]:
    """(t_s, topic, payload) of each message of the week's stream up to `until_s`, in order."""
    events, states = production_log()
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


# --- the plant the trial weeks run on (the learner's variant: practice at home, the grader's when graded) ---


def checked_setpoints(setpoints: dict) -> dict:
    """`setpoints` as a dict, if it sets each of the three setpoints to one of the test plan's levels."""
    if not (isinstance(setpoints, dict) and set(setpoints) == set(SWEEPS)):
        raise ValueError(f"setpoints must be a dict with exactly the keys {sorted(SWEEPS)}, got {setpoints!r}")
    for name, levels in SWEEPS.items():
        if not any(math.isclose(setpoints[name], level) for level in levels):
            raise ValueError(f"setpoints[{name!r}] = {setpoints[name]!r}: not one of the test plan's levels {levels}")
    return dict(setpoints)


def true_plant(seed: int, setpoints: dict) -> Plant:
    """The plant variant of `seed` with `setpoints` applied (CURRENT_SETPOINTS for those not given)."""
    chosen = {**CURRENT_SETPOINTS, **setpoints}
    plant = plant_variant(seed)
    stations = dict(plant.stations)
    stations["cnc"] = replace(stations["cnc"], input_buffer=int(chosen["cnc_buffer"]),
                              speed=float(chosen["cnc_speed"]), servers=int(chosen["cnc_machines"]))
    return replace(plant, stations=stations, release=replace(plant.release, wip_cap=int(chosen["conwip"])))


def fidelity(params: dict, plant_output: dict | None = None) -> dict[int, float]:
    """Relative gap of the twin's good parts to the plant's, per CONWIP level of FIDELITY_CONWIP (same seeds).

    The plant's side is its good parts over FIDELITY_SEEDS per CONWIP level (`plant_output`, keyed by the level:
    what the plant's MES recorded; the graded variant's when graded, else the practice variant's)."""
    if plant_output is None:
        plant_output = graded_input("fidelity_reference", practice=lambda: fidelity_reference(learner_seed()))
    plant_output = {int(conwip): int(good) for conwip, good in dict(plant_output).items()}
    result = {}
    for conwip in FIDELITY_CONWIP:
        twin = twin_plant(params, {**CURRENT_SETPOINTS, "conwip": conwip})
        result[conwip] = sum(good_parts(twin, seed) for seed in FIDELITY_SEEDS) / plant_output[conwip] - 1.0
    return result


@lru_cache(maxsize=4)
def fidelity_reference(seed: int) -> dict[str, int]:
    """The good parts of the plant variant of `seed` over FIDELITY_SEEDS at the current setpoints, per CONWIP
    level of FIDELITY_CONWIP (keys as strings: plain data for the kernel; the same for every twin)."""
    return {str(conwip): sum(good_parts(true_plant(seed, {"conwip": conwip}), run) for run in FIDELITY_SEEDS)
            for conwip in FIDELITY_CONWIP}


def dashboard_cuts(seed: int) -> list[float]:
    """The two moments of the week (Wednesday, then Thursday, in working hours) at which the dashboards are probed,
    chosen from `seed`."""
    rng = stream(seed, "twin_improve", "dashboard_cuts")
    return [round(day * DAY_S + float(rng.uniform(600.0, 2 * SHIFT_S - 600.0)), 1) for day in (2, 3)]


def probe_dashboards(make_dashboards, rate_per_h: float) -> dict:
    """Replay the week's MES stream into one set of `make_dashboards(rate_per_h)` up to each of the grader's
    moments, refreshing there, and note what the three dashboards show: plain data for `record`."""
    import ipywidgets

    boards = make_dashboards(rate_per_h)
    figures = getattr(boards, "figures", None)
    widget = getattr(boards, "widget", None)
    layout = {"figures": isinstance(figures, dict) and set(figures) == {"operational", "tactical", "strategic"},
              "tab": isinstance(widget, ipywidgets.Tab) and len(widget.children) >= 3}
    cuts_s = [float(cut_s) for cut_s in graded_input("dashboard_cuts", practice=lambda: dashboard_cuts(learner_seed()))]
    shown = []
    if layout["figures"]:
        messages = timed_stream(max(cuts_s))
        position = 0
        for cut_s in cuts_s:
            while position < len(messages) and messages[position][0] <= cut_s:
                boards.update(*messages[position][1:])
                position += 1
            boards.refresh()
            lights = getattr(boards, "lights", {})
            shown.append({"cut_s": cut_s,
                          "operational": _trace(figures["operational"], "value"),
                          "tactical": _trace(figures["tactical"], "y"),
                          "strategic": _trace(figures["strategic"], "value"),
                          "lights": {str(machine): str(getattr(html, "value", ""))
                                     for machine, html in (lights.items() if isinstance(lights, dict) else ())}})
    return {"layout": layout, "rate_per_h": float(rate_per_h), "shown": shown}


def _trace(figure, attribute: str):
    """The first trace's `attribute` as plain data (None when the figure has no trace or it is not plain)."""
    data = getattr(figure, "data", ())
    if not data:
        return None
    value = getattr(data[0], attribute, None)
    if value is None:
        return None
    if attribute == "y":
        try:
            return [float(v) for v in value]
        except (TypeError, ValueError):
            return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def scaled_law(dist: dict, factor: float) -> dict:
    """A plant-file law with every time multiplied by `factor` (same family, same coefficient of variation)."""
    return dist | {k: v * factor for k, v in dist.items() if k != "dist"}
