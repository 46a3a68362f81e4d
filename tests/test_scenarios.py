"""Fault scenarios: bundled files load, inject their fault on the right sensor within its ground-truth window,
vary with the seed, and bad files are refused naming the file and field."""

import dataclasses

import numpy as np
import pytest

from simulators.errors import ScenarioError
from simulators.faults import KINDS
from simulators.imperfections import DEFECT_CODE, Imperfections
from simulators.line import simulate
from simulators.plantfile import load_plant
from simulators.scenarios import list_scenarios, load_scenario
from simulators.sensors import PlantSensors, plant_sensors

PLANT = load_plant()
SEED = 3
HOURS = 7.0
REQUIRED = {"normal", "cooling_failure", "bearing_wear", "pressure_leak", "energy_overconsumption", "sensor_stuck",
            "network_outage"}


@pytest.fixture(scope="module")
def run():
    return simulate(PLANT, hours=HOURS, seed=SEED)


def generate(run, scenario):
    readings = PlantSensors(PLANT, SEED, scenario).window(0.0, HOURS * 3600.0, run.state_log, run.setpoints)
    _, truth = Imperfections(PLANT, SEED, scenario).apply(readings)
    return readings, truth


@pytest.fixture(scope="module")
def normal(run):
    readings, _ = generate(run, "normal")
    return readings


def test_the_required_scenarios_are_bundled_and_described():
    listed = dict(list_scenarios())
    assert set(listed) >= REQUIRED
    assert all(listed[name] for name in REQUIRED)


def test_normal_has_no_fault():
    assert load_scenario("normal", PLANT).fault_windows(SEED) == ()


@pytest.mark.parametrize("name", sorted(REQUIRED - {"normal"}))
def test_each_scenario_shows_its_fault_inside_its_window_on_its_sensors_only(run, normal, name):
    scenario = load_scenario(name, PLANT)
    windows = scenario.fault_windows(SEED)
    assert windows and all(w.end_s <= HOURS * 3600.0 for w in windows)
    readings, truth = generate(run, scenario)
    base_readings = normal
    hit = np.zeros(len(readings), dtype=bool)
    infos = {(i.machine, i.name): i.index for i in plant_sensors(PLANT)}
    for window in windows:
        assert window.kind == name
        for sensor in window.sensors:
            index = infos[(window.machine, sensor)]
            mine = readings.sensor == index
            inside = mine & window.active(readings.t_s)
            before = mine & (readings.t_s < window.start_s)
            hit |= mine & (readings.t_s >= window.start_s)
            change = np.abs(readings.value - base_readings.value)
            assert np.all(change[before] == 0)
            if name == "sensor_stuck":
                labels = truth.defect[(truth.sensor == index) & window.active(truth.t_s)]
                assert np.all(labels == DEFECT_CODE["stuck"])
            elif name == "network_outage":
                labels = truth.defect[(truth.sensor == index) & window.active(truth.t_s)]
                assert np.all(labels == DEFECT_CODE["network_outage"])
            else:
                info = plant_sensors(PLANT)[index]
                # measurable: the fault's main signal (listed first) departs from normal by more than 5 % of the
                # sensor's span, its side effects (friction heat, a sagging pressure…) by more than 1 %
                share = 0.05 if sensor == window.sensors[0] else 0.01
                assert change[inside].max() > share * (info.high - info.low), (name, sensor)
                if info.kind != "temperature":  # a hot machine takes a while to cool back down
                    assert np.all(change[mine & (readings.t_s >= window.end_s)] == 0)
    # no other machine's true signal changes; the fault's own machine changes elsewhere only if the fault slows
    # it down (its power and vibration follow its speed), and only while the fault lasts (its temperatures lag)
    struck = {w.machine for w in windows}
    on_machine = np.isin(readings.sensor, [i.index for i in plant_sensors(PLANT)
                                           if i.machine in struck and i.kind != "temperature"])
    lagging = np.isin(readings.sensor, [i.index for i in plant_sensors(PLANT)
                                        if i.machine in struck and i.kind == "temperature"])
    others = ~hit & ~on_machine & ~lagging
    assert np.array_equal(readings.value[others], base_readings.value[others])
    slowed = any(w.speed_factor != 1.0 for w in windows)
    during = np.any([w.active(readings.t_s) for w in windows], axis=0)
    same = readings.value == base_readings.value
    assert np.all(same[~hit & on_machine & ~during]) and (slowed or np.all(same[~hit & on_machine]))
    if name in ("sensor_stuck", "network_outage"):
        assert np.array_equal(readings.value, base_readings.value)


def test_fault_timing_is_drawn_from_the_seed_within_the_declared_range():
    scenario = load_scenario("cooling_failure", PLANT)
    starts = {seed: scenario.fault_windows(seed)[0].start_s for seed in range(20)}
    assert len(set(starts.values())) == 20
    assert all(3600.0 <= s <= 2.5 * 3600.0 for s in starts.values())
    assert scenario.fault_windows(7) == scenario.fault_windows(7)
    window = scenario.fault_windows(7)[0]
    assert 1.5 * 3600 <= window.end_s - window.start_s <= 2.0 * 3600 + 1e-6
    assert (window.fault_id, window.machine, window.sensors) == (
        "cnc-cooling", "cnc", ("spindle_temperature", "coolant_pressure"))


def test_a_scenario_can_be_loaded_by_path_and_defaults_to_the_sensors_of_the_right_kind(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("faults:\n  - {id: hot, kind: cooling_failure, machine: saw, start_h: 1, duration_h: 0.5}\n")
    scenario = load_scenario(path, PLANT)
    assert scenario.name == "mine"
    (window,) = scenario.fault_windows(0)
    assert (window.start_s, window.end_s) == (3600.0, 5400.0)
    assert window.sensors == ("temperature", "coolant_flow")  # what a coolant failure moves: heat, coolant flow
    assert window.magnitude == KINDS["cooling_failure"].magnitude
    assert (window.speed_factor, window.scrap_rate, window.repair_s) == (0.85, 0.03, 1800.0)  # the kind's defaults


def test_a_network_outage_without_machine_hits_every_station():
    windows = load_scenario("network_outage", PLANT).fault_windows(SEED)
    assert {w.machine for w in windows} == set(PLANT.stations)


def test_imperfection_rates_can_be_overridden_by_a_scenario(tmp_path):
    path = tmp_path / "noisy.yaml"
    path.write_text("imperfections: {spike_rate: 0.01}\nfaults: []\n")
    assert load_scenario(path, PLANT).rates.spike_rate == 0.01


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("faults:\n  - {id: a, kind: cooling_failure, machine: lathe, start_h: 1, duration_h: 1}\n",
         r"faults\[0\]\.machine: 'lathe' is not a station"),
        ("faults:\n  - {id: a, kind: cooling_failure, machine: saw, sensors: [oil], start_h: 1, duration_h: 1}\n",
         r"faults\[0\]\.sensors: station 'saw' has no sensor 'oil'"),
        ("faults:\n  - {id: a, kind: cooling_failure, machine: saw, sensors: [power], start_h: 1, duration_h: 1}\n",
         r"faults\[0\]\.sensors: 'power' is a power sensor; a cooling_failure fault acts on temperature"),
        ("faults:\n  - {id: a, kind: meltdown, machine: saw, start_h: 1, duration_h: 1}\n",
         r"faults\[0\]\.kind: unknown fault kind 'meltdown'"),
        ("faults:\n  - {id: a, kind: bearing_wear, machine: saw, start_h: -1, duration_h: 1}\n",
         r"faults\[0\]\.start_h: hours >= 0"),
        ("faults:\n  - {id: a, kind: bearing_wear, machine: saw, start_h: [3, 1], duration_h: 1}\n",
         r"faults\[0\]\.start_h: hours >= 0, a number or \[low, high\], got \[3, 1\]"),
        ("faults:\n  - {id: a, kind: bearing_wear, machine: saw, start_h: 1}\n",
         r"faults\[0\]\.duration_h: hours > 0"),
        ("faults:\n  - {id: a, kind: bearing_wear, machine: saw, start_h: 1, duration_h: 1, when: now}\n",
         r"faults\[0\]\.when: unknown key"),
        ("faults:\n  - {id: a, kind: pressure_leak, machine: cnc, start_h: 1, duration_h: 1, magnitude: 2}\n",
         r"faults\[0\]\.magnitude: a leak loses a fraction in \[0, 1\]"),
        ("faults:\n  - {id: a, kind: sensor_stuck, machine: cnc, start_h: 1, duration_h: 1, buffered: true}\n",
         r"faults\[0\]\.buffered: true or false, and only for network_outage"),
        ("faults:\n  - {id: a, kind: sensor_stuck, machine: cnc, start_h: 1, duration_h: 1}\n"
         "  - {id: a, kind: sensor_stuck, machine: saw, start_h: 1, duration_h: 1}\n",
         r"faults\[1\]\.id: 'a' is used twice"),
        ("faults:\n  - {id: a, kind: cooling_failure, machine: cnc, start_h: 1, duration_h: 1, develop_h: -1}\n",
         r"faults\[0\]\.develop_h: hours >= 0"),
        ("faults:\n  - {id: a, kind: cooling_failure, machine: cnc, start_h: 1, duration_h: 1, erratic: 0.5}\n",
         r"faults\[0\]\.erratic: only a fault that develops"),
        ("faults:\n  - {id: a, kind: cooling_failure, machine: cnc, start_h: 1, duration_h: 1, speed_factor: 0}\n",
         r"faults\[0\]\.speed_factor: the station's speed is multiplied by a number in \[0\.1, 1\]"),
        ("faults:\n  - {id: a, kind: cooling_failure, machine: cnc, start_h: 1, duration_h: 1, repair_h: 9}\n",
         r"faults\[0\]\.repair_h: hours in \[0, 8\]"),
        ("faults:\n  - {id: a, kind: sensor_stuck, machine: cnc, start_h: 1, duration_h: 1, repair_h: 1}\n",
         r"faults\[0\]\.repair_h: only a physical fault develops or acts on the line"),
        ("export: {sequence_counter: 1}\n", r"export\.sequence_counter: true or false"),
        ("export: {clock_steps: [{at_h: 2, step_s: 0}]}\n", r"export\.clock_steps\[0\]\.step_s: seconds, not 0"),
        ("export: {clock_steps: [{at_h: 2}]}\n", r"export\.clock_steps\[0\]: must be a mapping with exactly at_h"),
        ("export: {counter: false}\n", r"export\.counter: unknown key"),
        ("imperfections: {noise: 3}\n", r"imperfections\.noise: unknown imperfection"),
        ("falts: []\n", r"falts: unknown key"),
        ("faults: {a: 1}\n", r"faults: must be a list"),
        ("faults: [\n", r"not valid YAML"),
        ("- just a list\n", r"the top level must be a mapping"),
    ],
)
def test_bad_scenario_files_are_refused_naming_the_file_and_field(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message) as error:
        load_scenario(path, PLANT)
    assert str(error.value).startswith(str(path))


def test_an_unreadable_file_or_unknown_name_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match=r"missing\.yaml: cannot read the scenario file"):
        load_scenario(tmp_path / "missing.yaml", PLANT)
    with pytest.raises(ScenarioError, match=r"meltdown: no such bundled scenario \(known: .*cooling_failure"):
        load_scenario("meltdown", PLANT)


def test_every_bundled_scenario_checks_against_a_plant_that_lacks_its_machine():
    stations = {name: station for name, station in PLANT.stations.items() if name != "cnc"}
    smaller = dataclasses.replace(PLANT, stations=stations)
    with pytest.raises(ScenarioError, match=r"scenarios/cooling_failure\.yaml: faults\[0\]\.machine: 'cnc'"):
        load_scenario("cooling_failure", smaller)
