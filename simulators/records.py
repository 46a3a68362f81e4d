"""What the line reports as it runs: machine state changes and MES production events.

These records are the interface between the discrete-event line (`line.py`) and everything that
consumes it: the sensor physics (`sensors.py`), the datasets (`dataset.py`), the KPIs (`kpis.py`) and
the live MQTT stream (`live.py`). Times are simulation seconds from the start of the run.

They are named tuples rather than dataclasses because the line writes a few of them for every SimPy
event and a tuple is built in a third of the time (see benchmarks/bench_line.py). Read them by field
name; being tuples, records of two kinds holding the same values compare equal, so check the type
where kinds mix (as `Line.record` does).

The line keeps its MES events and state changes in a `RecordLog`: the hot path stores each as a plain tuple
(one object, built in a third of a named tuple's time) and the log hands out named tuples to whoever reads.
"""

from collections.abc import Iterator, Sequence
from functools import partial
from typing import NamedTuple

# Station states, in the order of their integer codes (used in vectorised sensor arrays).
STATES = ("running", "starved", "blocked", "down", "planned_stop")
STATE_CODE = {name: code for code, name in enumerate(STATES)}

# MES event kinds.
EVENT_KINDS = (
    "part_released",  # a part enters the line (open arrivals or a free CONWIP card)
    "part_started",  # a station starts processing a part
    "part_finished",  # a station finishes processing a part (good or scrap)
    "part_scrapped",  # the part is scrapped at this station and leaves the line
    "part_completed",  # the part leaves the last station of its routing as good output
    "downtime_started",  # a breakdown or a maintenance stop begins; `reason` says which
    "downtime_ended",
)


class StateChange(NamedTuple):
    """A station enters `state` at `t_s` (it stays in it until its next StateChange)."""

    t_s: float
    machine: str
    state: str
    reason: str | None = None


class MesEvent(NamedTuple):
    """One production event, as a Manufacturing Execution System would log it."""

    t_s: float
    kind: str
    machine: str | None
    part_id: int | None
    product: str | None
    reason: str | None = None


class SetpointChange(NamedTuple):
    """A setpoint takes a new value at `t_s` (from the plant file at t=0, or from a command later).

    `name` is one of "speed" (a station's speed factor, 1.0 = nominal), "buffer" (a station's input
    buffer capacity), or "conwip" (the line's WIP cap; `machine` is None).
    """

    t_s: float
    machine: str | None
    name: str
    value: float


class Renewal(NamedTuple):
    """A machine is as good as new from `t_s` (its first start, the end of a repair or of a maintenance): it
    will break down once it has been up for `life_s` more seconds, unless renewed before (NaN: it has no
    breakdowns). No MES logs this: it is the wear the sensors show (`sensors.py`), hidden from learners."""

    t_s: float
    machine: str
    life_s: float


class RecordLog(Sequence):
    """A log of records of one kind, read as a sequence of named tuples, kept as the plain tuples of their fields.

    `append` takes a record or the plain tuple of its fields, in field order; reading (index, slice, iteration)
    gives records of the log's kind, built when read. It compares equal to any sequence of the same records.
    """

    __slots__ = ("_make", "kind", "rows")

    def __init__(self, kind: type):
        self.kind = kind
        self.rows: list[tuple] = []
        self._make = partial(tuple.__new__, kind)

    def append(self, row: tuple) -> None:
        self.rows.append(row)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(map(self._make, self.rows[index]))
        return self._make(self.rows[index])

    def __iter__(self) -> Iterator:
        return map(self._make, self.rows)

    def __eq__(self, other) -> bool:
        if isinstance(other, RecordLog):
            return self.rows == other.rows
        return isinstance(other, Sequence) and len(other) == len(self.rows) and all(
            mine == theirs for mine, theirs in zip(self.rows, other, strict=True))

    __hash__ = None

    def __repr__(self) -> str:
        return f"RecordLog({self.kind.__name__}, {len(self.rows)} records)"
