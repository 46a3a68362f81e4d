"""Wear is bounded and drives the failures: lives grow the breakdown hazard with up time, repairs and maintenance
renew a machine, vibration warns before a breakdown, and weeks of normal running stay in every sensor's range
and under the alarm limits the labs use."""

import dataclasses
import math

import numpy as np
import pytest
import simpy

from autograde.verdicts.lab2_dashboard import VIBRATION_ALARM_MM_S
from autograde.verdicts.lab3_alerts import OBJECTIVES
from simulators.line import Line, simulate
from simulators.plantfile import load_plant, parse_plant
from simulators.seeding import stream
from simulators.sensors import PlantSensors, plant_sensors

HOUR_S = 3600.0
SAW_LIMIT_MM_S = next(o.limit for o in OBJECTIVES if (o.machine, o.sensor) == ("saw", "vibration"))
WEEKS = 4


def _one_machine(wear_shape: float | None = None):
    breakdowns = {"mtbf_hours": 1, "mttr_hours": 0.05}
    if wear_shape is not None:
        breakdowns["wear_shape"] = wear_shape
    return parse_plant({
        "schema": "factorylab/plant/v1", "name": "one", "location": {"site": "s", "area": "a", "line": "l"},
        "stations": {"m": {"input_buffer": None, "breakdowns": breakdowns}},
        "products": {"p": {"mix": 1.0, "routing": [{"station": "m", "time": {"dist": "constant", "value_s": 10}}]}},
        "release": {"policy": "conwip", "wip_cap": 1},
    }, "one.yaml")


def _lives_h(plant, hours: float) -> np.ndarray:
    return np.asarray([r.life_s for r in simulate(plant, hours=hours, seed=5).renewals]) / HOUR_S


def test_the_breakdown_hazard_grows_with_wear_and_the_mtbf_holds():
    """With the default wear shape 2 the lives are Weibull: their mean is the MTBF, their spread a Weibull's
    (coefficient of variation 0.52, an exponential's is 1), and a machine that has lasted half an MTBF is more
    likely to fail in the next tenth than a new one."""
    lives = _lives_h(_one_machine(), 600)
    assert len(lives) > 400 and lives.mean() == pytest.approx(1.0, rel=0.1)
    assert lives.std() / lives.mean() == pytest.approx(0.52, abs=0.08)

    def hazard(age_h: float) -> float:
        alive = lives > age_h
        return np.mean(lives[alive] <= age_h + 0.1)

    assert hazard(0.5) > 2 * hazard(0.0)
    memoryless = _lives_h(_one_machine(wear_shape=1), 600)
    assert memoryless.std() / memoryless.mean() == pytest.approx(1.0, abs=0.12)


def test_wear_shape_one_draws_the_very_times_to_failure_an_exponential_law_draws():
    lives_s = [r.life_s for r in simulate(_one_machine(wear_shape=1), hours=50, seed=5).renewals]
    expected = stream(5, "line", "m", "breakdowns").exponential(3600.0, len(lives_s))
    assert lives_s == expected.tolist()


def test_a_machine_breaks_down_once_up_for_its_life_and_a_maintenance_renews_it():
    env = simpy.Environment()
    line = Line(env, _one_machine(), 1)
    first = line.renewals[0]
    maintenance_at = first.life_s / 2
    line.run_until(maintenance_at)
    line.maintenance_stop("m", 600)
    line.run_until(maintenance_at + 600 + 3 * HOUR_S)
    renewal = line.renewals[1]
    assert renewal.t_s == pytest.approx(maintenance_at + 600) and renewal.life_s != first.life_s
    breakdown = next(e.t_s for e in line.events if e.kind == "downtime_started" and e.reason == "breakdown")
    assert breakdown == pytest.approx(renewal.t_s + renewal.life_s)  # the new life, counted from the maintenance


@pytest.fixture(scope="module")
def four_weeks():
    """Four weeks of the default plant, normal scenario, its true signals sampled every 10 s (the physics is
    the 1 Hz plant's; sampling less often keeps the test fast)."""
    plant = dataclasses.replace(load_plant(), sensor_period_s=10.0)
    run = simulate(plant, hours=WEEKS * 7 * 24, seed=7)
    sensors = PlantSensors(plant, 7, "normal")
    windows, t0 = [], 0.0
    while t0 < run.horizon_s:
        t1 = min(t0 + 24 * HOUR_S, run.horizon_s)
        windows.append(sensors.window(t0, t1, run.state_log, run.setpoints, run.renewals, run.events))
        t0 = t1
    values = {info.index: np.concatenate([w.value[w.sensor == info.index] for w in windows])
              for info in plant_sensors(plant)}
    times = {info.index: np.concatenate([w.t_s[w.sensor == info.index] for w in windows])
             for info in plant_sensors(plant)}
    return plant, run, times, values


def test_four_weeks_of_normal_running_stay_in_range_and_under_the_labs_alarm_limits(four_weeks):
    """Every true signal stays in its sensor's range. The vibrations the labs watch stay under the labs' limits
    except in the last hour before a breakdown, when the precursor may reach them: a true alarm."""
    plant, run, times, values = four_weeks
    assert sum(e.reason == "breakdown" for e in run.events if e.kind == "downtime_started") > 50
    for info in plant_sensors(plant):
        assert info.low <= values[info.index].min() and values[info.index].max() <= info.high, (info.machine, info.name)
    index = {(info.machine, info.name): info.index for info in plant_sensors(plant)}
    for machine, limit in (("cnc", VIBRATION_ALARM_MM_S), ("saw", SAW_LIMIT_MM_S)):
        t, vibration = times[index[(machine, "vibration")]], values[index[(machine, "vibration")]]
        downs = np.asarray([e.t_s for e in run.events if e.kind == "downtime_started" and e.reason == "breakdown"
                            and e.machine == machine])
        above = t[vibration >= limit]
        next_down = downs[np.minimum(np.searchsorted(downs, above), len(downs) - 1)]
        assert np.all((next_down >= above) & (next_down - above < HOUR_S)), (machine, limit)
        assert len(above) < 0.02 * np.sum(vibration > 0.1 + 1e-9)  # a small share of the running time


def test_vibration_rises_before_each_breakdown_and_falls_after_its_repair(four_weeks):
    """For every CNC life of 2 h or more: the vibration while running in the last 15 min of up time before the
    breakdown is well above that of the first 15 min after the renewal."""
    plant, run, times, values = four_weeks
    info = next(i for i in plant_sensors(plant) if (i.machine, i.name) == ("cnc", "vibration"))
    t, vibration = times[info.index], values[info.index]
    running = vibration > info.params["rest_mm_s"]
    downs = [e.t_s for e in run.events if e.kind == "downtime_started" and e.reason == "breakdown"
             and e.machine == "cnc"]
    renewals = [r for r in run.renewals if r.machine == "cnc"]
    checked = 0
    for renewal, down_s in zip(renewals, [*downs, math.inf], strict=False):
        if renewal.life_s < 2 * HOUR_S or down_s == math.inf:
            continue
        fresh = running & (t >= renewal.t_s) & (t < renewal.t_s + 0.25 * HOUR_S)
        worn = running & (t < down_s) & (t >= down_s - 0.25 * HOUR_S)
        if fresh.sum() < 10 or worn.sum() < 10:  # a planned stop ate the quarter hour
            continue
        assert vibration[worn].mean() > vibration[fresh].mean() + 1.0, (renewal, down_s)
        checked += 1
    assert checked > 20


def test_renewals_reach_the_sensors_in_any_window_size():
    """The live stream (windows of minutes) and the dataset (one long window) see the same wear."""
    plant = load_plant()
    run = simulate(plant, hours=12, seed=4)
    assert {r.machine for r in run.renewals} == set(plant.stations)
    whole = PlantSensors(plant, 4).window(0.0, 12 * HOUR_S, run.state_log, run.setpoints, run.renewals)
    live, parts, t0 = PlantSensors(plant, 4), [], 0.0
    while t0 < 12 * HOUR_S:
        parts.append(live.window(t0, t0 + 600.0, run.state_log, run.setpoints, run.renewals))
        t0 += 600.0
    for info in plant_sensors(plant):
        if info.kind == "vibration":
            chunked = np.concatenate([part.value[part.sensor == info.index] for part in parts])
            assert np.allclose(chunked, whole.value[whole.sensor == info.index], rtol=1e-12), info.machine
