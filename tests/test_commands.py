"""Setpoint commands: schema checks, application between steps, replies, and stale commands refused."""

import json
import threading
from datetime import UTC, datetime

import pytest
import simpy

from simulators.commands import CommandQueue, parse_command
from simulators.errors import CommandError
from simulators.line import Line
from simulators.plantfile import load_plant


@pytest.fixture
def line():
    return Line(simpy.Environment(), load_plant(), seed=3)


def _put(queue: CommandQueue, **command) -> None:
    queue.put(json.dumps(command).encode())


def test_valid_commands_take_effect_and_are_acknowledged(line):
    queue = CommandQueue()
    line.env.run(until=30)
    _put(queue, id="1", command="set_speed", station="cnc", value=1.2)
    _put(queue, id="2", command="set_buffer", station="wash", value=4)
    _put(queue, id="3", command="maintenance_stop", station="saw", duration_s=600)
    replies = queue.apply_pending(line)
    assert [(r.id, r.ok, r.reason, r.t_s) for r in replies] == [
        ("1", True, None, 30.0), ("2", True, None, 30.0), ("3", True, None, 30.0),
    ]
    snapshot = line.snapshot()
    assert snapshot["speeds"]["cnc"] == 1.2 and snapshot["buffers"]["wash"]["capacity"] == 4
    line.env.run(until=31)
    assert line.snapshot()["states"]["saw"] == "down"


@pytest.mark.parametrize(
    ("payload", "reply_id", "reason"),
    [
        (b"not json", None, "not valid UTF-8 JSON"),
        (b"[1, 2]", None, "must be a JSON object"),
        (b'{"command": "set_conwip", "value": 3}', None, "id: required"),
        (b'{"id": "a", "command": "explode"}', "a", "command: must be one of"),
        (b'{"id": "b", "command": "set_speed", "value": 1.1}', "b", "missing field 'station'"),
        (b'{"id": "c", "command": "set_speed", "station": "cnc", "value": 1.1, "x": 1}', "c", "unexpected field 'x'"),
        (b'{"id": "d", "command": "set_speed", "station": "cnc", "value": "fast"}', "d", "value must be a number"),
        (b'{"id": "e", "command": "set_speed", "station": "cnc", "value": 9}', "e", "must be a number in"),
        (b'{"id": "f", "command": "set_speed", "station": "nope", "value": 1}', "f", "unknown station 'nope'"),
        (b'{"id": "g", "command": "maintenance_stop", "station": "saw", "duration_s": -5}', "g", "duration_s"),
    ],
)
def test_bad_commands_are_refused_with_a_reason_and_change_nothing(line, payload, reply_id, reason):
    queue = CommandQueue()
    before = line.snapshot()
    queue.put(payload)
    [reply] = queue.apply_pending(line)
    assert (reply.id, reply.ok) == (reply_id, False)
    assert reason in reply.reason
    assert line.snapshot() == before


def test_reply_payload_is_json_with_id_ok_reason_and_time(line):
    queue = CommandQueue()
    _put(queue, id="z", command="set_speed", station="cnc", value=5)
    [reply] = queue.apply_pending(line)
    payload = json.loads(reply.payload(line.plant.start))
    assert set(payload) == {"id", "ok", "reason", "t_s", "timestamp"} and payload["ok"] is False


def test_commands_queued_from_other_threads_all_arrive_in_order(line):
    queue = CommandQueue()
    threads = [threading.Thread(target=_put, args=(queue,), kwargs={"id": str(n), "command": "set_speed",
                                                                    "station": "cnc", "value": 1.0})
               for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    replies = queue.apply_pending(line)
    assert sorted(int(r.id) for r in replies) == list(range(20)) and all(r.ok for r in replies)
    assert queue.apply_pending(line) == []


def test_parse_command_rejects_an_overlong_id():
    with pytest.raises(CommandError, match="at most 64"):
        parse_command({"id": "x" * 65, "command": "set_conwip", "value": 3})


def test_a_retained_command_is_refused_and_changes_nothing(line):
    queue = CommandQueue()
    before = line.snapshot()
    queue.put(json.dumps({"id": "r", "command": "set_conwip", "value": 3}).encode(), retained=True)
    [reply] = queue.apply_pending(line)
    assert (reply.id, reply.ok) == ("r", False) and reply.reason.startswith("retained: a command must not be retained")
    assert line.snapshot() == before


def test_an_expired_command_is_refused_and_a_fresh_one_applied(line):
    now = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    queue = CommandQueue(now=lambda: now)
    _put(queue, id="late", command="set_speed", station="cnc", value=1.2, expires="2026-05-04T07:59:59Z")
    _put(queue, id="fresh", command="set_speed", station="cnc", value=1.3, expires="2026-05-04T11:00:00+02:00")
    late, fresh = queue.apply_pending(line)
    assert late.ok is False and late.reason.startswith("expired: it expired at 2026-05-04T07:59:59+00:00")
    assert fresh.ok is True and line.snapshot()["speeds"]["cnc"] == 1.3


@pytest.mark.parametrize("expires", ["tomorrow", "2026-05-04T08:00:00", 1746345600])
def test_an_expiry_without_a_time_zone_is_refused_with_the_expected_form(line, expires):
    queue = CommandQueue()
    _put(queue, id="x", command="set_conwip", value=3, expires=expires)
    [reply] = queue.apply_pending(line)
    assert reply.ok is False and "expires: an ISO 8601 time with its time zone" in reply.reason


def test_a_replayed_command_is_refused_but_a_corrected_refused_one_may_reuse_its_id(line):
    queue = CommandQueue()
    _put(queue, id="a", command="set_speed", station="cnc", value=1.2)
    _put(queue, id="a", command="set_speed", station="cnc", value=1.2)  # a redelivery
    _put(queue, id="b", command="set_speed", station="cnc", value=9)  # refused: out of range
    _put(queue, id="b", command="set_speed", station="cnc", value=0.9)  # corrected, same id
    first, replay, wrong, corrected = queue.apply_pending(line)
    assert first.ok and corrected.ok and not wrong.ok
    assert replay.ok is False and replay.reason == (
        "replayed: a command with id 'a' was already applied at t=0 s; give every command a new id")
    assert line.snapshot()["speeds"]["cnc"] == 0.9


def test_on_reply_hears_the_answer_of_its_own_command(line):
    queue = CommandQueue()
    heard = []
    queue.put(b'{"id": "m", "command": "set_conwip", "value": 4}', on_reply=heard.append)
    [reply] = queue.apply_pending(line)
    assert heard == [reply] and reply.ok
