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

A command may also carry ``expires``, an ISO 8601 instant with its time zone (``"2026-05-04T08:00:00Z"``),
on the wall clock. Three kinds of command are refused before they reach the line, because applying them
would act on a decision the sender no longer holds:

- a **retained** command (the broker would hand it to the plant again at every start);
- an **expired** one (``expires`` has passed: it waited in a queue while the plant was away);
- a **replayed** one (its ``id`` was already applied during this run: a redelivery, or a copy sent again).

Commands arrive on paho's network thread (or an OPC UA method call) while the simulation runs on its own;
`CommandQueue` hands them over, and the simulation thread applies them between two steps (`apply_pending`),
so the line is never touched from two threads.
"""

import json
import queue
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from simulators.errors import CommandError
from simulators.topics import Clock, as_clock, encode

MAX_PAYLOAD_BYTES = 4096
MAX_ID_CHARS = 64
REMEMBERED_IDS = 10_000  # ids of applied commands kept to recognise a replay (the oldest are forgotten)
OPTIONAL = ("expires",)
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

    def payload(self, clock: Clock | datetime) -> bytes:
        """The JSON reply, with the time the command took effect (or was refused) on the plant's clock."""
        return encode({"id": self.id, "ok": self.ok, "reason": self.reason, "t_s": self.t_s,
                       "timestamp": as_clock(clock).stamp(self.t_s)})


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
    extra = sorted(set(data) - {"id", "command", *wanted, *OPTIONAL})
    if extra:
        raise CommandError(f"{name}: unexpected field {extra[0]!r} (fields: id, command, {', '.join(wanted)}; "
                           f"optional: {', '.join(OPTIONAL)})")
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


def expiry(data: dict) -> datetime | None:
    """The command's ``expires`` instant, None if it has none; CommandError if it is not a zoned ISO 8601 time."""
    if "expires" not in data:
        return None
    raw = data["expires"]
    try:
        moment = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise CommandError(f"expires: an ISO 8601 time with its time zone, such as 2026-05-04T08:00:00Z, got {raw!r}")
    return moment


class CommandQueue:
    """Commands received on the network thread, applied on the simulation thread.

    `now` reads the wall clock that ``expires`` is compared with (a test passes its own).
    """

    def __init__(self, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._payloads: queue.SimpleQueue = queue.SimpleQueue()
        self._now = now
        self._applied: OrderedDict[str, float] = OrderedDict()  # id -> t_s, the most recent last

    def put(self, payload: bytes, *, retained: bool = False, on_reply: Callable[["Reply"], None] | None = None,
            ) -> None:
        """Queue one raw payload; safe from any thread (paho's callback calls it).

        `retained`: the broker delivered it as a retained message. `on_reply(reply)` is called on the
        simulation thread once the command is applied or refused (an OPC UA method waits for it).
        """
        self._payloads.put((bytes(payload), retained, self._now(), on_reply))

    def apply_pending(self, line) -> list[Reply]:
        """Apply every queued command to `line`, in arrival order, and return one reply per command."""
        replies = []
        while True:
            try:
                payload, retained, received, on_reply = self._payloads.get_nowait()
            except queue.Empty:
                return replies
            command_id_ = None
            t_s = float(line.env.now)
            try:
                data = _object(payload)
                command_id_ = command_id(data)
                self._check_fresh(data, retained, received)
                command = parse_command(data)
                apply_command(line, command)
            except CommandError as refusal:
                reply = Reply(command_id_, False, str(refusal), t_s)
            else:
                self._remember(command.id, t_s)
                reply = Reply(command_id_, True, None, t_s)
            replies.append(reply)
            if on_reply is not None:
                on_reply(reply)

    def _check_fresh(self, data: dict, retained: bool, received: datetime) -> None:
        if retained:
            raise CommandError("retained: a command must not be retained (the broker would replay it at every plant "
                               "start); publish it without the retain flag, and clear the retained copy with an "
                               "empty retained message on the same topic")
        expires = expiry(data)
        if expires is not None and received >= expires:
            raise CommandError(f"expired: it expired at {expires.isoformat()} and arrived at "
                               f"{received.isoformat(timespec='seconds')}")
        previous = self._applied.get(command_id(data))
        if previous is not None:
            raise CommandError(f"replayed: a command with id {command_id(data)!r} was already applied at "
                               f"t={previous:g} s; give every command a new id")

    def _remember(self, command_id_: str, t_s: float) -> None:
        self._applied[command_id_] = t_s
        while len(self._applied) > REMEMBERED_IDS:
            self._applied.popitem(last=False)
