"""The production line as a SimPy model: stations, buffers, breakdowns, shifts, release and commands.

How a part flows: the release (open arrivals or CONWIP cards) puts it into the input buffer of the
first station of its product's routing; each station takes parts from its buffer in FIFO order,
processes them (the process time is drawn for the product and divided by the station's speed), may
scrap them, then puts them into the next station's buffer. When that buffer is full the station keeps
the part and shows `blocked` until there is room (blocking after service). A part leaves after the last
step of its routing (`part_completed`) or when scrapped; under CONWIP its card then releases a new part.

What a station shows, in order of precedence: `planned_stop` (outside shifts or in a break, from the
calendar), `down` (a breakdown or a maintenance stop), else what it is doing: `running` (it holds a part
to process), `starved` (its buffer is empty) or `blocked`. Processing and the time-to-failure clock both
pause while a station is stopped or down and resume where they were; repairs run on calendar time.
Several state changes may share one `t_s` (e.g. a part arriving the instant a station frees); the last
one holds.

Every record (StateChange, MesEvent, SetpointChange) is appended to the line's logs and passed to the
listener the moment it happens. Random streams, one per purpose so that changing one station does not
shift another's numbers: ("line", "release"), ("line", "mix"), ("line", station, "process", product),
("line", station, "scrap"), ("line", station, "breakdowns"), ("line", station, "repairs").
"""

import bisect
import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain

import numpy as np
import simpy

from simulators.distributions import Distribution
from simulators.errors import CommandError
from simulators.plantfile import Plant, Station
from simulators.records import MesEvent, SetpointChange, StateChange
from simulators.seeding import stream

SPEED_RANGE = (0.5, 1.5)  # speed factors a command may set
CONWIP_RANGE = (1, 200)  # WIP caps a command may set
BUFFER_RANGE = (1, 1000)  # buffer capacities a command may set
MAX_MAINTENANCE_S = 8 * 3600.0  # the longest maintenance stop a command may order
DRAW_BLOCK = 512  # values drawn per call to numpy: one draw at a time would cost more than the event

Listener = Callable[[StateChange | MesEvent | SetpointChange], None]

# Builds a record from the tuple of all its fields: the NamedTuple constructor would add a Python call
# to each of the 2.3 records the line writes per SimPy event (used on the hot paths only).
_new_record = tuple.__new__


def _draws(draw: Callable[[int], np.ndarray]) -> Iterator[float]:
    """An endless supply of values from `draw(n)`, fetched in blocks to keep numpy's overhead low.

    Read with `next()`: the chain is C code, so a value costs no Python frame; a block is drawn when
    the previous one runs out, as a one-value-at-a-time reader would see it.
    """
    return chain.from_iterable(iter(lambda: draw(DRAW_BLOCK).tolist(), None))


def _distribution_draws(distribution: Distribution, rng: np.random.Generator) -> Iterator[float]:
    return _draws(lambda n: distribution.sample(rng, n))


class _Part:
    __slots__ = ("id", "product", "released_s", "step", "steps")

    def __init__(self, part_id: int, product: str, steps: tuple, released_s: float):
        self.id = part_id
        self.product = product
        self.steps = steps  # the station names of its routing
        self.step = 0  # index in steps of the station it is at or heading to
        self.released_s = released_s


class _Buffer:
    """A FIFO buffer in front of one station, whose capacity may change while parts are in it.

    A put that finds no room queues the part behind the others and returns an event that fires once
    the part is in (upstream stations wait on it, shown blocked); a put that fits returns None so the
    caller does not yield. Shrinking the capacity keeps the parts already there.
    """

    __slots__ = ("_env", "capacity", "getter", "items", "putters")

    def __init__(self, env: simpy.Environment, capacity: float):
        self._env = env
        self.capacity = capacity
        self.items: deque[_Part] = deque()
        self.putters: deque[tuple[simpy.Event, _Part]] = deque()
        self.getter: simpy.Event | None = None  # the station waiting for work, if it is

    def put(self, part: _Part) -> simpy.Event | None:
        if self.getter is not None:  # the station is idle: hand the part straight over
            getter, self.getter = self.getter, None
            getter.succeed(part)
            return None
        if not self.putters and len(self.items) < self.capacity:
            self.items.append(part)
            return None
        admitted = self._env.event()
        self.putters.append((admitted, part))
        return admitted

    def wait(self) -> simpy.Event:
        self.getter = self._env.event()
        return self.getter

    def admit(self) -> None:
        """Move waiting parts in while there is room (after a take, or when the capacity grows)."""
        while self.putters and len(self.items) < self.capacity:
            admitted, part = self.putters.popleft()
            self.items.append(part)
            admitted.succeed()


class _Station:
    """One station's SimPy processes and its state; the Line owns the records and the routing."""

    def __init__(self, line: "Line", spec: Station, seed: int):
        self.line = line
        self.env = line.env
        self.name = spec.name
        self.speed = spec.speed
        self.scrap_rate = spec.scrap_rate
        self.buffer = _Buffer(self.env, math.inf if spec.input_buffer is None else spec.input_buffer)
        self.activity = "starved"  # what it does when it is not stopped: running / starved / blocked
        self.planned: str | None = None  # reason of the planned stop in progress ("off_shift" / "break")
        self.down: dict[str, None] = {}  # reasons it is down, oldest first ("breakdown", "maintenance")
        self.available = True
        self.up: simpy.Event | None = None  # fires when it becomes available again
        self.pausable: list[simpy.Process] = []  # processes counting time that a stop must pause
        self.shown: tuple[str, str | None] | None = None  # the last recorded (state, reason)
        self.process_time = {
            product.name: _distribution_draws(step.time, stream(seed, "line", self.name, "process", product.name))
            for product in line.plant.products.values()
            for step in product.routing
            if step.station == self.name
        }
        scrap_rng = stream(seed, "line", self.name, "scrap")
        self.scrap_draw = _draws(scrap_rng.random)
        if spec.breakdowns is not None:
            failure_rng = stream(seed, "line", self.name, "breakdowns")
            repair_rng = stream(seed, "line", self.name, "repairs")
            mtbf_s, mttr_s = spec.breakdowns.mtbf_hours * 3600.0, spec.breakdowns.mttr_hours * 3600.0
            self.time_to_failure = _draws(lambda n: failure_rng.exponential(mtbf_s, n))
            self.time_to_repair = _draws(lambda n: repair_rng.exponential(mttr_s, n))

    # --- processes ---

    def run(self):
        """Take, process, pass on, forever.

        This loop is most of the line's cost, so everything it reads that does not change while it
        runs (the station's own process, its buffer's deque, its draws, bound methods) is a local, and
        the two records it writes for every part (started, finished) are built here, not in a call.
        """
        line, buffer, name, env = self.line, self.buffer, self.name, self.env
        items, pausable, stations = buffer.items, self.pausable, line.stations
        process_time, scrap_draw, scrap_rate = self.process_time, self.scrap_draw, self.scrap_rate
        part_event, timeout, log_event = line.record_part_event, env.timeout, line.events.append
        process = env.active_process  # this generator's own process, the one a stop interrupts
        while True:
            if items:
                part = items.popleft()
                if buffer.putters:
                    buffer.admit()
            else:
                self.set_activity("starved")
                part = yield buffer.wait()
            if self.activity != "running":
                self.set_activity("running")
            duration_s = next(process_time[part.product]) / self.speed
            while not self.available:
                yield self.up
            start_s = env.now
            event = _new_record(MesEvent, (start_s, "part_started", name, part.id, part.product, None))
            log_event(event)
            if line.listener is not None:
                line.listener(event)
            # The common case inline (one timeout); a stop during it hands the rest over to work().
            pausable.append(process)
            try:
                yield timeout(duration_s)
                pausable.remove(process)
            except simpy.Interrupt:
                yield from self.work(duration_s - (env.now - start_s))
            event = _new_record(MesEvent, (env.now, "part_finished", name, part.id, part.product, None))
            log_event(event)
            if line.listener is not None:
                line.listener(event)
            if scrap_rate and next(scrap_draw) < scrap_rate:
                part_event("part_scrapped", name, part)
                line.part_left(part, completed=False)
                continue
            part.step = step = part.step + 1
            steps = part.steps
            if step == len(steps):
                part_event("part_completed", name, part)
                line.part_left(part, completed=True)
                continue
            admitted = stations[steps[step]].buffer.put(part)
            if admitted is not None:
                self.set_activity("blocked")
                yield admitted

    def work(self, duration_s: float):
        """Spend `duration_s` of available time: a stop or a breakdown pauses the count, which resumes."""
        env = self.env
        remaining_s = duration_s
        while remaining_s > 0.0:
            while not self.available:
                yield self.up
            process = env.active_process
            self.pausable.append(process)
            start_s = env.now
            try:
                yield env.timeout(remaining_s)
            except simpy.Interrupt:
                remaining_s -= env.now - start_s
                continue
            self.pausable.remove(process)
            return

    def failures(self):
        """Fail after an exponential working time, stay down an exponential repair time, again."""
        while True:
            yield from self.work(next(self.time_to_failure))
            self.add_down("breakdown")
            yield self.env.timeout(next(self.time_to_repair))
            self.remove_down("breakdown")

    def maintenance(self, duration_s: float):
        yield self.env.timeout(duration_s)
        self.remove_down("maintenance")

    # --- state ---

    def set_activity(self, activity: str) -> None:
        if activity != self.activity:
            self.activity = activity
            if self.available:  # it shows its activity, which has just changed: no need to refresh()
                self.show(activity, None)

    def set_planned(self, reason: str | None) -> None:
        self.planned = reason
        self.update_availability()

    def add_down(self, reason: str) -> None:
        self.down[reason] = None
        self.line.record(MesEvent(self.env.now, "downtime_started", self.name, None, None, reason))
        self.update_availability()

    def remove_down(self, reason: str) -> None:
        del self.down[reason]
        self.line.record(MesEvent(self.env.now, "downtime_ended", self.name, None, None, reason))
        self.update_availability()

    def update_availability(self) -> None:
        available = self.planned is None and not self.down
        if available != self.available:
            self.available = available
            if available:
                self.up.succeed()
            else:
                self.up = self.env.event()
                for process in self.pausable:
                    process.interrupt()
                self.pausable.clear()
        self.refresh()

    def refresh(self) -> None:
        """Record the state it shows, if that changed."""
        if self.planned is not None:
            shown = ("planned_stop", self.planned)
        elif self.down:
            shown = ("down", next(iter(self.down)))
        else:
            shown = (self.activity, None)
        if shown != self.shown:
            self.show(*shown)

    def show(self, state: str, reason: str | None) -> None:
        """Record that it now shows `state` (for `reason`)."""
        self.shown = (state, reason)
        line = self.line
        change = _new_record(StateChange, (self.env.now, self.name, state, reason))
        line.state_log.append(change)
        if line.listener is not None:
            line.listener(change)


class Line:
    """The running line: build it on an environment, then drive it with `env.run(until=...)`.

    `state_log`, `events` and `setpoints` grow as the simulation runs; commands (set_conwip, set_speed,
    set_buffer, maintenance_stop) apply at `env.now` and may be given between runs or from a process.
    """

    def __init__(self, env: simpy.Environment, plant: Plant, seed: int, *, listener: Listener | None = None):
        self.env = env
        self.plant = plant
        self.seed = seed
        self.listener = listener
        self.state_log: list[StateChange] = []
        self.events: list[MesEvent] = []
        self.setpoints: list[SetpointChange] = []
        self.stations = {name: _Station(self, spec, seed) for name, spec in plant.stations.items()}
        self.wip = 0
        self.completed = 0
        self.scrapped = 0
        self.wip_cap = plant.release.wip_cap
        self._last_part_id = 0
        self._products = list(plant.products.values())
        self._mix_cumulative = np.cumsum([product.mix for product in self._products]).tolist()
        self._mix_draw = _draws(stream(seed, "line", "mix").random)
        self._routings = {p.name: tuple(step.station for step in p.routing) for p in self._products}

        for name, station in self.stations.items():
            self.record(SetpointChange(0.0, name, "speed", station.speed))
            if station.buffer.capacity != math.inf:
                self.record(SetpointChange(0.0, name, "buffer", station.buffer.capacity))
        if self.wip_cap is not None:
            self.record(SetpointChange(0.0, None, "conwip", self.wip_cap))

        stops = plant.calendar.iter_stops() if plant.calendar is not None else iter(())
        first_stop = next(stops, None)
        if first_stop is not None and first_stop[0] <= 0.0:
            for station in self.stations.values():
                station.planned = first_stop[2]
                station.available = False
                station.up = env.event()
        if self.wip_cap is not None:
            self._fill_conwip()
        for station in self.stations.values():
            if station.buffer.items:
                station.activity = "running"
            station.refresh()  # every station's state at t=0

        if first_stop is not None:
            env.process(self._calendar(first_stop, stops))
        if plant.release.policy == "open":
            env.process(self._arrivals())
        for station, spec in zip(self.stations.values(), plant.stations.values(), strict=True):
            env.process(station.run())
            if spec.breakdowns is not None:
                env.process(station.failures())

    # --- commands ---

    def set_conwip(self, wip_cap: int) -> None:
        """Change the CONWIP cap; a lower cap releases nothing until the WIP falls below it."""
        if self.wip_cap is None:
            raise CommandError("conwip: this line releases parts on open arrivals, it has no WIP cap")
        wip_cap = _whole(wip_cap, "conwip", *CONWIP_RANGE)
        self.wip_cap = wip_cap
        self.record(SetpointChange(self.env.now, None, "conwip", wip_cap))
        self._fill_conwip()

    def set_speed(self, station: str, factor: float) -> None:
        """Change a station's speed factor; it applies to the parts the station starts from now on."""
        target = self._station(station)
        low, high = SPEED_RANGE
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not low <= factor <= high:
            raise CommandError(f"speed: {station}: must be a number in [{low}, {high}], got {factor!r}")
        target.speed = float(factor)
        self.record(SetpointChange(self.env.now, station, "speed", float(factor)))

    def set_buffer(self, station: str, capacity: int) -> None:
        """Change the capacity of a station's input buffer; shrinking keeps the parts already in it."""
        target = self._station(station)
        capacity = _whole(capacity, f"buffer: {station}", *BUFFER_RANGE)
        target.buffer.capacity = capacity
        self.record(SetpointChange(self.env.now, station, "buffer", capacity))
        target.buffer.admit()

    def maintenance_stop(self, station: str, duration_s: float) -> None:
        """Stop a station for maintenance: it shows `down` (reason "maintenance") for `duration_s`."""
        target = self._station(station)
        if (
            isinstance(duration_s, bool)
            or not isinstance(duration_s, int | float)
            or not (0.0 < duration_s <= MAX_MAINTENANCE_S)
        ):
            raise CommandError(
                f"maintenance: {station}: duration_s must be in (0, {MAX_MAINTENANCE_S:g}], got {duration_s!r}"
            )
        if "maintenance" in target.down:
            raise CommandError(f"maintenance: {station}: a maintenance stop is already in progress")
        target.add_down("maintenance")
        self.env.process(target.maintenance(float(duration_s)))

    def snapshot(self) -> dict:
        """The line's state now, as plain JSON-able values (for a dashboard or a twin's sync)."""
        return {
            "t_s": self.env.now,
            "wip": self.wip,
            "completed": self.completed,
            "scrapped": self.scrapped,
            "states": {name: station.shown[0] for name, station in self.stations.items()},
            "buffers": {
                name: {
                    "level": len(station.buffer.items),
                    "capacity": None if station.buffer.capacity == math.inf else station.buffer.capacity,
                }
                for name, station in self.stations.items()
            },
            "conwip": self.wip_cap,
            "speeds": {name: station.speed for name, station in self.stations.items()},
        }

    # --- release and records ---

    def _arrivals(self):
        interarrival = _distribution_draws(self.plant.release.interarrival, stream(self.seed, "line", "release"))
        while True:
            yield self.env.timeout(next(interarrival))
            self._release()

    def _fill_conwip(self) -> None:
        while self.wip < self.wip_cap:
            self._release()

    def _release(self) -> None:
        product = self._products[0]
        if len(self._products) > 1:
            share = next(self._mix_draw) * self._mix_cumulative[-1]
            product = self._products[bisect.bisect_right(self._mix_cumulative, share)]
        self._last_part_id += 1
        steps = self._routings[product.name]
        part = _Part(self._last_part_id, product.name, steps, self.env.now)
        self.wip += 1
        self.record_part_event("part_released", None, part)
        # A part that finds the first buffer full waits in the queue behind it, still part of the WIP.
        self.stations[steps[0]].buffer.put(part)

    def part_left(self, part: _Part, *, completed: bool) -> None:
        self.wip -= 1
        if completed:
            self.completed += 1
        else:
            self.scrapped += 1
        if self.wip_cap is not None:
            self._fill_conwip()

    def _calendar(self, stop: tuple[float, float, str], stops):
        """Walk the planned stops; back-to-back stops (a break running into the night) change reason only."""
        env = self.env
        while stop is not None:
            start_s, end_s, reason = stop
            if start_s > env.now:
                yield env.timeout(start_s - env.now)
            for station in self.stations.values():
                station.set_planned(reason)
            yield env.timeout(end_s - env.now)
            stop = next(stops, None)
            if stop is None or stop[0] > end_s:
                for station in self.stations.values():
                    station.set_planned(None)

    def record_part_event(self, kind: str, machine: str | None, part: _Part) -> None:
        """Record a part's MES event (the hot path: a few per part and station, so kept direct)."""
        event = _new_record(MesEvent, (self.env.now, kind, machine, part.id, part.product, None))
        self.events.append(event)
        if self.listener is not None:
            self.listener(event)

    def record(self, record: StateChange | MesEvent | SetpointChange) -> None:
        if type(record) is MesEvent:
            self.events.append(record)
        elif type(record) is StateChange:
            self.state_log.append(record)
        else:
            self.setpoints.append(record)
        if self.listener is not None:
            self.listener(record)

    def _station(self, name: str) -> _Station:
        if name not in self.stations:
            raise CommandError(f"unknown station {name!r}; the stations are {', '.join(self.stations)}")
        return self.stations[name]


def _whole(value: object, what: str, low: int, high: int) -> int:
    """A command's whole-number value (5 or 5.0), checked against [low, high]."""
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not number or value != int(value) or not low <= value <= high:
        raise CommandError(f"{what}: must be a whole number in [{low}, {high}], got {value!r}")
    return int(value)


@dataclass
class LineRun:
    """Everything one simulation produced, with what is needed to reproduce it (plant and seed)."""

    plant: Plant
    seed: int
    horizon_s: float
    state_log: list[StateChange]
    events: list[MesEvent]
    setpoints: list[SetpointChange]


def simulate(plant: Plant, *, hours: float, seed: int) -> LineRun:
    """Run the line alone (no commands) for `hours` of simulated time."""
    env = simpy.Environment()
    line = Line(env, plant, seed)
    horizon_s = hours * 3600.0
    env.run(until=horizon_s)
    return LineRun(plant, seed, horizon_s, line.state_log, line.events, line.setpoints)
