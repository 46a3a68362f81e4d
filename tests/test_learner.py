"""What a lab asks of the plant: the learner's seed, observed data only, and the broker it is given."""

import json

import pytest
from mqtt_fixtures import wait_until

from simulators import learner, topics
from simulators.errors import SimulatorError
from simulators.plantfile import load_plant
from simulators.transport import MqttClient


def test_seed_comes_from_the_environment_or_defaults_to_the_bundled_one(monkeypatch):
    monkeypatch.delenv(learner.SEED_ENV, raising=False)
    assert learner.learner_seed() == learner.DEFAULT_SEED
    monkeypatch.setenv(learner.SEED_ENV, "123")
    assert learner.learner_seed() == 123
    monkeypatch.setenv(learner.SEED_ENV, "abc")
    with pytest.raises(SimulatorError, match="FACTORYLAB_SEED: must be a non-negative integer, got 'abc'"):
        learner.learner_seed()


def test_the_default_dataset_is_the_bundled_one_and_holds_no_ground_truth(monkeypatch):
    monkeypatch.delenv(learner.SEED_ENV, raising=False)
    data = learner.load_dataset()
    assert data.folder == learner.BUNDLED / "line1_normal_seed7_8h"
    assert {"timestamp", "machine", "sensor", "value", "unit", "quality"} <= set(data.readings.columns)
    assert "true_value" not in data.readings.columns and "defect" not in data.readings.columns


def test_another_seed_is_generated_once_into_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(learner.CACHE_ENV, str(tmp_path))
    monkeypatch.setenv(learner.SEED_ENV, "11")
    data = learner.load_dataset("cooling_failure", hours=4)
    assert data.folder == tmp_path / "line1_cooling_failure_seed11_4h"
    assert not hasattr(learner, "load_truth"), "the truth is the grader's (autograde.variants.truth_tables)"
    stamp = (data.folder / "manifest.json").stat().st_mtime_ns
    learner.load_dataset("cooling_failure", hours=4)
    assert (data.folder / "manifest.json").stat().st_mtime_ns == stamp, "a cached dataset is not rewritten"


def test_start_plant_starts_a_plant_on_an_embedded_broker_when_none_is_given(monkeypatch):
    monkeypatch.delenv(learner.BROKER_ENV, raising=False)
    live = learner.start_plant(speed=60)
    try:
        statuses = []
        with MqttClient(live.broker_url) as client:
            client.subscribe(f"{live.prefix}/{topics.STATUS}", lambda m: statuses.append(json.loads(m.payload)))
            wait_until(lambda: statuses, what="the plant's retained status")
    finally:
        live.stop()
    assert statuses[0]["status"] == "running"
    assert not live.running


def test_start_plant_runs_another_bundled_plant_of_its_own_even_under_factorylab_lab(monkeypatch):
    monkeypatch.setenv(learner.BROKER_ENV, "mqtt://127.0.0.1:1")  # factorylab lab's plant is the default line
    live = learner.start_plant(plant="realistic", speed=60)
    try:
        assert isinstance(live, learner.LivePlant) and live.broker_url != "mqtt://127.0.0.1:1"
        periods = []
        with MqttClient(live.broker_url) as client:
            client.subscribe(f"{live.prefix}/+/+/_meta", lambda m: periods.append(json.loads(m.payload)))
            wait_until(lambda: periods, what="a sensor's retained metadata")
    finally:
        live.stop()
    assert load_plant("realistic").name != load_plant().name
    assert any(meta.get("period_s", 1) != 1 for meta in periods), periods[:3]


def test_start_plant_joins_the_plant_factorylab_lab_runs_instead_of_starting_another(monkeypatch):
    monkeypatch.setenv(learner.BROKER_ENV, "mqtt://127.0.0.1:1883")
    plant = learner.start_plant()
    assert isinstance(plant, learner.RunningPlant)
    assert (plant.broker_url, plant.prefix) == ("mqtt://127.0.0.1:1883", "factorylab/lyon/machining/line1")
