"""Production KPIs of a simulated run: throughput, cycle time, WIP, station utilisation and OEE.

Everything is computed from the run's logs (state changes and MES events) over the window
[warmup_s, horizon_s], the way a plant computes them from its MES and machine states; a learner who
recomputes a KPI from a dataset's event files should find the same number. Undefined ratios (no
planned production time, no part out) are None, so the result stays JSON-able.

Definitions:
- throughput_per_hour: good parts completed in the window per hour of window (calendar time).
- mean_cycle_time_s: mean time from `part_released` to `part_completed`, over the good parts completed
  in the window.
- mean_wip: time-average number of parts released and not yet completed or scrapped.
- stations[name].state_time_s: seconds spent in each state; utilisation: running time divided by the
  planned production time (the window minus the station's planned stops), so a breakdown lowers it.
- oee, for the line, measured at its bottleneck (the station with the most work per released part once
  its breakdowns are allowed for, from the plant file's nominal times and speed):
    planned production time = window minus planned stops (shifts, breaks);
    run time = planned production time minus the bottleneck's downtime;
    availability = run time / planned production time;
    ideal cycle time = the bottleneck's mix-weighted mean process time per part at nominal speed;
    performance = ideal cycle time x parts out (good + scrapped) / run time (starving and blocking of
    the bottleneck, and speed changes, show here; it may exceed 1 a little when the window cuts work);
    quality = good parts / parts out;
    oee = availability x performance x quality = ideal cycle time x good parts / planned production time.
"""

from simulators.line import LineRun
from simulators.plantfile import Plant
from simulators.records import STATES


def compute_kpis(run: LineRun, *, warmup_s: float = 0.0) -> dict:
    """The KPIs of `run` over [warmup_s, run.horizon_s] (see the module docstring for definitions)."""
    end_s = run.horizon_s
    if not 0.0 <= warmup_s < end_s:
        raise ValueError(f"warmup_s must be in [0, {end_s:g}) (the run's horizon), got {warmup_s!r}")
    window_s = end_s - warmup_s
    state_time = _state_times(run, warmup_s, end_s)

    released_at = {}
    good_parts = scrapped_parts = 0
    cycle_times = []
    for event in run.events:
        if event.kind == "part_released":
            released_at[event.part_id] = event.t_s
        elif event.t_s >= warmup_s and event.kind == "part_completed":
            good_parts += 1
            cycle_times.append(event.t_s - released_at[event.part_id])
        elif event.t_s >= warmup_s and event.kind == "part_scrapped":
            scrapped_parts += 1

    stations = {}
    for name, times in state_time.items():
        planned_s = window_s - times["planned_stop"]
        stations[name] = {
            "utilisation": times["running"] / planned_s if planned_s > 0 else None,
            "state_time_s": times,
        }

    return {
        "window_s": window_s,
        "throughput_per_hour": good_parts / (window_s / 3600.0),
        "good_parts": good_parts,
        "scrapped_parts": scrapped_parts,
        "mean_cycle_time_s": sum(cycle_times) / len(cycle_times) if cycle_times else None,
        "mean_wip": _mean_wip(run, warmup_s, end_s),
        "stations": stations,
        "oee": _oee(run.plant, state_time, window_s, good_parts, scrapped_parts),
    }


def format_kpis(kpis: dict) -> str:
    """The KPIs as a short plain-text report (the `factorylab plant kpis` table)."""

    def show(value, spec: str) -> str:
        return "n/a" if value is None else format(value, spec)

    oee = kpis["oee"]
    lines = [
        f"window              {kpis['window_s'] / 3600.0:.1f} h",
        f"throughput          {kpis['throughput_per_hour']:.2f} good parts/h",
        f"good / scrapped     {kpis['good_parts']} / {kpis['scrapped_parts']}",
        f"mean cycle time     {show(kpis['mean_cycle_time_s'], '.0f')} s",
        f"mean WIP            {kpis['mean_wip']:.2f} parts",
        f"OEE (at {oee['bottleneck']})    {show(oee['oee'], '.1%')}  = availability {show(oee['availability'], '.1%')}"
        f" x performance {show(oee['performance'], '.1%')} x quality {show(oee['quality'], '.1%')}",
        "",
        f"{'station':<12}{'utilisation':>12}" + "".join(f"{state + ' h':>15}" for state in STATES),
    ]
    for name, station in kpis["stations"].items():
        hours = "".join(f"{station['state_time_s'][state] / 3600.0:>15.2f}" for state in STATES)
        lines.append(f"{name:<12}{show(station['utilisation'], '.1%'):>12}{hours}")
    return "\n".join(lines)


def bottleneck(plant: Plant) -> tuple[str, float]:
    """The station with the most work per released part allowing for breakdowns, and that work in
    seconds at nominal speed without breakdowns (the line's ideal cycle time)."""
    work_s = dict.fromkeys(plant.stations, 0.0)
    for product in plant.products.values():
        for step in product.routing:
            work_s[step.station] += product.mix * step.time.mean_s / plant.stations[step.station].speed

    def effective_s(name: str) -> float:
        breakdowns = plant.stations[name].breakdowns
        if breakdowns is None:
            return work_s[name]
        return work_s[name] * (breakdowns.mtbf_hours + breakdowns.mttr_hours) / breakdowns.mtbf_hours

    name = max(plant.stations, key=effective_s)
    return name, work_s[name]


def _state_times(run: LineRun, start_s: float, end_s: float) -> dict[str, dict[str, float]]:
    """Seconds each station spent in each state within [start_s, end_s]."""
    times = {name: dict.fromkeys(STATES, 0.0) for name in run.plant.stations}
    current: dict[str, tuple[float, str]] = {}
    for change in run.state_log:
        if change.machine in current:
            since_s, state = current[change.machine]
            times[change.machine][state] += _overlap(since_s, change.t_s, start_s, end_s)
        current[change.machine] = (change.t_s, change.state)
    for machine, (since_s, state) in current.items():
        times[machine][state] += _overlap(since_s, end_s, start_s, end_s)
    return times


def _mean_wip(run: LineRun, start_s: float, end_s: float) -> float:
    area = 0.0
    wip = 0
    since_s = 0.0
    for event in run.events:
        step = 1 if event.kind == "part_released" else -1 if event.kind in ("part_completed", "part_scrapped") else 0
        if step:
            area += wip * _overlap(since_s, event.t_s, start_s, end_s)
            wip += step
            since_s = event.t_s
    area += wip * _overlap(since_s, end_s, start_s, end_s)
    return area / (end_s - start_s)


def _oee(plant: Plant, state_time: dict, window_s: float, good_parts: int, scrapped_parts: int) -> dict:
    name, ideal_cycle_s = bottleneck(plant)
    planned_s = window_s - state_time[name]["planned_stop"]
    run_s = planned_s - state_time[name]["down"]
    out = good_parts + scrapped_parts
    availability = run_s / planned_s if planned_s > 0 else None
    performance = ideal_cycle_s * out / run_s if run_s > 0 else None
    quality = good_parts / out if out else None
    parts = (availability, performance, quality)
    return {
        "bottleneck": name,
        "ideal_cycle_time_s": ideal_cycle_s,
        "availability": availability,
        "performance": performance,
        "quality": quality,
        "oee": None if None in parts else availability * performance * quality,
    }


def _overlap(a_s: float, b_s: float, start_s: float, end_s: float) -> float:
    """Length of [a_s, b_s] inside [start_s, end_s]."""
    return max(0.0, min(b_s, end_s) - max(a_s, start_s))
