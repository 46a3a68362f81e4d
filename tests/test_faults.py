"""Every bundled fault scenario moves the signals a real fault of its kind moves, the right way, acts on the line
(slower, more scrap, a repair stop) and says so in its ground truth; a slow fault grows and comes and goes."""

import numpy as np
import pytest

from simulators.faults import KINDS
from simulators.line import simulate
from simulators.plantfile import load_plant
from simulators.scenarios import load_scenario
from simulators.sensors import RUNNING, STATE_CODE, PlantSensors, plant_sensors

SEED = 3
HOURS = 8.0
POWERED = {"power", "pressure", "flow"}  # compared while the machine is powered; the others while it runs

# scenario -> (bundled plant, {sensor: direction}, speed factor, extra scrap, repair stop in hours)
EXPECTED = {
    "cooling_failure": ("default", {"spindle_temperature": "up", "coolant_pressure": "down"}, 0.85, 0.03, 0.5),
    "slow_cooling_degradation": ("default", {"spindle_temperature": "up", "coolant_pressure": "down"}, 0.95, 0.01,
                                 0.25),
    "bearing_wear": ("default", {"vibration": "up", "temperature": "up", "power": "up"}, 1.0, 0.02, 0.75),
    "pressure_leak": ("realistic", {"air_pressure": "down", "air_flow": "up"}, 0.85, 0.0, 0.25),
    "energy_overconsumption": ("default", {"power": "up", "bath_temperature": "up"}, 1.0, 0.0, 0.25),
}


def _true_signals(plant, run, scenario):
    sensors = PlantSensors(plant, SEED, scenario)
    return sensors.window(0.0, HOURS * 3600.0, run.state_log, run.setpoints, run.renewals, run.events)


def _state_at(run, machine, t):
    changes = [(c.t_s, STATE_CODE[c.state]) for c in run.state_log if c.machine == machine]
    times = np.asarray([c[0] for c in changes])
    return np.asarray([c[1] for c in changes])[np.searchsorted(times, t, side="right") - 1]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_fault_moves_its_signals_the_right_way_and_acts_on_the_line(name):
    plant_name, moves, speed_factor, scrap_rate, repair_h = EXPECTED[name]
    plant = load_plant(plant_name)
    scenario = load_scenario(name, plant)
    (window,) = scenario.fault_windows(SEED)
    assert window.end_s + window.repair_s <= HOURS * 3600.0
    normal, faulty = simulate(plant, hours=HOURS, seed=SEED), simulate(plant, hours=HOURS, seed=SEED,
                                                                       scenario=scenario)
    # the ground truth states the signature and the consequences
    kinds = {spec.name: spec.kind for spec in plant.stations[window.machine].sensors}
    assert dict(pair.split(":") for pair in window.signature(kinds).split(",")) == moves
    assert (window.speed_factor, window.scrap_rate, window.repair_s) == (speed_factor, scrap_rate, repair_h * 3600)
    # the line: the same as normal until the fault, then slower, then stopped for the repair
    assert [e for e in faulty.events if e.t_s < window.start_s] == [e for e in normal.events if e.t_s < window.start_s]
    stops = [(e.t_s, e.kind) for e in faulty.events if e.reason == window.kind and e.machine == window.machine]
    assert [kind for _, kind in stops] == ["downtime_started", "downtime_ended"]
    assert [t for t, _ in stops] == pytest.approx([window.end_s, window.end_s + window.repair_s])
    if speed_factor != 1.0:
        def mean_duration(run):
            started = {e.part_id: e.t_s for e in run.events if e.kind == "part_started" and e.machine == window.machine
                       and window.start_s <= e.t_s < window.end_s - 600}
            return np.mean([e.t_s - started[e.part_id] for e in run.events
                            if e.kind == "part_finished" and e.part_id in started and e.machine == window.machine])

        assert mean_duration(faulty) / mean_duration(normal) == pytest.approx(1 / speed_factor, rel=0.15)
    # the signals: over the fault's second half, each listed sensor departs from normal in its direction
    late = window.start_s + (window.end_s - window.start_s) / 2
    base, hit = _true_signals(plant, normal, "normal"), _true_signals(plant, faulty, scenario)
    for info in plant_sensors(plant):
        if info.machine != window.machine or info.name not in moves:
            continue
        means = []
        for readings, run in ((base, normal), (hit, faulty)):
            mine = (readings.sensor == info.index) & (readings.t_s >= late) & (readings.t_s < window.end_s)
            state = _state_at(run, info.machine, readings.t_s[mine])
            shown = state <= STATE_CODE["blocked"] if info.kind in POWERED else state == RUNNING
            means.append(readings.value[mine][shown].mean())
        change = (means[1] - means[0]) / (info.high - info.low)
        assert change > 0.01 if moves[info.name] == "up" else change < -0.01, (info.name, means)


@pytest.mark.parametrize("name", ["sensor_stuck", "network_outage"])
def test_a_sensor_fault_changes_what_is_observed_only(name):
    plant = load_plant()
    scenario = load_scenario(name, plant)
    assert not KINDS[name].physical
    assert all(w.effect == "none" for w in scenario.fault_windows(SEED))
    assert simulate(plant, hours=HOURS, seed=SEED, scenario=scenario).events == simulate(
        plant, hours=HOURS, seed=SEED).events


def test_a_slow_fault_grows_over_its_development_and_hides_an_erratic_share_of_it():
    plant = load_plant()
    (window,) = load_scenario("slow_cooling_degradation", plant).fault_windows(SEED)
    assert window.develop_s == 3 * 3600.0 and window.hidden
    t = np.arange(window.start_s, window.end_s, 10.0)
    level = window.level(t)
    developing = t < window.start_s + window.develop_s
    shown = level[developing] > 0
    assert 0.5 < shown.mean() < 0.85  # about 35 % hidden, in bursts
    assert np.all(np.diff(level[developing][shown]) >= 0)  # where it shows, it never shrinks…
    assert level[developing][shown][-1] > 0.9 and np.all(level[~developing] == 1.0)  # …and reaches its full size
    bursts = np.diff(np.flatnonzero(np.diff(shown.astype(int)) != 0))
    assert len(bursts) >= 5 and bursts.min() * 10 >= 60  # comes and goes for minutes at a time
