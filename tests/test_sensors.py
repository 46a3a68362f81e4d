"""Sensor physics: each kind coupled to the machine's state, speed, product and wear; windows continue smoothly."""

import dataclasses
import math

import numpy as np
import pytest

from simulators.errors import PlantFileError
from simulators.plantfile import load_plant
from simulators.records import Renewal, SetpointChange, StateChange
from simulators.sensors import SEVERITY_RANGE, PlantSensors, check_plant_sensors, plant_sensors, sensor_metadata

PLANT = load_plant()
INDEX = {(info.machine, info.name): info for info in plant_sensors(PLANT)}


def log_for(machine: str, changes: list[tuple[float, str]], others: str = "starved") -> list[StateChange]:
    """A state log where `machine` follows `changes` and every other station stays in `others`."""
    log = [StateChange(0.0, name, others) for name in PLANT.stations if name != machine]
    log += [StateChange(t, machine, state, "breakdown" if state == "down" else None) for t, state in changes]
    return sorted(log, key=lambda c: c.t_s)


def signal(machine, sensor, log, setpoints=(), hours=1.0, window_s=None, scenario=None, seed=7):
    """(t, value) of one sensor over [0, hours), generated in windows of `window_s` (default: one window)."""
    sensors = PlantSensors(PLANT, seed, scenario)
    horizon = hours * 3600.0
    step = window_s or horizon
    ts, values, t0 = [], [], 0.0
    while t0 < horizon:
        t1 = min(t0 + step, horizon)
        readings = sensors.window(t0, t1, log, list(setpoints))
        mine = readings.sensor == INDEX[(machine, sensor)].index
        ts.append(readings.t_s[mine])
        values.append(readings.value[mine])
        t0 = t1
    return np.concatenate(ts), np.concatenate(values)


def test_power_is_load_when_running_idle_when_starved_and_zero_when_down():
    log = log_for("saw", [(0.0, "running"), (1000.0, "starved"), (2000.0, "down"), (3000.0, "planned_stop")])
    t, power = signal("saw", "power", log)
    p = INDEX[("saw", "power")].params
    assert np.allclose(power[t < 1000], p["idle_kw"] + p["load_kw"])
    assert np.allclose(power[(t >= 1000) & (t < 2000)], p["idle_kw"])
    assert np.allclose(power[t >= 2000], 0.0)


def test_power_scales_with_the_speed_setpoint():
    log = log_for("cnc", [(0.0, "running")])
    setpoints = [SetpointChange(0.0, "cnc", "speed", 1.0), SetpointChange(1800.0, "cnc", "speed", 1.25)]
    t, power = signal("cnc", "spindle_power", log, setpoints)
    p = INDEX[("cnc", "spindle_power")].params
    assert np.allclose(power[t < 1800], p["idle_kw"] + p["load_kw"])
    assert np.allclose(power[t >= 1800], p["idle_kw"] + p["load_kw"] * 1.25)


def test_temperature_follows_the_exact_first_order_response_while_running():
    log = log_for("saw", [(0.0, "running")])
    t, temperature = signal("saw", "temperature", log)
    p = INDEX[("saw", "temperature")].params
    ambient, running, tau = p["ambient_c"], p["running_c"], p["time_constant_s"]
    expected = running + (ambient - running) * np.exp(-t / tau)  # starts at ambient, heads for running
    assert np.allclose(temperature, expected, atol=1e-9)
    assert np.all(np.diff(temperature) > 0)


def test_temperature_cools_towards_ambient_from_where_it_was_when_the_machine_stops():
    log = log_for("saw", [(0.0, "running"), (1800.0, "starved")])
    t, temperature = signal("saw", "temperature", log, hours=2.0)
    p = INDEX[("saw", "temperature")].params
    ambient, running, tau = p["ambient_c"], p["running_c"], p["time_constant_s"]
    cool = p["cooling_time_constant_s"]
    at_stop = running + (ambient - running) * math.exp(-1800 / tau)
    after = t >= 1800
    assert np.allclose(temperature[after], ambient + (at_stop - ambient) * np.exp(-(t[after] - 1800) / cool))
    assert np.all(np.diff(temperature[after]) < 0)
    assert temperature[-1] - ambient < 0.1 * (at_stop - ambient)


def test_windows_of_seconds_give_the_same_signal_as_one_window_of_an_hour():
    log = log_for("cnc", [(0.0, "running"), (700.0, "blocked"), (1300.0, "running"), (2500.0, "down"),
                          (2900.0, "running")])
    for sensor in ("spindle_temperature", "vibration", "spindle_power", "coolant_pressure"):
        t_one, one = signal("cnc", sensor, log)
        t_many, many = signal("cnc", sensor, log, window_s=7.0)
        assert np.array_equal(t_one, t_many)
        assert np.allclose(one, many, rtol=1e-12, atol=1e-12), sensor


def test_a_log_that_grows_between_windows_gives_the_same_signal_as_the_whole_log():
    full = log_for("saw", [(0.0, "running"), (900.0, "starved"), (1500.0, "running"), (3000.0, "down")])
    live_log: list[StateChange] = []
    live = PlantSensors(PLANT, 7, None)
    whole = PlantSensors(PLANT, 7, None)
    for t0 in range(0, 3600, 60):
        live_log.extend(c for c in full if t0 <= c.t_s < t0 + 60 or (t0 == 0 and c.t_s == 0))
        got = live.window(float(t0), t0 + 60.0, live_log, [])
        want = whole.window(float(t0), t0 + 60.0, full, [])
        assert np.allclose(got.value, want.value, atol=1e-12)


def renewals_for(machine: str, lives: list[tuple[float, float]]) -> list[Renewal]:
    """Renewals of `machine` at (t_s, life_s); every other machine is renewed at t=0 without a life."""
    others = [Renewal(0.0, name, math.nan) for name in PLANT.stations if name != machine]
    return sorted(others + [Renewal(t, machine, life) for t, life in lives], key=lambda r: r.t_s)


def wear_signal(machine, sensor, log, renewals, hours, window_s=None, seed=7):
    sensors = PlantSensors(PLANT, seed, None)
    horizon, step = hours * 3600.0, (window_s or hours * 3600.0)
    ts, values, t0 = [], [], 0.0
    while t0 < horizon:
        t1 = min(t0 + step, horizon)
        readings = sensors.window(t0, t1, log, [], renewals)
        mine = readings.sensor == INDEX[(machine, sensor)].index
        ts.append(readings.t_s[mine])
        values.append(readings.value[mine])
        t0 = t1
    return np.concatenate(ts), np.concatenate(values)


def test_vibration_rises_over_the_end_of_a_life_up_to_a_bounded_peak_and_drops_after_the_repair():
    """The CNC, renewed at t=0 with a life of 5 h of up time, breaks down at 5 h: its vibration is flat at first,
    rises over the last part of the life up to base + gain x severity (at most base + gain), and is back to base
    once repaired (renewed at 5.5 h with a new life)."""
    hour = 3600.0
    log = log_for("cnc", [(0.0, "running"), (5 * hour, "down"), (5.5 * hour, "running")])
    renewals = renewals_for("cnc", [(0.0, 5 * hour), (5.5 * hour, 20 * hour)])
    t, vibration = wear_signal("cnc", "vibration", log, renewals, hours=7.0)
    p = INDEX[("cnc", "vibration")].params
    at = {h: vibration[np.searchsorted(t, h * hour)] for h in (0.1, 2.0, 4.0, 4.99, 5.6)}
    assert at[0.1] == pytest.approx(p["base_mm_s"], abs=1e-3)
    assert at[0.1] < at[2.0] < at[4.0] < at[4.99]
    assert at[2.0] - at[0.1] < (at[4.99] - at[0.1]) / 10  # the precursor is in the last part of the life
    peak = at[4.99] - p["base_mm_s"]
    assert SEVERITY_RANGE[0] * p["wear_gain_mm_s"] * 0.99 < peak <= p["wear_gain_mm_s"]
    assert at[5.6] == pytest.approx(p["base_mm_s"], abs=1e-3)
    assert np.allclose(vibration[(t >= 5 * hour) & (t < 5.5 * hour)], p["rest_mm_s"])
    assert vibration.max() <= p["base_mm_s"] + p["wear_gain_mm_s"]


def test_wear_counts_up_time_and_stops_while_the_machine_is_off():
    """Wear is the up time since the renewal over the life: 2 h of planned stop in the middle add nothing."""
    hour = 3600.0
    stopped = log_for("cnc", [(0.0, "running"), (1 * hour, "planned_stop"), (3 * hour, "starved"),
                              (3.5 * hour, "running")])
    straight = log_for("cnc", [(0.0, "running"), (1 * hour, "starved"), (1.5 * hour, "running")])
    renewals = renewals_for("cnc", [(0.0, 4 * hour)])
    t_stop, with_stop = wear_signal("cnc", "vibration", stopped, renewals, hours=5.0)
    t_run, without = wear_signal("cnc", "vibration", straight, renewals, hours=5.0)
    # 2.5 h of up time: at 4.5 h with the stop, at 2.5 h without
    assert with_stop[np.searchsorted(t_stop, 4.5 * hour)] == pytest.approx(
        without[np.searchsorted(t_run, 2.5 * hour)], rel=1e-9)


def test_without_renewals_the_machines_wear_by_their_reference_from_each_repair():
    """MES logs alone (no renewals): renewed at t=0 and at the end of each down state, worn over the MTBF."""
    hour = 3600.0
    log = log_for("cnc", [(0.0, "running"), (6 * hour, "down"), (6.5 * hour, "running")])
    t, vibration = signal("cnc", "vibration", log, hours=7.0)
    p = INDEX[("cnc", "vibration")].params
    assert p["wear_reference_hours"] == PLANT.stations["cnc"].breakdowns.mtbf_hours
    worn = vibration[np.searchsorted(t, 5.9 * hour)]  # worn out after the MTBF of up time, and it stays so
    assert SEVERITY_RANGE[0] * p["wear_gain_mm_s"] <= worn - p["base_mm_s"] <= p["wear_gain_mm_s"]
    assert vibration[np.searchsorted(t, 6.6 * hour)] == pytest.approx(p["base_mm_s"], abs=1e-3)


def test_pressure_and_flow_are_nominal_running_reduced_idle_and_zero_when_down():
    log = log_for("saw", [(0.0, "running"), (1200.0, "blocked"), (2400.0, "down")])
    t, flow = signal("saw", "coolant_flow", log)
    p = INDEX[("saw", "coolant_flow")].params
    assert np.allclose(flow[t < 1200], p["nominal_l_min"])
    assert np.allclose(flow[(t >= 1200) & (t < 2400)], p["nominal_l_min"] * p["idle_fraction"])
    assert np.allclose(flow[t >= 2400], 0.0)
    log = log_for("deburr", [(0.0, "running"), (1200.0, "starved"), (2400.0, "planned_stop")])
    t, pressure = signal("deburr", "air_pressure", log)
    p = INDEX[("deburr", "air_pressure")].params
    assert np.allclose(pressure[t < 1200], p["nominal_bar"])
    assert np.allclose(pressure[(t >= 1200) & (t < 2400)], p["nominal_bar"] * p["idle_fraction"])
    assert np.allclose(pressure[t >= 2400], 0.0)


def test_every_sensor_samples_once_per_period_on_a_fixed_phase():
    readings = PlantSensors(PLANT, 7, None).window(0.0, 600.0, log_for("saw", [(0.0, "running")]), [])
    for info in plant_sensors(PLANT):
        mine = readings.sensor == info.index
        seq, t = readings.seq[mine], readings.t_s[mine]
        assert np.array_equal(seq, np.arange(600))
        phase = t[0]
        assert 0 <= phase < 1.0
        assert np.allclose(t, seq * PLANT.sensor_period_s + phase)


def test_windows_must_be_contiguous():
    sensors = PlantSensors(PLANT, 7, None)
    sensors.window(0.0, 10.0, [], [])
    with pytest.raises(ValueError, match="contiguous"):
        sensors.window(20.0, 30.0, [], [])


def test_metadata_gives_each_sensor_its_location_unit_range_period_and_resolution():
    meta = sensor_metadata(PLANT)
    assert len(meta) == sum(len(s.sensors) for s in PLANT.stations.values())
    loc = PLANT.location
    saw_power = PLANT.stations["saw"].sensors[0]
    assert meta[0] == {
        "topic": f"factorylab/{loc.site}/{loc.area}/{loc.line}/saw/{saw_power.name}", "site": loc.site,
        "area": loc.area, "line": loc.line, "machine": "saw", "sensor": saw_power.name, "kind": saw_power.kind,
        "unit": saw_power.unit, "low": saw_power.low, "high": saw_power.high, "period_s": PLANT.sensor_period_s,
        "resolution": 0.0,
    }
    realistic = {(m["machine"], m["sensor"]): m["resolution"] for m in sensor_metadata(load_plant("realistic"))}
    assert realistic[("saw", "power")] == 0.01 and realistic[("saw", "temperature")] == 0.1


def plant_with_saw_power(**changes):
    saw = PLANT.stations["saw"]
    power = dataclasses.replace(saw.sensors[0], **changes)
    stations = {**PLANT.stations, "saw": dataclasses.replace(saw, sensors=(power, *saw.sensors[1:]))}
    return dataclasses.replace(PLANT, stations=stations)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"params": {"idle_kw": 0.8}}, r"stations\.saw\.sensors\.power\.params\.load_kw: missing"),
        ({"params": {"idle_kw": 0.8, "load_kw": 6.5, "turbo": 1}}, r"params\.turbo: unknown parameter"),
        ({"params": {"idle_kw": -1, "load_kw": 6.5}}, r"params\.idle_kw: must be >= 0, got -1"),
        ({"params": {"idle_kw": "lots", "load_kw": 6.5}}, r"params\.idle_kw: must be a finite number"),
        ({"kind": "humidity"}, r"sensors\.power\.kind: unknown sensor kind 'humidity'"),
    ],
)
def test_bad_sensor_parameters_are_refused_naming_the_file_and_field(changes, message):
    plant = plant_with_saw_power(**changes)
    with pytest.raises(PlantFileError, match=message) as error:
        check_plant_sensors(plant)
    assert str(error.value).startswith(PLANT.source)


def test_the_bundled_plant_sensors_are_valid_and_defaults_are_filled_in():
    check_plant_sensors(PLANT)
    saw_temperature = INDEX[("saw", "temperature")].params
    assert saw_temperature["cooling_time_constant_s"] == saw_temperature["time_constant_s"]
    assert INDEX[("wash", "pump_vibration")].params["wear_reference_hours"] == 168.0  # no breakdowns
    assert INDEX[("saw", "power")].params["standby_kw"] == 0.0
