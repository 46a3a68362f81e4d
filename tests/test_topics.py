"""The Unified Namespace: topic names, their parsing and the JSON payloads."""

import json
from datetime import UTC, datetime

import pytest

from simulators import topics
from simulators.errors import PlantFileError
from simulators.records import MesEvent, StateChange

START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def test_reading_topic_round_trips_through_parse():
    prefix = topics.line_topic("lyon", "machining", "line1")
    topic = topics.sensor_topic(prefix, "saw", "power")
    assert topic == "factorylab/lyon/machining/line1/saw/power"
    assert topics.parse_sensor_topic(topic) == {
        "site": "lyon", "area": "machining", "line": "line1", "machine": "saw", "sensor": "power",
    }


@pytest.mark.parametrize(
    "topic",
    ["factorylab/lyon/machining/line1/saw/_state", "factorylab/lyon/machining/line1/saw/power/_meta",
     "factorylab/lyon/machining/line1/_events", "other/lyon/machining/line1/saw/power"],
)
def test_non_reading_topics_do_not_parse_as_readings(topic):
    assert topics.parse_sensor_topic(topic) is None


def test_timestamp_is_plant_clock_iso_utc_with_milliseconds():
    assert topics.timestamp(START, 61.2346) == "2026-01-05T06:01:01.234Z"


def test_reading_payload_has_the_four_fields_and_null_for_nan():
    payload = json.loads(topics.reading_payload(START, 1.0, float("nan"), "kW", "bad"))
    assert payload == {"timestamp": "2026-01-05T06:00:01.000Z", "value": None, "unit": "kW", "quality": "bad"}


def test_state_and_event_payloads_carry_their_record():
    state = json.loads(topics.state_payload(START, StateChange(2.0, "saw", "down", "breakdown")))
    assert state == {"timestamp": "2026-01-05T06:00:02.000Z", "state": "down", "reason": "breakdown"}
    event = json.loads(topics.event_payload(START, MesEvent(3.5, "part_scrapped", "cnc", 7, "A", None)))
    assert event["kind"] == "part_scrapped" and event["part_id"] == 7 and event["timestamp"].endswith("03.500Z")


@pytest.mark.parametrize("name", ["_hidden", "a/b", "a+", "#", "with space", ""])
def test_names_that_cannot_be_topic_levels_are_refused(name):
    with pytest.raises(PlantFileError, match=r"plant.yaml: stations: .* cannot be an MQTT topic level"):
        topics.check_level(name, "plant.yaml: stations")


def test_command_filter_matches_every_lines_command_topic():
    assert topics.COMMAND_FILTER == "factorylab/+/+/+/_cmd"


def test_a_reading_carries_its_sensors_sample_counter():
    payload = json.loads(topics.reading_payload(START, 1.0, 2.5, "kW", "good", 42))
    assert payload["seq"] == 42 and payload["value"] == 2.5


def test_the_wall_clock_starts_now_and_runs_at_the_streaming_pace():
    now = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    clock = topics.Clock.wall(60.0, now=now)
    assert clock.stamp(0.0) == "2026-05-04T08:00:00.000Z"
    assert clock.stamp(60.0) == "2026-05-04T08:00:01.000Z"  # one simulated minute per second at speed 60
    assert clock.epoch_ms(60.0) == round(now.timestamp() * 1000) + 1000
    assert topics.Clock.sim(START).stamp(60.0) == "2026-01-05T06:01:00.000Z"


def test_the_wall_clock_needs_a_paced_run():
    with pytest.raises(ValueError, match="the wall clock needs a paced run"):
        topics.Clock.wall(None)


def test_birth_life_and_death_share_one_status_format_with_a_timestamp():
    payload = json.loads(topics.status_payload(START, 10.0, "offline", reason="SIGTERM received", client_id="p1"))
    assert payload == {"timestamp": "2026-01-05T06:00:10.000Z", "status": "offline", "reason": "SIGTERM received",
                       "client_id": "p1"}
