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
- machines[name].state_time_s: seconds each machine spent in each state; stations[name].state_time_s: the
  same summed over the station's servers (machines). utilisation: running time divided by the planned
  production time (the window minus planned stops, summed over the servers), so a breakdown lowers it.
- stations[name].oee: the OEE of the station as a rated machine, by the standard (Vorne, JIPM) definition:
    planned production time = window minus planned stops, for each of its servers;
    run time = planned production time minus the time its servers are down (breakdowns, maintenance,
    a fault's repair);
    availability = run time / planned production time;
    ideal cycle time = for each product, the fastest cycle the station achieves at its rated speed: the
    routing step's `ideal_s`, else its time law's minimum or 5th percentile (`RouteStep.ideal_cycle_s`),
    divided by the station's speed in the plant file; NOT the mean process time, whose slowness against
    the fastest is a performance loss (small stops, slow cycles);
    performance = sum over products of ideal cycle x parts the station finished / run time (starving,
    blocking, slow cycles and speed changes show here);
    quality = the station's good parts (finished and not scrapped there) / parts it finished;
    oee = availability x performance x quality (for one product: ideal cycle x good parts / planned time).
  `ideal_cycle_time_s` reports the ideal cycle averaged over the parts the station finished (over the
  product mix when it finished none). Each station counts its own output, not the line's.
- oee: the line's OEE, measured at its bottleneck (the station with the most work per released part and
  server, once its breakdowns are allowed for, from the plant file's mean times and speeds): that station's
  `oee`, with its name as `bottleneck`.
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
    plant = run.plant
    machine_time = _state_times(run, warmup_s, end_s)
    station_of = plant.machine_station()

    released_at = {}
    good_parts = scrapped_parts = 0
    cycle_times = []
    finished = {name: {} for name in plant.stations}  # station -> product -> parts finished in the window
    scrapped_at = dict.fromkeys(plant.stations, 0)
    for event in run.events:
        kind = event.kind
        if kind == "part_released":
            released_at[event.part_id] = event.t_s
        elif event.t_s < warmup_s:
            continue
        elif kind == "part_finished":
            by_product = finished[station_of[event.machine]]
            by_product[event.product] = by_product.get(event.product, 0) + 1
        elif kind == "part_completed":
            good_parts += 1
            cycle_times.append(event.t_s - released_at[event.part_id])
        elif kind == "part_scrapped":
            scrapped_parts += 1
            scrapped_at[station_of[event.machine]] += 1

    machines = {}
    for name, times in machine_time.items():
        planned_s = window_s - times["planned_stop"]
        machines[name] = {"utilisation": times["running"] / planned_s if planned_s > 0 else None, "state_time_s": times}
    stations = {}
    for name, station in plant.stations.items():
        times = {state: sum(machine_time[m][state] for m in station.machines) for state in STATES}
        planned_s = window_s * station.servers - times["planned_stop"]
        stations[name] = {
            "servers": station.servers,
            "utilisation": times["running"] / planned_s if planned_s > 0 else None,
            "state_time_s": times,
            "oee": _oee(plant, name, times, planned_s, finished[name], scrapped_at[name]),
        }
    rated, _ = bottleneck(plant)
    return {
        "window_s": window_s,
        "throughput_per_hour": good_parts / (window_s / 3600.0),
        "good_parts": good_parts,
        "scrapped_parts": scrapped_parts,
        "mean_cycle_time_s": sum(cycle_times) / len(cycle_times) if cycle_times else None,
        "mean_wip": _mean_wip(run, warmup_s, end_s),
        "stations": stations,
        "machines": machines,
        "oee": {"bottleneck": rated, **stations[rated]["oee"]},
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
        f"{'station':<12}{'servers':>8}{'utilisation':>12}{'OEE':>8}"
        + "".join(f"{state + ' h':>15}" for state in STATES),
    ]
    for name, station in kpis["stations"].items():
        hours = "".join(f"{station['state_time_s'][state] / 3600.0:>15.2f}" for state in STATES)
        lines.append(f"{name:<12}{station['servers']:>8}{show(station['utilisation'], '.1%'):>12}"
                     f"{show(station['oee']['oee'], '.1%'):>8}{hours}")
    return "\n".join(lines)


def bottleneck(plant: Plant) -> tuple[str, float]:
    """The station with the most work per released part and server, allowing for breakdowns, and that work
    in seconds at its speed without breakdowns (mean process times, mix-weighted, over its servers)."""
    work_s = dict.fromkeys(plant.stations, 0.0)
    for product in plant.products.values():
        for step in product.routing:
            station = plant.stations[step.station]
            work_s[step.station] += product.mix * step.time.mean_s / station.speed / station.servers

    def effective_s(name: str) -> float:
        breakdowns = plant.stations[name].breakdowns
        if breakdowns is None:
            return work_s[name]
        return work_s[name] * (breakdowns.mtbf_hours + breakdowns.mttr_hours) / breakdowns.mtbf_hours

    name = max(plant.stations, key=effective_s)
    return name, work_s[name]


def ideal_cycles_s(plant: Plant, station: str) -> dict[str, float]:
    """The station's ideal (fastest) cycle time for each product it works on, at its rated speed."""
    speed = plant.stations[station].speed
    return {product.name: step.ideal_cycle_s / speed for product in plant.products.values()
            for step in product.routing if step.station == station}


def _state_times(run: LineRun, start_s: float, end_s: float) -> dict[str, dict[str, float]]:
    """Seconds each machine spent in each state within [start_s, end_s]."""
    times = {name: dict.fromkeys(STATES, 0.0) for name in run.plant.machine_station()}
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


def _oee(plant: Plant, station: str, times: dict, planned_s: float, finished: dict, scrapped: int) -> dict:
    ideal_s = ideal_cycles_s(plant, station)
    run_s = planned_s - times["down"]
    out = sum(finished.values())
    good = out - scrapped
    ideal_work_s = sum(ideal_s[product] * count for product, count in finished.items())
    if out:
        mean_ideal_s = ideal_work_s / out
    else:
        mix = {p.name: p.mix for p in plant.products.values() if p.name in ideal_s}
        mean_ideal_s = sum(ideal_s[p] * share for p, share in mix.items()) / sum(mix.values()) if mix else None
    availability = run_s / planned_s if planned_s > 0 else None
    performance = ideal_work_s / run_s if run_s > 0 else None
    quality = good / out if out else None
    parts = (availability, performance, quality)
    return {
        "ideal_cycle_time_s": mean_ideal_s,
        "good_parts": good,
        "parts_out": out,
        "availability": availability,
        "performance": performance,
        "quality": quality,
        "oee": None if None in parts else availability * performance * quality,
    }


def _overlap(a_s: float, b_s: float, start_s: float, end_s: float) -> float:
    """Length of [a_s, b_s] inside [start_s, end_s]."""
    return max(0.0, min(b_s, end_s) - max(a_s, start_s))
