"""Setpoint commands sent to the live plant on ``…/<line>/_cmd``: their schema, their queue, their replies.

A command is one JSON object; every field is required and no other field is allowed:

====================  ===============================================  =========================================
command               fields                                           effect (ranges: see `line.py`)
====================  ===============================================  =========================================
``set_conwip``        ``id``, ``value`` (whole number)                 the line's WIP cap
``set_speed``         ``id``, ``station``, ``value`` (number)          a station's speed factor (1.0 = nominal)
``set_buffer``        ``id``, ``station``, ``value`` (whole number)    a station's input buffer capacity
``maintenance_stop``  ``id``, ``station``, ``duration_s`` (number)     a station goes down for maintenance
====================  ===============================================  =========================================

``id`` is the sender's own string (at most 64 characters), echoed in the reply on ``…/<line>/_reply``:
``{"id", "ok", "reason", "t_s", "timestamp"}``; ``reason`` is null when ``ok``, else says what was wrong
(malformed JSON, unknown command, missing or extra field, unknown station, value out of range). A
payload that is not even a JSON object still gets a reply, with ``"id": null``.

Commands arrive on paho's network thread while the simulation runs on its own; `CommandQueue` hands
them over, and the simulation thread applies them between two steps (`apply_pending`), so the line is
never touched from two threads.
"""

import json
import queue
from dataclasses import dataclass
from datetime import datetime

from simulators.errors import CommandError
from simulators.topics import encode, timestamp

MAX_PAYLOAD_BYTES = 4096
MAX_ID_CHARS = 64
FIELDS = {
    "set_conwip": ("value",),
    "set_speed": ("station", "value"),
    "set_buffer": ("station", "value"),
    "maintenance_stop": ("station", "duration_s"),
}


@dataclass(frozen=True)
class Command:
    """A well-formed command (its values are not yet checked against the line's ranges)."""

    id: str
    command: str
    station: str | None
    value: float


@dataclass(frozen=True)
class Reply:
    id: str | None
    ok: bool
    reason: str | None
    t_s: float

    def payload(self, start: datetime) -> bytes:
        """The JSON reply, with the plant-clock time the command took effect (or was refused)."""
        return encode({"id": self.id, "ok": self.ok, "reason": self.reason, "t_s": self.t_s,
                       "timestamp": timestamp(start, self.t_s)})


def _object(payload: bytes) -> dict:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise CommandError(f"payload: at most {MAX_PAYLOAD_BYTES} bytes, got {len(payload)}")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError(f"payload: not valid UTF-8 JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CommandError(f"payload: must be a JSON object, got {type(data).__name__}")
    return data


def command_id(data: dict) -> str | None:
    """The command's id if it is a usable one, else None (the reply then carries a null id)."""
    value = data.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS else None


def parse_command(data: dict) -> Command:
    """Check one decoded command against the schema above; CommandError says what is wrong."""
    if command_id(data) is None:
        raise CommandError(f"id: required, a non-empty string of at most {MAX_ID_CHARS} characters")
    name = data.get("command")
    if name not in FIELDS:
        raise CommandError(f"command: must be one of {', '.join(FIELDS)}, got {name!r}")
    wanted = FIELDS[name]
    missing = [field for field in wanted if field not in data]
    if missing:
        raise CommandError(f"{name}: missing field {missing[0]!r} (fields: id, command, {', '.join(wanted)})")
    extra = sorted(set(data) - {"id", "command", *wanted})
    if extra:
        raise CommandError(f"{name}: unexpected field {extra[0]!r} (fields: id, command, {', '.join(wanted)})")
    station = data.get("station")
    if "station" in wanted and not isinstance(station, str):
        raise CommandError(f"{name}: station must be a station name (a string), got {station!r}")
    value = data[wanted[-1]]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CommandError(f"{name}: {wanted[-1]} must be a number, got {value!r}")
    return Command(data["id"], name, station, value)


def apply_command(line, command: Command) -> None:
    """Apply `command` to the running `line` now; the line raises CommandError for values out of range."""
    if command.command == "set_conwip":
        line.set_conwip(command.value)
    elif command.command == "set_speed":
        line.set_speed(command.station, command.value)
    elif command.command == "set_buffer":
        line.set_buffer(command.station, command.value)
    else:
        line.maintenance_stop(command.station, command.value)


class CommandQueue:
    """Commands received on the network thread, applied on the simulation thread."""

    def __init__(self) -> None:
        self._payloads: queue.SimpleQueue[bytes] = queue.SimpleQueue()

    def put(self, payload: bytes) -> None:
        """Queue one raw payload; safe from any thread (paho's callback calls it)."""
        self._payloads.put(bytes(payload))

    def apply_pending(self, line) -> list[Reply]:
        """Apply every queued command to `line`, in arrival order, and return one reply per command."""
        replies = []
        while True:
            try:
                payload = self._payloads.get_nowait()
            except queue.Empty:
                return replies
            command_id_ = None
            try:
                data = _object(payload)
                command_id_ = command_id(data)
                apply_command(line, parse_command(data))
            except CommandError as refusal:
                replies.append(Reply(command_id_, False, str(refusal), float(line.env.now)))
            else:
                replies.append(Reply(command_id_, True, None, float(line.env.now)))
