"""The live plant over the embedded broker: what it publishes, commands back, pacing, stopping."""

import itertools
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from mqtt_fixtures import Inbox, wait_until

from simulators.errors import BrokerError
from simulators.live import LivePlant, default_step_s, run_live
from simulators.sensors import sensor_metadata
from simulators.topics import parse_sensor_topic
from simulators.transport import MqttClient


def _command(client: MqttClient, live: LivePlant, **command) -> None:
    client.publish(f"{live.prefix}/_cmd", json.dumps(command).encode(), qos=1)


def test_live_plant_publishes_metadata_readings_states_and_status_then_stops(embedded_broker):
    with MqttClient(embedded_broker.url) as learner:
        inbox = Inbox(learner, "factorylab/#")
        summary = run_live(seed=5, broker_url=embedded_broker.url, speed=None, hours=0.01)
        assert summary.t_s == 36.0 and summary.dropped == 0
        messages = inbox.drain()
    by_kind = {}
    for message in messages:
        kind = "reading" if parse_sensor_topic(message.topic) else message.topic.rsplit("/", 1)[1]
        by_kind.setdefault(kind, []).append(message)
    metadata = sensor_metadata(LivePlant(seed=5).plant)
    assert len(by_kind["_meta"]) == len(metadata)
    meta = json.loads(by_kind["_meta"][0].payload)
    assert {"topic", "machine", "sensor", "kind", "unit", "low", "high", "period_s"} <= set(meta)
    reading = json.loads(by_kind["reading"][0].payload)
    assert set(reading) == {"timestamp", "value", "unit", "quality", "seq"} and reading["timestamp"].endswith("Z")
    assert {parse_sensor_topic(m.topic)["machine"] for m in by_kind["reading"]} == {m["machine"] for m in metadata}
    assert len(by_kind["_state"]) >= len({m["machine"] for m in metadata})
    statuses = [json.loads(m.payload) for m in by_kind["_status"]]
    assert [s["status"] for s in statuses[-2:]] == ["stopped", "offline"]
    assert statuses[-1]["timestamp"] == "2026-01-05T06:00:36.000Z" and statuses[-1]["reason"] == "0.01 h simulated"
    assert summary.reason == "0.01 h simulated" and summary.delivered == summary.published


def test_each_sensor_numbers_its_readings_so_a_subscriber_sees_gaps_and_repeats(embedded_broker):
    with MqttClient(embedded_broker.url) as learner:
        inbox = Inbox(learner, "factorylab/+/+/+/cnc/vibration")
        run_live(seed=5, broker_url=embedded_broker.url, speed=None, hours=0.05)
        seqs = [json.loads(m.payload)["seq"] for m in inbox.drain()]
    assert len(seqs) > 100 and seqs[0] == 0
    steps = {b - a for a, b in itertools.pairwise(seqs)}
    assert 1 in steps and steps <= {-3, -2, -1, 0, 1, 2, 3, 4}  # in order, but for gaps, repeats, late arrivals


def test_machine_states_are_cleared_when_the_line_stops(embedded_broker):
    run_live(seed=5, broker_url=embedded_broker.url, speed=None, hours=0.01)
    with MqttClient(embedded_broker.url) as late:  # what a dashboard opened afterwards reads (retained)
        states = Inbox(late, "factorylab/+/+/+/+/_state").drain()
        status = json.loads(Inbox(late, "factorylab/+/+/+/_status").wait_for().payload)
    machines = LivePlant(seed=5).plant.stations
    assert {m.topic.split("/")[-2]: json.loads(m.payload)["state"] for m in states} == dict.fromkeys(
        machines, "planned_stop")
    assert status["status"] == "offline" and status["states"] == dict.fromkeys(machines, "planned_stop")


def test_the_wall_clock_stamps_messages_with_the_time_now(embedded_broker):
    with MqttClient(embedded_broker.url) as learner:
        inbox = Inbox(learner, "factorylab/+/+/+/+/+")
        before = datetime.now(UTC)
        run_live(seed=5, broker_url=embedded_broker.url, speed=600.0, hours=60 / 3600, clock="wall")
        after = datetime.now(UTC)
        stamps = [datetime.fromisoformat(json.loads(m.payload)["timestamp"]) for m in inbox.drain()
                  if parse_sensor_topic(m.topic)]
    assert stamps and all(before - timedelta(seconds=1) <= stamp <= after + timedelta(seconds=1) for stamp in stamps)


def test_retained_expired_and_replayed_commands_are_refused_with_a_reason(embedded_broker):
    prefix = LivePlant(seed=2).prefix
    with MqttClient(embedded_broker.url) as operator:
        replies = Inbox(operator, f"{prefix}/_reply")
        operator.publish(f"{prefix}/_cmd", json.dumps({"id": "kept", "command": "set_conwip", "value": 4}).encode(),
                         qos=1, retain=True)  # left on the broker before the plant starts
        assert operator.flush(timeout_s=2)
        live = LivePlant(seed=2, broker_url=embedded_broker.url, speed=600.0)
        with live:
            replies.wait_for(lambda m: json.loads(m.payload)["id"] == "kept")
            _command(operator, live, id="old", command="set_conwip", value=5, expires="2020-01-01T00:00:00Z")
            _command(operator, live, id="once", command="set_conwip", value=6)
            _command(operator, live, id="once", command="set_conwip", value=6)  # sent twice
            replies.wait_for(lambda m: json.loads(m.payload)["id"] == "once" and json.loads(m.payload)["reason"])
    answers: dict[str, list] = {}
    for message in replies.messages:
        reply = json.loads(message.payload)
        answers.setdefault(reply["id"], []).append(reply)
    assert [r["ok"] for r in answers["kept"]] == [False] and answers["kept"][0]["reason"].startswith("retained:")
    assert [r["ok"] for r in answers["old"]] == [False] and answers["old"][0]["reason"].startswith("expired:")
    assert [r["ok"] for r in answers["once"]] == [True, False] and answers["once"][1]["reason"].startswith("replayed:")
    assert live.summary.commands_ok == 1 and live.summary.commands_refused == 3


def test_same_seed_gives_the_same_readings(embedded_broker):
    runs = []
    for _ in range(2):
        with MqttClient(embedded_broker.url) as learner:
            inbox = Inbox(learner, "factorylab/+/+/+/+/+")
            run_live(seed=9, broker_url=embedded_broker.url, speed=None, hours=0.005)
            # not the retained states; a quiet second before the end: a loaded machine pauses delivery for longer
            readings = [m for m in inbox.drain(quiet_s=1.0) if parse_sensor_topic(m.topic)]
            runs.append(sorted((m.topic, m.payload) for m in readings))
    assert runs[0] == runs[1] and len(runs[0]) > 100


def test_commands_take_effect_in_the_running_simulation_and_are_answered(embedded_broker):
    live = LivePlant(seed=2, broker_url=embedded_broker.url, speed=600.0)
    with live, MqttClient(embedded_broker.url) as operator:
        replies = Inbox(operator, f"{live.prefix}/_reply")
        statuses = Inbox(operator, f"{live.prefix}/_status")
        _command(operator, live, id="fast", command="set_speed", station="cnc", value=1.3)
        _command(operator, live, id="bad", command="set_speed", station="cnc", value=7)
        _command(operator, live, id="huh", command="self_destruct")
        ok = json.loads(replies.wait_for(lambda m: json.loads(m.payload)["id"] == "fast").payload)
        assert ok["ok"] is True and ok["reason"] is None and ok["t_s"] > 0
        bad = json.loads(replies.wait_for(lambda m: json.loads(m.payload)["id"] == "bad").payload)
        assert bad["ok"] is False and "[0.5, 1.5]" in bad["reason"]
        huh = json.loads(replies.wait_for(lambda m: json.loads(m.payload)["id"] == "huh").payload)
        assert huh["ok"] is False and "command: must be one of" in huh["reason"]
        statuses.wait_for(lambda m: json.loads(m.payload).get("speeds", {}).get("cnc") == 1.3)
    assert live.summary.commands_ok == 1 and live.summary.commands_refused == 2


def test_speed_factor_paces_simulated_time_to_the_wall_clock(embedded_broker):
    started = time.monotonic()
    summary = run_live(seed=1, broker_url=embedded_broker.url, speed=120.0, hours=60 / 3600)  # 60 s simulated
    elapsed_s = time.monotonic() - started
    assert summary.t_s == 60.0
    assert 0.45 <= elapsed_s <= 2.0  # 60 s / 120 = 0.5 s of wall time


def test_stop_from_another_thread_ends_an_endless_run_cleanly(embedded_broker):
    before = set(threading.enumerate())
    live = LivePlant(seed=4, broker_url=embedded_broker.url, speed=60.0).start()
    wait_until(lambda: live.t_s >= 5.0, what="the plant streaming")
    summary = live.stop()
    assert summary is not None and not live.running and live.client_status == "closed"
    wait_until(lambda: set(threading.enumerate()) <= before, what="all live threads gone")


def test_embedded_broker_is_started_and_reported_when_no_url_is_given():
    urls = []
    summary = run_live(seed=1, speed=None, hours=0.002, on_ready=urls.append)
    assert urls == [summary.broker_url] and urls[0].startswith("mqtt://127.0.0.1:")


def test_unreachable_broker_fails_start_with_broker_error():
    with pytest.raises(BrokerError, match=r"cannot reach mqtt://127\.0\.0\.1:1"):
        LivePlant(seed=1, broker_url="mqtt://127.0.0.1:1").start()


def test_bad_speed_clock_and_client_id_are_refused():
    with pytest.raises(ValueError, match="speed: must be a number >= 0"):
        LivePlant(seed=1, speed=-1)
    with pytest.raises(ValueError, match="the wall clock needs a paced run"):
        LivePlant(seed=1, speed=0, clock="wall")
    with pytest.raises(ValueError, match="client id: 1 to 128 letters"):
        LivePlant(seed=1, client_id="two words")


def test_each_plant_has_its_own_client_id_unless_one_is_given():
    assert LivePlant(seed=1).client_id != LivePlant(seed=1).client_id
    assert LivePlant(seed=1, client_id="press-7").client_id == "press-7"


def test_default_step_keeps_commands_responsive():
    assert default_step_s(None) == 5.0 and default_step_s(1.0) == 1.0 and default_step_s(60.0) == 5.0
