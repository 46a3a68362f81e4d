"""The live plant's Unified Namespace: the MQTT topic tree and the JSON payload of every topic.

This module is the contract between the live plant (`live.py`) and whoever listens to it (a learner's
notebook, a dashboard, a twin). Everything lives under ``factorylab/<site>/<area>/<line>/``:

=====================================================  ========  ===  ===========================================
topic                                                  retained  QoS  payload
=====================================================  ========  ===  ===========================================
``…/<line>/<machine>/<sensor>``                        no        0    one reading: timestamp, value, unit, quality,
                                                                      seq
``…/<line>/<machine>/<sensor>/_meta``                  yes       1    where and what the sensor is: kind, unit,
                                                                      range, period, resolution, location, its topic
``…/<line>/<machine>/_state``                          yes       1    the machine's current state and reason
``…/<line>/_events``                                   no        1    MES production events, one per message
``…/<line>/_setpoints``                                no        1    a setpoint took a new value
``…/<line>/_status``                                   yes       1    line status: running / stopped / offline,
                                                                      timestamp, reason, the live counters
``…/<line>/_cmd``                                      no        1    setpoint commands *to* the plant
``…/<line>/_reply``                                    no        1    the plant's answer to each command
=====================================================  ========  ===  ===========================================

Levels that start with ``_`` are reserved for these non-sensor topics, so a plant never names a machine
or a sensor with a leading underscore; ``factorylab/+/+/+/+/+`` then subscribes to every machine's
sensors *and* states, while ``factorylab/+/+/+/+/+/_meta`` lists every data source. Metadata lives beside
its sensor (rather than in a separate ``_meta/`` subtree) so that the topic of a reading plus ``/_meta`` is
its description: locating a data source is one retained subscription.

Timestamps are ISO 8601 in UTC with milliseconds and a ``Z`` suffix, read on a `Clock`: by default the plant
clock (``plant.start`` + simulated seconds), so a run is reproducible; with the wall clock (``--clock wall``) the
run starts *now* and simulated seconds are divided by the speed factor, so that a dashboard's "last 15 minutes"
shows what the plant is streaming. Learners' own topics go under ``sandbox/``, the one subtree every account may
publish to (see `broker.ROLE_ACL`).

A reading carries ``seq``, its sensor's sample counter (as in the datasets): a gap is a lost sample, a repeat a
duplicate. The line status is one format for birth, life and death (`status_payload`): ``running`` while the line
runs, ``stopped`` when it has stopped, ``offline`` when the plant has left (published by the plant on an orderly
exit, by the broker as the plant's last will otherwise), always with a ``timestamp`` and a ``reason``.
"""

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from simulators.errors import PlantFileError
from simulators.records import MesEvent, SetpointChange, StateChange

ROOT = "factorylab"
SANDBOX_ROOT = "sandbox"
SPARKPLUG_ROOT = "spBv1.0"  # Sparkplug B's namespace, where the plant's edge node publishes (sparkplug.py)
META, STATE, EVENTS, SETPOINTS, STATUS, COMMAND, REPLY = (
    "_meta", "_state", "_events", "_setpoints", "_status", "_cmd", "_reply",
)
# Every line's command topic, as a subscription filter and as an ACL pattern.
COMMAND_FILTER = f"{ROOT}/+/+/+/{COMMAND}"

_LEVEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def check_level(value: str, where: str) -> str:
    """Return `value` if it can be one level of a topic; `where` is the plant file and field
    it comes from (``"plant.yaml: stations"``), for the error message.

    MQTT forbids ``/``, ``+`` and ``#`` in a level; we also refuse a leading underscore (reserved above),
    spaces and anything outside ``[A-Za-z0-9_.-]`` so that topics can be typed and pasted without quoting.
    """
    if not isinstance(value, str) or not _LEVEL.match(value):
        raise PlantFileError(
            f"{where}: {value!r} cannot be an MQTT topic level: use letters, digits, '_', '.', '-', "
            "starting with a letter or digit"
        )
    return value


def line_topic(site: str, area: str, line: str) -> str:
    """``factorylab/<site>/<area>/<line>``: the prefix of every topic of one line."""
    return f"{ROOT}/{site}/{area}/{line}"


def sensor_topic(line_prefix: str, machine: str, sensor: str) -> str:
    return f"{line_prefix}/{machine}/{sensor}"


def meta_topic(line_prefix: str, machine: str, sensor: str) -> str:
    return f"{line_prefix}/{machine}/{sensor}/{META}"


def state_topic(line_prefix: str, machine: str) -> str:
    return f"{line_prefix}/{machine}/{STATE}"


def parse_sensor_topic(topic: str) -> dict[str, str] | None:
    """Split a reading's topic into site, area, line, machine and sensor; None if it is not a reading."""
    levels = topic.split("/")
    if len(levels) != 6 or levels[0] != ROOT or any(level.startswith("_") for level in levels[1:]):
        return None
    return dict(zip(("site", "area", "line", "machine", "sensor"), levels[1:], strict=True))


def timestamp(start: datetime, t_s: float) -> str:
    """The plant-clock time `t_s` simulated seconds after `start` (an aware UTC datetime), ISO 8601 with Z."""
    moment = start + timedelta(seconds=float(t_s))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


CLOCKS = ("sim", "wall")


@dataclass(frozen=True)
class Clock:
    """What a message's timestamp says about simulated time `t_s`: ``start + t_s * wall_s_per_sim_s``.

    `Clock.sim(plant.start)` is the plant clock (one simulated second per second, reproducible);
    `Clock.wall(speed)` starts now and runs at the pace the plant is streamed, ``1 / speed``.
    """

    start: datetime
    wall_s_per_sim_s: float = 1.0
    kind: str = "sim"

    @classmethod
    def sim(cls, start: datetime) -> "Clock":
        return cls(start)

    @classmethod
    def wall(cls, speed: float | None, *, now: datetime | None = None) -> "Clock":
        if not speed:
            raise ValueError("clock: the wall clock needs a paced run (a speed > 0): at full speed simulated "
                             "time has no wall-clock equivalent; use the sim clock")
        return cls(now or datetime.now(UTC), 1.0 / float(speed), "wall")

    def stamp(self, t_s: float) -> str:
        return timestamp(self.start, float(t_s) * self.wall_s_per_sim_s)

    def moment(self, t_s: float) -> datetime:
        """The aware UTC datetime of simulated time `t_s` (OPC UA's SourceTimestamp)."""
        return self.start + timedelta(seconds=float(t_s) * self.wall_s_per_sim_s)

    def epoch_ms(self, t_s: float) -> int:
        """Milliseconds since 1970 (Sparkplug B's timestamps), on this clock."""
        return round(self.start.timestamp() * 1000.0 + float(t_s) * self.wall_s_per_sim_s * 1000.0)


def as_clock(clock: "Clock | datetime") -> Clock:
    """A `Clock`, from itself or from the plant's start (the plant clock)."""
    return clock if isinstance(clock, Clock) else Clock.sim(clock)


def encode(payload: dict) -> bytes:
    """Compact JSON as UTF-8; non-finite floats become null (JSON has no NaN)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def reading_payload(clock: Clock | datetime, t_s: float, value: float | None, unit: str, quality: str,
                    seq: int | None = None) -> bytes:
    payload = {"timestamp": as_clock(clock).stamp(t_s), "value": _finite(value), "unit": unit, "quality": quality}
    if seq is not None:
        payload["seq"] = int(seq)
    return encode(payload)


def state_payload(clock: Clock | datetime, change: StateChange) -> bytes:
    return encode({"timestamp": as_clock(clock).stamp(change.t_s), "state": change.state, "reason": change.reason})


def status_payload(clock: Clock | datetime, t_s: float, status: str, /, *, reason: str | None = None,
                   **details) -> bytes:
    """The line status: ``{"timestamp", "status", "reason", ...details}`` (details: client id, clock, counters)."""
    return encode({"timestamp": as_clock(clock).stamp(t_s), "status": status, "reason": reason, **details})


def event_payload(clock: Clock | datetime, event: MesEvent) -> bytes:
    return encode(
        {
            "timestamp": as_clock(clock).stamp(event.t_s),
            "kind": event.kind,
            "machine": event.machine,
            "part_id": event.part_id,
            "product": event.product,
            "reason": event.reason,
        }
    )


def setpoint_payload(clock: Clock | datetime, change: SetpointChange) -> bytes:
    return encode(
        {
            "timestamp": as_clock(clock).stamp(change.t_s),
            "machine": change.machine,
            "name": change.name,
            "value": _finite(change.value),
        }
    )
