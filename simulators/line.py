"""The production line as a SimPy model: stations, buffers, breakdowns, shifts, release and commands.

How a part flows: the release (open arrivals or CONWIP cards) puts it into the input buffer of the
first station of its product's routing; each station takes parts from its buffer in FIFO order and
hands each to the first of its servers (machines) to be free; the machine processes it (the process
time is drawn for the product and divided by the station's speed), may scrap it, then puts it into the
next station's buffer. When that buffer is full the machine keeps the part and shows `blocked` until
there is room (blocking after service). A part leaves after the last step of its routing
(`part_completed`) or when scrapped; under CONWIP its card then releases a new part. A station has one
machine of its own name unless the plant file gives it `servers: n` (machines <station>_1 … _n).

What a machine shows, in order of precedence: `planned_stop` (outside shifts or in a break, from the
calendar), `down` (a breakdown, a maintenance stop or a fault's repair), else what it is doing:
`running` (it holds a part to process), `starved` (its buffer is empty) or `blocked`. Processing and the
time-to-failure clock both pause while a machine is stopped or down and resume where they were; repairs
run on calendar time. The time to failure is the machine's life, drawn when it is renewed (see
`_Machine`): its breakdown hazard grows with the up time since. Several state changes may share one
`t_s` (e.g. a part arriving the instant a machine frees); the last one holds.

Every record (StateChange, MesEvent, SetpointChange) is appended to the line's logs and passed to the
listener the moment it happens; renewals go to `renewals` only. Random streams, one per purpose so that
changing one station does not shift another's numbers: ("line", "release"), ("line", "mix"),
("line", station, "process", product), ("line", station, "scrap"), ("line", machine, "breakdowns"),
("line", machine, "repairs"). A scenario's faults change no draw: a run under a fault is the normal
run until the fault starts.
"""

import bisect
import gc
import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import simpy

from simulators.distributions import Distribution
from simulators.errors import CommandError
from simulators.faults import SENSOR_FAULTS, FaultWindow
from simulators.plantfile import DAY_S, WEEKDAYS, Plant, Station
from simulators.records import MesEvent, RecordLog, Renewal, SetpointChange, StateChange
from simulators.seeding import stream

SPEED_RANGE = (0.5, 1.5)  # speed factors a command may set
CONWIP_RANGE = (1, 200)  # WIP caps a command may set
BUFFER_RANGE = (1, 1000)  # buffer capacities a command may set
MAX_MAINTENANCE_S = 8 * 3600.0  # the longest maintenance stop a command may order
DRAW_BLOCK = 512  # values drawn per call to numpy: one draw at a time would cost more than the event
MAX_SCRAP_RATE = 0.99  # a station's own scrap rate plus its faults' stays below certain scrap

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
    __slots__ = ("id", "product", "released_s", "route")

    def __init__(self, part_id: int, product: str, route, released_s: float):
        self.id = part_id
        self.product = product
        self.route = route  # the input buffers of the stations of its routing still ahead of it
        self.released_s = released_s


class _Buffer:
    """A FIFO buffer in front of one station, whose capacity may change while parts are in it.

    A put that finds no room queues the part behind the others and returns an event that fires once
    the part is in (upstream stations wait on it, shown blocked); a put that fits returns None so the
    caller does not yield. Shrinking the capacity keeps the parts already there. The station's idle
    servers wait in `getters`, first idle first served (the servers' loop, `_Machine.run`, appends its
    event there and does the common case of `put` itself).
    """

    __slots__ = ("_env", "capacity", "getters", "items", "putters")

    def __init__(self, env: simpy.Environment, capacity: float):
        self._env = env
        self.capacity = capacity
        self.items: deque[_Part] = deque()
        self.putters: deque[tuple[simpy.Event, _Part]] = deque()
        self.getters: deque[simpy.Event] = deque()  # the station's servers waiting for work

    def put(self, part: _Part) -> simpy.Event | None:
        if self.getters:  # a server is idle: hand the part straight over
            self.getters.popleft().succeed(part)
            return None
        if not self.putters and len(self.items) < self.capacity:
            self.items.append(part)
            return None
        admitted = self._env.event()
        self.putters.append((admitted, part))
        return admitted

    def admit(self) -> None:
        """Move waiting parts in while there is room (after a take, or when the capacity grows)."""
        while self.putters and len(self.items) < self.capacity:
            admitted, part = self.putters.popleft()
            self.items.append(part)
            admitted.succeed()


class _Station:
    """What a station's servers share: the input buffer, the speed, the scrap rate, the random draws, and the
    physical faults slowing it down or spoiling its parts."""

    def __init__(self, line: "Line", spec: Station, seed: int):
        self.name = spec.name
        self.spec = spec
        self.buffer = _Buffer(line.env, math.inf if spec.input_buffer is None else spec.input_buffer)
        self.speed = spec.speed  # the speed setpoint
        self.faults: list[FaultWindow] = []  # the physical faults active now
        self.rate = spec.speed  # the speed it works at: the setpoint slowed by its faults
        self.scrap_rate = spec.scrap_rate  # its own, plus its faults'
        self.process_time = {
            product.name: _distribution_draws(step.time, stream(seed, "line", self.name, "process", product.name))
            for product in line.plant.products.values()
            for step in product.routing
            if step.station == self.name
        }
        self.scrap_draw = _draws(stream(seed, "line", self.name, "scrap").random)
        self.machines = [_Machine(line, self, machine, seed) for machine in spec.machines]

    def update(self) -> None:
        """Recompute the working speed and the scrap rate from the setpoint and the active faults."""
        self.rate = self.speed * math.prod(fault.speed_factor for fault in self.faults)
        self.scrap_rate = min(MAX_SCRAP_RATE, self.spec.scrap_rate + sum(fault.scrap_rate for fault in self.faults))


class _Machine:
    """One server of a station: its SimPy processes and its state; the Line owns the records and the routing.

    Wear: the machine is renewed (as good as new) at t=0 and whenever it comes back from a down state
    (repair, maintenance, a fault's repair); at each renewal it draws its life, the up time it will last
    before breaking down (Weibull, `Breakdowns.wear_shape`), and the line logs a `Renewal` the sensors read.
    """

    __slots__ = ("activity", "available", "down", "env", "life_s", "line", "lives", "name", "planned",
                 "renewals", "shown", "station", "time_to_repair", "timed", "up")

    def __init__(self, line: "Line", station: _Station, name: str, seed: int):
        self.line = line
        self.env = line.env
        self.station = station
        self.name = name
        self.activity = "starved"  # what it does when it is not stopped: running / starved / blocked
        self.planned: str | None = None  # reason of the planned stop in progress ("off_shift" / "break")
        self.down: dict[str, int] = {}  # reasons it is down, oldest first, with how many stops hold each
        self.available = True
        self.up: simpy.Event | None = None  # fires when it becomes available again
        # Its processes a stop pauses: each is timing work (a part, up time to failure) exactly when it waits
        # on a Timeout (a repair's runs while the machine is down, when no stop can begin).
        self.timed: list[simpy.Process] = []
        self.shown: tuple[str, str | None] | None = None  # the last recorded (state, reason)
        self.renewals = 0
        self.lives = None
        breakdowns = station.spec.breakdowns
        if breakdowns is not None:
            failure_rng = stream(seed, "line", name, "breakdowns")
            repair_rng = stream(seed, "line", name, "repairs")
            shape, scale_s = breakdowns.wear_shape, breakdowns.scale_hours * 3600.0
            mttr_s = breakdowns.mttr_hours * 3600.0
            # weibull(1) draws the very numbers exponential() does: a plant with wear_shape 1 is memoryless.
            self.lives = _draws(lambda n: failure_rng.weibull(shape, n) * scale_s)
            self.time_to_repair = _draws(lambda n: repair_rng.exponential(mttr_s, n))
        self.life_s = next(self.lives) if self.lives is not None else math.nan
        line.renewals.append(Renewal(0.0, name, self.life_s))

    # --- processes ---

    def run(self):
        """Take, process, pass on, forever.

        This loop is most of the line's cost, so everything it reads that does not change while it
        runs (its buffer's deques, the draws, bound methods) is a local, and the records it writes for
        every part (its activity, started, finished) are built here, not in calls; so is the common case
        of passing the part on (`_Buffer.put`). It reads the clock as `env._now`, the attribute SimPy's
        own `now` property returns: a property call per read costs a few percent of the whole run.
        """
        station, line, env, name = self.station, self.line, self.env, self.name
        buffer = station.buffer
        items, getters = buffer.items, buffer.getters
        process_time, scrap_draw = station.process_time, station.scrap_draw
        # The logs keep plain tuples (a record is built when read): only a listener gets records as they happen.
        log_event, log_state, listener = line.events.rows.append, line.state_log.rows.append, line.listener
        timeout, event, new = env.timeout, env.event, _new_record
        self.timed.append(env.active_process)
        while True:
            if items:
                part = items.popleft()
                if buffer.putters:
                    buffer.admit()
            else:
                if self.activity != "starved":
                    self.activity = "starved"
                    if self.available:  # it shows its activity, which has just changed
                        self.shown = _STARVED
                        change = (env._now, name, "starved", None)
                        log_state(change)
                        if listener is not None:
                            listener(new(StateChange, change))
                getter = event()
                getters.append(getter)
                part = yield getter
            part_id, product = part.id, part.product
            now = env._now
            if self.activity != "running":
                self.activity = "running"
                if self.available:
                    self.shown = _RUNNING
                    change = (now, name, "running", None)
                    log_state(change)
                    if listener is not None:
                        listener(new(StateChange, change))
            duration_s = next(process_time[product]) / station.rate
            if not self.available:
                while not self.available:
                    yield self.up
                now = env._now
            record = (now, "part_started", name, part_id, product, None)
            log_event(record)
            if listener is not None:
                listener(new(MesEvent, record))
            # The common case inline (one timeout); a stop during it hands the rest over to work().
            try:
                yield timeout(duration_s)
            except simpy.Interrupt:
                yield from self.work(duration_s - (env._now - now))
            now = env._now
            record = (now, "part_finished", name, part_id, product, None)
            log_event(record)
            if listener is not None:
                listener(new(MesEvent, record))
            scrap_rate = station.scrap_rate
            if scrap_rate and next(scrap_draw) < scrap_rate:
                line.record_part_event("part_scrapped", name, part)
                line.part_left(part, completed=False)
                continue
            downstream = next(part.route, None)
            if downstream is None:
                record = (now, "part_completed", name, part_id, product, None)
                log_event(record)
                if listener is not None:
                    listener(new(MesEvent, record))
                line.wip -= 1
                line.completed += 1
                if line.wip_cap is not None and line.wip < line.wip_cap:
                    line._fill_conwip()
                continue
            if downstream.getters:  # a server is idle there: hand the part straight over
                downstream.getters.popleft().succeed(part)
            elif not downstream.putters and len(downstream.items) < downstream.capacity:
                downstream.items.append(part)
            else:
                admitted = event()
                downstream.putters.append((admitted, part))
                self.set_activity("blocked")
                yield admitted

    def work(self, duration_s: float):
        """Spend `duration_s` of available time: a stop or a breakdown pauses the count, which resumes."""
        env = self.env
        remaining_s = duration_s
        while remaining_s > 0.0:
            while not self.available:
                yield self.up
            start_s = env.now
            try:
                yield env.timeout(remaining_s)
            except simpy.Interrupt:
                remaining_s -= env.now - start_s
                continue
            return

    def failures(self):
        """Break down once up for the life drawn at the last renewal, stay down an exponential repair time,
        again. A renewal while it waits (a maintenance) gives it a new life."""
        env = self.env
        self.timed.append(env.active_process)
        while True:
            seen, remaining_s = self.renewals, self.life_s
            while remaining_s > 0.0:
                while not self.available:
                    yield self.up
                if self.renewals != seen:
                    seen, remaining_s = self.renewals, self.life_s
                start_s = env.now
                try:
                    yield env.timeout(remaining_s)
                except simpy.Interrupt:
                    remaining_s -= env.now - start_s
                    continue
                remaining_s = 0.0
            self.add_down("breakdown")
            yield env.timeout(next(self.time_to_repair))
            self.remove_down("breakdown")

    def stop(self, reason: str, duration_s: float) -> None:
        """Down from now for `reason` during `duration_s` (a maintenance, a fault's repair), then renewed."""
        self.add_down(reason)
        self.env.process(self._restart_after(reason, duration_s))

    def _restart_after(self, reason: str, duration_s: float):
        yield self.env.timeout(duration_s)
        self.remove_down(reason)

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
        self.down[reason] = self.down.get(reason, 0) + 1
        self.line.record(MesEvent(self.env.now, "downtime_started", self.name, None, None, reason))
        self.update_availability()

    def remove_down(self, reason: str) -> None:
        self.down[reason] -= 1
        if not self.down[reason]:
            del self.down[reason]
        self.line.record(MesEvent(self.env.now, "downtime_ended", self.name, None, None, reason))
        if not self.down:  # back from every stop: as good as new
            self.renewals += 1
            self.life_s = next(self.lives) if self.lives is not None else math.nan
            self.line.renewals.append(Renewal(self.env.now, self.name, self.life_s))
        self.update_availability()

    def update_availability(self) -> None:
        available = self.planned is None and not self.down
        if available != self.available:
            self.available = available
            if available:
                self.up.succeed()
            else:
                self.up = self.env.event()
                for process in self.timed:
                    target = process.target  # the active process's is the timeout that has just woken it
                    if type(target) is simpy.Timeout and not target.processed:
                        process.interrupt()
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
        change = (self.env.now, self.name, state, reason)
        line.state_log.rows.append(change)
        if line.listener is not None:
            line.listener(_new_record(StateChange, change))


_STARVED, _RUNNING = ("starved", None), ("running", None)


class Line:
    """The running line: build it on an environment, then drive it with `run_until(t_s)` (or `env.run`).

    `state_log`, `events`, `setpoints` and `renewals` grow as the simulation runs; commands (set_conwip,
    set_speed, set_buffer, maintenance_stop) apply at `env.now` and may be given between runs or from a
    process. A scenario's physical faults act on their station while active (slower, more scrap) and stop it
    for their repair when they end (`faults.py`).
    """

    def __init__(self, env: simpy.Environment, plant: Plant, seed: int, *, listener: Listener | None = None,
                 scenario=None):
        self.env = env
        self.plant = plant
        self.seed = seed
        self.listener = listener
        self.state_log = RecordLog(StateChange)
        self.events = RecordLog(MesEvent)
        self.setpoints: list[SetpointChange] = []
        self.renewals: list[Renewal] = []
        self.stations = {name: _Station(self, spec, seed) for name, spec in plant.stations.items()}
        self.machines = {machine.name: machine for station in self.stations.values() for machine in station.machines}
        self.wip = 0
        self.completed = 0
        self.scrapped = 0
        self.wip_cap = plant.release.wip_cap
        self._last_part_id = 0
        products = list(plant.products.values())
        self._product_names = [product.name for product in products]
        # the cumulative shares a uniform draw picks a product from (None: one product, nothing to draw)
        self._mix_cumulative = np.cumsum([p.mix for p in products]).tolist() if len(products) > 1 else None
        self._plan = {
            day: np.cumsum([shares[product.name] for product in products]).tolist()
            for day, shares in plant.regimes.product_plan.items()
        }
        midnight = plant.start.replace(hour=0, minute=0, second=0, microsecond=0)
        self._day0_s, self._weekday0 = (plant.start - midnight).total_seconds(), plant.start.weekday()
        self._mix_draw = _draws(stream(seed, "line", "mix").random)
        self._routings = {p.name: tuple(self.stations[step.station].buffer for step in p.routing) for p in products}

        for name, station in self.stations.items():
            self.record(SetpointChange(0.0, name, "speed", station.speed))
            if station.buffer.capacity != math.inf:
                self.record(SetpointChange(0.0, name, "buffer", station.buffer.capacity))
        if self.wip_cap is not None:
            self.record(SetpointChange(0.0, None, "conwip", self.wip_cap))

        stops = plant.calendar.iter_stops() if plant.calendar is not None else iter(())
        first_stop = next(stops, None)
        if first_stop is not None and first_stop[0] <= 0.0:
            for machine in self.machines.values():
                machine.planned = first_stop[2]
                machine.available = False
                machine.up = env.event()
        if self.wip_cap is not None:
            self._fill_conwip()
        for station in self.stations.values():
            for machine, _ in zip(station.machines, station.buffer.items, strict=False):
                machine.activity = "running"  # the first parts in the buffer go to its first servers
            for machine in station.machines:
                machine.refresh()  # every machine's state at t=0

        if first_stop is not None:
            env.process(self._calendar(first_stop, stops))
        if plant.release.policy == "open":
            env.process(self._arrivals())
        for machine in self.machines.values():
            env.process(machine.run())
            if machine.lives is not None:
                env.process(machine.failures())
        if scenario is not None:
            from simulators.scenarios import as_scenario

            for window in as_scenario(scenario, plant).fault_windows(seed):
                if window.kind not in SENSOR_FAULTS:
                    env.process(self._fault(window))

    def run_until(self, t_s: float) -> None:
        """Advance the simulation to `t_s`, with Python's cyclic garbage collector paused meanwhile.

        The records the line keeps hold no reference cycles, so collecting while they pile up finds nothing
        and only walks them over and over: a third of a long run's time (benchmarks/bench_line.py)."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            self.env.run(until=t_s)
        finally:
            if collecting:
                gc.enable()

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
        target.update()
        self.record(SetpointChange(self.env.now, station, "speed", float(factor)))

    def set_buffer(self, station: str, capacity: int) -> None:
        """Change the capacity of a station's input buffer; shrinking keeps the parts already in it."""
        target = self._station(station)
        capacity = _whole(capacity, f"buffer: {station}", *BUFFER_RANGE)
        target.buffer.capacity = capacity
        self.record(SetpointChange(self.env.now, station, "buffer", capacity))
        target.buffer.admit()

    def maintenance_stop(self, station: str, duration_s: float) -> None:
        """Stop a station (all its servers) or one machine for maintenance: it shows `down` (reason
        "maintenance") for `duration_s`, then is as good as new (its wear renewed)."""
        targets = [self.machines[station]] if station in self.machines else self._station(station).machines
        if (
            isinstance(duration_s, bool)
            or not isinstance(duration_s, int | float)
            or not (0.0 < duration_s <= MAX_MAINTENANCE_S)
        ):
            raise CommandError(
                f"maintenance: {station}: duration_s must be in (0, {MAX_MAINTENANCE_S:g}], got {duration_s!r}"
            )
        if any("maintenance" in machine.down for machine in targets):
            raise CommandError(f"maintenance: {station}: a maintenance stop is already in progress")
        for machine in targets:
            machine.stop("maintenance", float(duration_s))

    def snapshot(self) -> dict:
        """The line's state now, as plain JSON-able values (for a dashboard or a twin's sync)."""
        return {
            "t_s": self.env.now,
            "wip": self.wip,
            "completed": self.completed,
            "scrapped": self.scrapped,
            "states": {name: machine.shown[0] for name, machine in self.machines.items()},
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

    # --- release, faults and records ---

    def _arrivals(self):
        interarrival = _distribution_draws(self.plant.release.interarrival, stream(self.seed, "line", "release"))
        while True:
            yield self.env.timeout(next(interarrival))
            self._release()

    def _fill_conwip(self) -> None:
        while self.wip < self.wip_cap:
            self._release()

    def _release(self) -> None:
        """Release one part (a few per SimPy event under CONWIP, so its record is built here, not in a call)."""
        product = self._product_names[0]
        if self._mix_cumulative is not None:
            cumulative = self._mix_cumulative
            if self._plan:
                day = int((self._day0_s + self.env.now) // DAY_S)
                cumulative = self._plan.get(WEEKDAYS[(self._weekday0 + day) % 7], cumulative)
            product = self._product_names[bisect.bisect_right(cumulative, next(self._mix_draw) * cumulative[-1])]
        self._last_part_id = part_id = self._last_part_id + 1
        route = iter(self._routings[product])
        now = self.env.now
        part = _Part(part_id, product, route, now)
        self.wip += 1
        event = (now, "part_released", None, part_id, product, None)
        self.events.rows.append(event)
        if self.listener is not None:
            self.listener(_new_record(MesEvent, event))
        # A part that finds the first buffer full waits in the queue behind it, still part of the WIP.
        next(route).put(part)

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
            for machine in self.machines.values():
                machine.set_planned(reason)
            yield env.timeout(end_s - env.now)
            stop = next(stops, None)
            if stop is None or stop[0] > end_s:
                for machine in self.machines.values():
                    machine.set_planned(None)

    def _fault(self, window: FaultWindow):
        """A physical fault acting on its station: slower and more scrap while active, then its repair stop."""
        env, station = self.env, self.stations[window.machine]
        if window.start_s > env.now:
            yield env.timeout(window.start_s - env.now)
        station.faults.append(window)
        station.update()
        yield env.timeout(window.end_s - env.now)
        station.faults.remove(window)
        station.update()
        if window.repair_s > 0:
            for machine in station.machines:
                machine.stop(window.kind, window.repair_s)

    def record_part_event(self, kind: str, machine: str | None, part: _Part) -> None:
        """Record a part's MES event (the hot path: a few per part and station, so kept direct)."""
        event = (self.env.now, kind, machine, part.id, part.product, None)
        self.events.rows.append(event)
        if self.listener is not None:
            self.listener(_new_record(MesEvent, event))

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
    """Everything one simulation produced, with what is needed to reproduce it (plant and seed).

    `renewals` (the machines' wear, `records.Renewal`) is what the sensors need beyond the MES logs; a run
    built from MES logs alone leaves it empty and the sensors then wear each machine from t=0."""

    plant: Plant
    seed: int
    horizon_s: float
    state_log: Sequence[StateChange]  # a list, or the line's RecordLog
    events: Sequence[MesEvent]
    setpoints: list[SetpointChange]
    renewals: list[Renewal] = field(default_factory=list)


def simulate(plant: Plant, *, hours: float, seed: int, scenario=None) -> LineRun:
    """Run the line alone (no commands) for `hours` of simulated time, under `scenario`'s physical faults
    (None: none, as under "normal")."""
    env = simpy.Environment()
    line = Line(env, plant, seed, scenario=scenario)
    horizon_s = hours * 3600.0
    line.run_until(horizon_s)
    return LineRun(plant, seed, horizon_s, line.state_log, line.events, line.setpoints, line.renewals)
