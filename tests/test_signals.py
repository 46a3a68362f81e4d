"""The properties of real sensor data, each an option of the plant file or the scenario, off by default: per-sensor
periods, rounding, correlated and oscillating noise, operating regimes that move levels between days (the hall's
temperature, the product mix), overshoots at restarts, exports without a sequence counter and a clock stepping
back."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from simulators.dataset import write_dataset
from simulators.imperfections import ImperfectionRates, Imperfections
from simulators.line import simulate
from simulators.plantfile import default_plant_path, load_plant, parse_plant
from simulators.records import StateChange
from simulators.regimes import Hall
from simulators.scenarios import load_scenario
from simulators.sensors import PlantSensors, plant_sensors, sensor_metadata

HOUR_S, DAY_S = 3600.0, 86400.0
REALISTIC = load_plant("realistic")
DEFAULT = load_plant()


def _plant_with(**top):
    data = yaml.safe_load(default_plant_path().read_text())
    data.update(top)
    return parse_plant(data, "with.yaml")


def test_the_defaults_keep_todays_data_1_hz_unrounded_without_regimes():
    assert {info.period_s for info in plant_sensors(DEFAULT)} == {1.0}
    assert {info.resolution for info in plant_sensors(DEFAULT)} == {0.0}
    assert not Hall(DEFAULT, 1).active and not DEFAULT.regimes.product_plan
    rates = ImperfectionRates()
    assert (rates.noise_correlation_s, rates.oscillation_fraction) == (0.0, 0.0)
    normal = load_scenario("normal", DEFAULT)
    assert normal.export.sequence_counter and not normal.export.clock_steps


def test_each_sensor_samples_at_its_own_period_from_1_s_to_5_min():
    log = [StateChange(0.0, name, "running") for name in REALISTIC.stations]
    readings = PlantSensors(REALISTIC, 2).window(0.0, 2 * HOUR_S, log, [])
    periods = {info.period_s for info in plant_sensors(REALISTIC)}
    assert min(periods) >= 1 and max(periods) == 300 and len(periods) > 3
    for info in plant_sensors(REALISTIC):
        t = readings.t_s[readings.sensor == info.index]
        assert np.allclose(np.diff(t), info.period_s) and len(t) == pytest.approx(2 * HOUR_S / info.period_s, abs=1)
    meta = {(m["machine"], m["sensor"]): m["period_s"] for m in sensor_metadata(REALISTIC)}
    assert meta[("wash", "bath_temperature")] == 300 and meta[("cnc", "coolant_pressure")] == 5


def _observed(plant, rates=None, scenario=None, hours=2.0, seed=4):
    log = [StateChange(0.0, name, "running") for name in plant.stations]
    physics, network = PlantSensors(plant, seed, scenario), Imperfections(plant, seed, scenario, rates)
    observed, truth = network.apply(physics.window(0.0, hours * HOUR_S, log, []))
    return observed, truth


def test_values_are_reported_in_multiples_of_the_sensors_resolution():
    observed, _ = _observed(REALISTIC)
    for info in plant_sensors(REALISTIC):
        values = observed.value[observed.sensor == info.index]
        steps = values / info.resolution
        assert np.allclose(steps, np.round(steps), atol=1e-6), info.name
        assert len(np.unique(values)) < len(values)  # rounding makes exact repeats of valid readings


def _lag1(residual: np.ndarray) -> float:
    return float(np.corrcoef(residual[:-1], residual[1:])[0, 1])


QUIET = ImperfectionRates(spike_rate=0, out_of_range_rate=0, dropout_rate=0, duplicate_rate=0, late_rate=0,
                          clock_jump_rate=0, stuck_rate=0, gap_rate=0, drift_sensor_fraction=0)


def test_noise_may_be_correlated_over_time_and_oscillate():
    quiet = QUIET
    index = next(i.index for i in plant_sensors(DEFAULT) if i.name == "air_pressure")
    white_obs, truth = _observed(DEFAULT, quiet)
    white = white_obs.value[white_obs.sensor == index] - truth.true_value[truth.sensor == index]
    correlated_obs, _ = _observed(DEFAULT, dataclasses.replace(quiet, noise_correlation_s=30.0))
    correlated = correlated_obs.value[correlated_obs.sensor == index] - truth.true_value[truth.sensor == index]
    assert abs(_lag1(white)) < 0.05
    assert _lag1(correlated) == pytest.approx(math.exp(-1 / 30.0), abs=0.03)  # AR(1) at 1 s over 30 s
    assert correlated.std() == pytest.approx(white.std(), rel=0.2)  # same variance, other colour
    oscillating_obs, _ = _observed(DEFAULT, dataclasses.replace(quiet, oscillation_fraction=0.01,
                                                                 oscillation_period_s=600.0))
    wave = oscillating_obs.value[oscillating_obs.sensor == index] - truth.true_value[truth.sensor == index]
    t = truth.t_s[truth.sensor == index]
    fit = np.linalg.lstsq(np.column_stack([np.sin(2 * np.pi * t / 600), np.cos(2 * np.pi * t / 600)]), wave,
                          rcond=None)[0]
    assert np.hypot(*fit) == pytest.approx(0.01 * 10.0, rel=0.05)  # 1 % of the 10 bar span, at 10 minutes


def test_spikes_can_be_small():
    rates = dataclasses.replace(QUIET, noise_fraction=0.0, spike_rate=0.05, spike_min_fraction=0.02,
                                spike_max_fraction=0.05)
    observed, truth = _observed(DEFAULT, rates, hours=0.5)
    spans = np.array([info.high - info.low for info in plant_sensors(DEFAULT)])
    spiked = truth.defect == 2  # DEFECTS.index("spike")
    moved = np.abs(observed.value - truth.true_value)  # no late or duplicate messages here: same order
    share = moved[spiked] / spans[truth.sensor[spiked]]
    assert spiked.sum() > 100 and share.min() >= 0.02 and share.max() <= 0.05


def test_the_hall_temperature_moves_levels_between_days_and_weeks():
    plant = _plant_with(regimes={"ambient": {"day_night_c": 3.0, "weekend_c": -6.0, "day_to_day_sd_c": 2.0}})
    hall = Hall(plant, 5)
    t = np.arange(0, 14 * DAY_S, HOUR_S)
    offset = hall.offset_c(t)
    clock_h = (6 + t / HOUR_S) % 24  # t=0 is Monday 06:00
    weekday = ((6 * HOUR_S + t) // DAY_S) % 7
    afternoons, nights = offset[np.isclose(clock_h, 15)], offset[np.isclose(clock_h, 3)]
    assert (afternoons.mean() - nights.mean()) == pytest.approx(6.0, abs=1.5)
    assert offset[weekday >= 5].mean() < offset[weekday < 5].mean() - 4
    daily = pd.Series(offset[weekday < 5]).groupby((6 * HOUR_S + t[weekday < 5]) // DAY_S).mean()
    assert daily.max() - daily.min() > 2  # the weather moves a working day's level by degrees
    assert np.array_equal(hall.offset_c(t), Hall(plant, 5).offset_c(t[::-1])[::-1])  # independent of the order
    # a temperature sensor rides on it: an idle machine reads the hall
    log = [StateChange(0.0, name, "starved") for name in plant.stations]
    readings = PlantSensors(plant, 5).window(0.0, 3 * DAY_S, log, [])
    info = next(i for i in plant_sensors(plant) if (i.machine, i.name) == ("deburr", "temperature"))
    mine = readings.sensor == info.index
    expected = info.params["ambient_c"] + Hall(plant, 5).offset_c(readings.t_s[mine])
    # the hall holds each clock hour's value; the machine follows it with its lag: compare once it has settled
    settled = readings.t_s[mine] % HOUR_S > 3 * info.params["cooling_time_constant_s"]
    assert np.abs(readings.value[mine] - expected)[settled].max() < 0.1


def test_a_products_load_moves_the_running_power_level():
    """The realistic plant's housing loads the CNC 1.2, a bracket 0.9: the spindle draws more for a housing."""
    run = simulate(REALISTIC, hours=8, seed=6)
    readings = PlantSensors(REALISTIC, 6).window(0.0, 8 * HOUR_S, run.state_log, run.setpoints, run.renewals,
                                                 run.events)
    info = next(i for i in plant_sensors(REALISTIC) if (i.machine, i.name) == ("cnc", "spindle_power"))
    t, power = readings.t_s[readings.sensor == info.index], readings.value[readings.sensor == info.index]
    cycles = {e.part_id: e for e in run.events if e.machine == "cnc" and e.kind == "part_started"}
    by_product = {"bracket": [], "housing": []}
    for end in (e for e in run.events if e.machine == "cnc" and e.kind == "part_finished"):
        start = cycles[end.part_id]
        inside = (t > start.t_s + 20) & (t < end.t_s - 20)
        by_product[start.product].extend(power[inside])
    p = info.params
    assert np.median(by_product["bracket"]) == pytest.approx(p["idle_kw"] + p["load_kw"] * 0.9, rel=0.05)
    assert np.median(by_product["housing"]) == pytest.approx(p["idle_kw"] + p["load_kw"] * 1.2, rel=0.05)


def test_the_product_plan_shifts_the_days_levels():
    """Monday's brackets and Friday's housings: the CNC's mean running power differs from one day to the other."""
    run = simulate(REALISTIC, hours=4 * 24 + 16, seed=6)
    sensors = PlantSensors(REALISTIC, 6)
    info = next(i for i in plant_sensors(REALISTIC) if (i.machine, i.name) == ("cnc", "spindle_power"))
    logs = (run.state_log, run.setpoints, run.renewals, run.events)
    monday = sensors.window(0.0, 16 * HOUR_S, *logs)
    sensors.window(16 * HOUR_S, 4 * DAY_S, *logs)  # windows are contiguous: Tuesday to Thursday, unread
    friday = sensors.window(4 * DAY_S, 4 * DAY_S + 16 * HOUR_S, *logs)
    levels = []
    for readings in (monday, friday):
        values = readings.value[readings.sensor == info.index]
        levels.append(values[values > 10].mean())  # while machining
    assert levels[1] - levels[0] > 2.0


def test_pumps_overshoot_when_they_restart_after_a_stop():
    log = [StateChange(0.0, name, "running") for name in REALISTIC.stations if name != "cnc"]
    log += [StateChange(0.0, "cnc", "running"), StateChange(600.0, "cnc", "planned_stop", "break"),
            StateChange(1500.0, "cnc", "running")]
    readings = PlantSensors(REALISTIC, 2).window(0.0, 3600.0, sorted(log, key=lambda c: c.t_s), [])
    info = next(i for i in plant_sensors(REALISTIC) if (i.machine, i.name) == ("cnc", "coolant_pressure"))
    t, pressure = readings.t_s[readings.sensor == info.index], readings.value[readings.sensor == info.index]
    p = info.params
    after = t >= 1500
    decay = np.exp(-(t[after] - 1500) / p["restart_time_constant_s"])
    expected = p["nominal_bar"] * (1 + p["restart_overshoot"] * decay)
    assert np.allclose(pressure[after], expected)
    assert pressure[(t > 100) & (t < 600)] == pytest.approx(p["nominal_bar"])  # long after the start: nominal


def test_an_export_without_sequence_counter_and_with_the_clock_stepping_back(tmp_path):
    """The historian scenario: no `seq` column, and from the step on every timestamp is an hour earlier, so an
    hour of timestamps appears twice with different values (no duplicates to drop)."""
    scenario = load_scenario("historian", DEFAULT)
    ((at_s, step_s),) = scenario.clock_steps(9)
    assert step_s == -3600 and 2 * HOUR_S <= at_s <= 6 * HOUR_S
    out = write_dataset(plant=DEFAULT, scenario=scenario, seed=9, hours=7, out_dir=tmp_path / "historian")
    readings = pd.read_parquet(out / "readings.parquet")
    truth = pd.read_parquet(out / "readings_truth.parquet")
    assert "seq" not in readings.columns and "seq" in truth.columns
    one = readings[(readings.machine == "cnc") & (readings.sensor == "spindle_temperature")]
    stamps = (one.timestamp - pd.Timestamp(DEFAULT.start)).dt.total_seconds()
    repeated = (stamps >= at_s - 3600) & (stamps < at_s)
    assert repeated.sum() > 1.8 * 3600 * 0.95  # the hour before the step, reported twice
    assert one.timestamp.max() < DEFAULT.start + pd.Timedelta(hours=6.01)  # the 7 h run ends an hour early
    card = (out / "DATACARD.md").read_text()
    assert "sequence counter (`seq` column): no" in card and "-3600 s at" in card
    with_seq = write_dataset(plant=DEFAULT, scenario=scenario, seed=9, hours=1, out_dir=tmp_path / "with",
                             sequence_counter=True)
    assert "seq" in pd.read_parquet(with_seq / "readings.parquet").columns
    assert "--seq" in (with_seq / "DATACARD.md").read_text()
