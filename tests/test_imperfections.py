"""Sensor imperfections: each defect appears at about its rate, is labelled, and shows in the messages."""

import dataclasses

import numpy as np
import pytest

from simulators.errors import ScenarioError
from simulators.imperfections import DEFECT_CODE, QUALITIES, ImperfectionRates, Imperfections
from simulators.plantfile import load_plant
from simulators.records import StateChange
from simulators.sensors import PlantSensors, plant_sensors

PLANT = load_plant()
INFOS = plant_sensors(PLANT)
SPAN = np.array([info.high - info.low for info in INFOS])
LOW = np.array([info.low for info in INFOS])
HIGH = np.array([info.high for info in INFOS])
RUNNING = [StateChange(0.0, name, "running") for name in PLANT.stations]
NO_EPISODES = ImperfectionRates(stuck_rate=0.0, gap_rate=0.0)


def record(rates, hours=2.0, window_s=3600.0, seed=11):
    """(observed, truth) of the whole plant running for `hours`, generated window by window."""
    physics = PlantSensors(PLANT, seed, None)
    network = Imperfections(PLANT, seed, None, rates)
    observed, truth, t0 = [], [], 0.0
    while t0 < hours * 3600.0:
        t1 = min(t0 + window_s, hours * 3600.0)
        obs, tru = network.apply(physics.window(t0, t1, RUNNING, []))
        observed.append(obs)
        truth.append(tru)
        t0 = t1
    observed.append(network.flush())
    return (
        {f.name: np.concatenate([getattr(o, f.name) for o in observed]) for f in dataclasses.fields(observed[0])},
        {f.name: np.concatenate([getattr(t, f.name) for t in truth]) for f in dataclasses.fields(truth[0])},
    )


@pytest.fixture(scope="module")
def default_run():
    return record(NO_EPISODES, hours=6.0)


@pytest.mark.parametrize(
    ("label", "rate"),
    [("spike", "spike_rate"), ("out_of_range", "out_of_range_rate"), ("dropout", "dropout_rate"),
     ("duplicate", "duplicate_rate"), ("late", "late_rate"), ("clock_jitter", "clock_jump_rate")],
)
def test_each_per_sample_defect_appears_at_about_its_configured_rate(default_run, label, rate):
    _, truth = default_run
    expected = getattr(NO_EPISODES, rate) * len(truth["defect"])  # 432,000 samples: >= 216 expected
    count = int(np.sum(truth["defect"] == DEFECT_CODE[label]))
    assert abs(count - expected) < 5 * np.sqrt(expected), (label, count, expected)


def keyed(observed, truth):
    """Index truth rows by (sensor, seq) and return, for every observed message, its truth row."""
    key = truth["sensor"].astype(np.int64) * 10**9 + truth["seq"]
    order = np.argsort(key)
    rows = order[np.searchsorted(key[order], observed["sensor"].astype(np.int64) * 10**9 + observed["seq"])]
    return rows


def test_each_label_matches_what_the_message_shows(default_run):
    observed, truth = default_run
    rows = keyed(observed, truth)
    defect = truth["defect"][rows]
    sensor = observed["sensor"]
    error = observed["value"] - truth["true_value"][rows]
    clean = np.isin(defect, [DEFECT_CODE["ok"], DEFECT_CODE["drift"], DEFECT_CODE["late"],
                             DEFECT_CODE["duplicate"], DEFECT_CODE["clock_jitter"]])
    # noise is small on clean samples; spikes are large
    assert np.all(np.abs(error[clean & (defect != DEFECT_CODE["drift"])]) < 6 * 0.005 * SPAN[sensor][
        clean & (defect != DEFECT_CODE["drift"])])
    spike = defect == DEFECT_CODE["spike"]
    assert np.all(np.abs(error[spike]) >= 0.19 * SPAN[sensor][spike])
    # out-of-range values lie outside the valid range and only they are flagged bad
    oor = defect == DEFECT_CODE["out_of_range"]
    assert np.all((observed["value"][oor] > HIGH[sensor][oor]) | (observed["value"][oor] < LOW[sensor][oor]))
    assert np.array_equal(observed["quality"] == QUALITIES.index("bad"), oor)
    # lost samples never arrive; duplicates arrive exactly twice, everything else once
    counts = np.bincount(rows, minlength=len(truth["defect"]))
    assert np.all(counts[truth["defect"] == DEFECT_CODE["dropout"]] == 0)
    assert np.all(counts[truth["defect"] == DEFECT_CODE["duplicate"]] == 2)
    others = ~np.isin(truth["defect"], [DEFECT_CODE["dropout"], DEFECT_CODE["duplicate"]])
    assert np.all(counts[others] == 1)
    # clock jumps move the reported timestamp by at least half a second, jitter alone by far less
    shift = np.abs(observed["timestamp_s"] - truth["t_s"][rows])
    assert np.all(shift[defect == DEFECT_CODE["clock_jitter"]] >= 0.49)
    assert np.all(shift[defect != DEFECT_CODE["clock_jitter"]] < 0.05)
    # late messages arrive after later samples of the same sensor: the stream is out of order
    late = defect == DEFECT_CODE["late"]
    delay = observed["arrival_s"] - truth["t_s"][rows]
    assert np.all(delay[late] >= 2.0) and np.all(delay[~late & (defect != DEFECT_CODE["duplicate"])] == 0)
    assert np.all(np.diff(observed["arrival_s"]) >= 0)


def test_stuck_sensors_repeat_one_value_exactly_and_gaps_send_nothing():
    rates = ImperfectionRates(stuck_rate=0.0005, gap_rate=0.0005)
    observed, truth = record(rates, hours=1.0)
    rows = keyed(observed, truth)
    stuck_rows = truth["defect"][rows] == DEFECT_CODE["stuck"]
    assert stuck_rows.sum() > 500
    for index in range(len(INFOS)):
        mine = stuck_rows & (observed["sensor"] == index)
        values = observed["value"][mine]
        # a stuck run repeats a value exactly: far fewer distinct values than samples
        assert len(values) == 0 or len(np.unique(values)) < len(values) / 20
    gap = truth["defect"] == DEFECT_CODE["gap"]
    assert gap.sum() > 500
    assert np.bincount(rows, minlength=len(gap))[gap].sum() == 0


def drift_errors(per_hour: float, max_fraction: float, hours: float = 4.0):
    """Every sensor drifting (no other defect): (observed, truth, each reading's error as a fraction of its sensor's
    span, its time in hours)."""
    rates = ImperfectionRates(drift_sensor_fraction=1.0, drift_per_hour=per_hour, drift_max_fraction=max_fraction,
                              stuck_rate=0.0, gap_rate=0.0, spike_rate=0.0, out_of_range_rate=0.0)
    observed, truth = record(rates, hours=hours)
    rows = keyed(observed, truth)
    error = (observed["value"] - truth["true_value"][rows]) / SPAN[observed["sensor"]]
    return observed, truth, error, truth["t_s"][rows] / 3600.0


def test_drifting_sensors_move_away_from_the_truth_linearly():
    observed, truth, error, t_h = drift_errors(per_hour=0.01, max_fraction=1.0)
    for index in range(len(INFOS)):
        mine = observed["sensor"] == index
        # the error grows as 0.01 of the span per hour, one sign per sensor (noise sd 0.005 averages out)
        slope, intercept = np.polyfit(t_h[mine], error[mine], 1)
        assert abs(abs(slope) - 0.01) < 0.0005 and abs(intercept) < 0.001, INFOS[index]
    assert np.sum(truth["defect"] == DEFECT_CODE["drift"]) > 0.98 * len(truth["defect"])


def test_a_drifting_sensor_settles_at_its_largest_offset():
    """Calibration drift is bounded: after drift_max_fraction / drift_per_hour hours the offset stays there (an
    aged sensor off its calibration, not one running away for as long as the plant runs)."""
    observed, _truth, error, t_h = drift_errors(per_hour=0.02, max_fraction=0.03)
    for index in range(len(INFOS)):
        early, settled = (observed["sensor"] == index) & (t_h < 1.0), (observed["sensor"] == index) & (t_h > 2.0)
        assert abs(abs(np.polyfit(t_h[early], error[early], 1)[0]) - 0.02) < 0.002, INFOS[index]
        assert abs(abs(np.mean(error[settled])) - 0.03) < 0.001, INFOS[index]
        assert abs(np.polyfit(t_h[settled], error[settled], 1)[0]) < 0.001, INFOS[index]


def test_results_do_not_depend_on_how_the_run_is_cut_into_windows():
    rates = ImperfectionRates(stuck_rate=0.0003, gap_rate=0.0003)
    hourly = record(rates, hours=1.0, window_s=3600.0)
    live = record(rates, hours=1.0, window_s=5.0)
    assert np.array_equal(hourly[1]["defect"], live[1]["defect"])
    for name in ("sensor", "seq", "quality"):
        assert np.array_equal(hourly[0][name], live[0][name]), name
    for name in ("arrival_s", "timestamp_s", "value"):
        assert np.allclose(hourly[0][name], live[0][name], rtol=1e-12), name


def test_same_seed_same_messages_other_seed_other_messages():
    first = record(ImperfectionRates(), hours=0.5, seed=3)
    again = record(ImperfectionRates(), hours=0.5, seed=3)
    other = record(ImperfectionRates(), hours=0.5, seed=4)
    assert all(np.array_equal(first[0][k], again[0][k]) for k in first[0])
    assert not np.array_equal(first[1]["defect"], other[1]["defect"])


def test_late_messages_are_held_back_until_they_arrive():
    physics = PlantSensors(PLANT, 5, None)
    network = Imperfections(PLANT, 5, None, ImperfectionRates(late_rate=0.05, late_min_s=20.0, late_max_s=20.0))
    observed, truth = network.apply(physics.window(0.0, 60.0, RUNNING, []))
    assert np.all(observed.arrival_s < 60.0)
    held = network.flush()
    late_at_end = (truth.defect == DEFECT_CODE["late"]) & (truth.t_s >= 40.0)
    assert len(held) == late_at_end.sum() > 0
    assert np.all(held.arrival_s >= 60.0)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [({"spike_rat": 0.1}, r"where\.spike_rat: unknown imperfection"),
     ({"spike_rate": -0.1}, r"where\.spike_rate: must be a finite number >= 0"),
     ({"dropout_rate": 1.5}, r"where\.dropout_rate: a probability or fraction must be <= 1"),
     ({"late_min_s": 40.0}, r"where\.late_min_s: must be <= late_max_s"),
     ({"spike_rate": 0.6, "dropout_rate": 0.6}, r"where: the per-sample rates add up to more than 1"),
     ({"spike_rate": True}, r"where\.spike_rate: must be a finite number")],
)
def test_bad_rates_are_refused_naming_the_field(mapping, message):
    with pytest.raises(ScenarioError, match=message):
        ImperfectionRates.from_mapping(mapping, "where")
