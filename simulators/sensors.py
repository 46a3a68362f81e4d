"""Sensor physics: the true signal of every sensor, computed from the machines' logs, window by window.

Each machine carries sensors of five kinds, coupled to its state (running, starved, blocked, down,
planned_stop), its speed (the setpoint, slowed by an active fault), the product it works on, its wear, the
hall's temperature and the scenario's physical faults (`faults.py`). Their parameters come from the plant
file (``stations.<st>.sensors.<name>.params``); a parameter shown with a default may be left out:

==============  ===============================================================================================
kind            true value
==============  ===============================================================================================
power (kW)      running: ``idle_kw + load_kw * speed * load + wear_gain_kw * wear``;
                starved/blocked: ``idle_kw``; down/planned_stop: ``standby_kw`` (default 0).
temperature     first-order lag, exact per piecewise-constant interval: towards ``ambient + (running_c -
(°C)            ambient_c) * speed * load`` with ``time_constant_s`` (default 600) while running, towards
                ``ambient`` with ``cooling_time_constant_s`` (default: the heating one) otherwise, where
                ``ambient`` is ``ambient_c`` plus the hall's regime (hourly steps). Starts at ambient at t=0
                and is continuous across windows.
vibration       running: ``base_mm_s * speed * load + wear_gain_mm_s * wear``; not running:
(mm/s)          ``rest_mm_s`` (default 0.1).
pressure (bar)  running: ``nominal_bar``; starved/blocked: ``nominal_bar * idle_fraction`` (default 0.8);
                down/planned_stop: 0.
flow (l/min)    same with ``nominal_l_min`` and ``idle_fraction`` (default 0.3).
==============  ===============================================================================================

``load`` is the routing step's load of the product the machine last started (1 by default). Every kind but
temperature also takes ``restart_overshoot`` (default 0): for ``restart_time_constant_s`` (default 60 s)
after a machine comes back from down or a planned stop, its value overshoots by that share, decaying, as
pumps and motors do at a restart.

Wear is bounded and drives the failures: ``wear`` is ``used ** wear_exponent * severity``, where ``used`` is
the machine's up time since it was last renewed (by a repair, a maintenance or a fault's repair) divided by
the life it drew at that renewal (`records.Renewal`, `line.py`), and ``severity`` is drawn per renewal in
[0.6, 1]; wear reaches the severity, at most 1, the instant the machine breaks down. A machine without
breakdowns wears over ``wear_reference_hours`` of up time (default 168 h) and stays worn until renewed.
``wear_exponent`` (default 3) keeps the signal flat for most of a life and rising over its last third: the
precursor a condition monitor looks for. A run given without renewals (MES
logs only) renews each machine at t=0 and at the end of every down state, with the reference life.

Signals are generated with numpy over a window ``[t0, t1)`` from the logs known so far
(``np.searchsorted`` over each machine's changes), never one SimPy event per sample. `PlantSensors` keeps
what must continue from one window to the next (temperature, wear, position in the logs), so the live
stream (windows of a few seconds) and the dataset writer (windows of an hour) share it.

Every sensor samples every ``period_s`` (its own, else ``plant.sensor_period_s``) at ``t = seq * period +
phase``, with a phase in ``[0, period)`` drawn once from ``stream(seed, "sensors", machine, sensor,
"phase")``; ``seq`` counts from 0.
"""

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulators.errors import PlantFileError
from simulators.faults import (
    COOLANT_LOSS,
    FRICTION_C_PER_MM_S,
    FRICTION_POWER_PER_MM_S,
    HEATER_SHARE,
    SENSOR_FAULTS,
)
from simulators.records import STATE_CODE, Renewal, SetpointChange, StateChange
from simulators.regimes import Hall
from simulators.scenarios import Scenario, as_scenario
from simulators.seeding import stream

KINDS = ("power", "temperature", "vibration", "pressure", "flow")
_REQUIRED = object()
_RESTART = {"restart_overshoot": 0.0, "restart_time_constant_s": 60.0}
_WEAR = {"wear_exponent": 3.0, "wear_reference_hours": None}
# kind -> {param: default}; _REQUIRED means the plant file must give it; None means "derived" (see above).
PARAMS: dict[str, dict[str, object]] = {
    "power": {"idle_kw": _REQUIRED, "load_kw": _REQUIRED, "standby_kw": 0.0, "wear_gain_kw": 0.0, **_WEAR,
              **_RESTART},
    "temperature": {
        "ambient_c": _REQUIRED, "running_c": _REQUIRED, "time_constant_s": 600.0, "cooling_time_constant_s": None,
    },
    "vibration": {"base_mm_s": _REQUIRED, "wear_gain_mm_s": _REQUIRED, "rest_mm_s": 0.1, **_WEAR, **_RESTART},
    "pressure": {"nominal_bar": _REQUIRED, "idle_fraction": 0.8, **_RESTART},
    "flow": {"nominal_l_min": _REQUIRED, "idle_fraction": 0.3, **_RESTART},
}
_POSITIVE = {"time_constant_s", "cooling_time_constant_s", "wear_reference_hours", "restart_time_constant_s",
             "wear_exponent"}
_FRACTION = {"idle_fraction", "restart_overshoot"}
_HOURS_WITHOUT_BREAKDOWNS = 168.0
SEVERITY_RANGE = (0.6, 1.0)  # the share of its wear gain a machine shows when it breaks down

RUNNING, STARVED, BLOCKED, DOWN, PLANNED_STOP = (
    STATE_CODE[s] for s in ("running", "starved", "blocked", "down", "planned_stop")
)
# A machine is idle (powered, not producing) when starved or blocked, off when down or in a planned stop.
_IDLE_CODES = (STARVED, BLOCKED)
_OFF_CODES = (DOWN, PLANNED_STOP)


def sensor_params(plant, station, spec) -> dict[str, float]:
    """The sensor's parameters with defaults filled in; PlantFileError for a missing, unknown or bad one."""
    where = f"{plant.source}: stations.{station.name}.sensors.{spec.name}"
    if spec.kind not in PARAMS:
        raise PlantFileError(f"{where}.kind: unknown sensor kind {spec.kind!r} (allowed: {', '.join(KINDS)})")
    allowed = PARAMS[spec.kind]
    given = dict(spec.params)
    for name in given:
        if name not in allowed:
            raise PlantFileError(
                f"{where}.params.{name}: unknown parameter for a {spec.kind} sensor (allowed: {', '.join(allowed)})"
            )
    params = {}
    for name, default in allowed.items():
        value = given.get(name, default)
        if value is _REQUIRED:
            raise PlantFileError(f"{where}.params.{name}: missing (a {spec.kind} sensor needs it)")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise PlantFileError(f"{where}.params.{name}: must be a finite number, got {value!r}")
        if name in _POSITIVE and value <= 0:
            raise PlantFileError(f"{where}.params.{name}: must be > 0, got {value!r}")
        if name in _FRACTION and not 0 <= value <= 1:
            raise PlantFileError(f"{where}.params.{name}: must be in [0, 1], got {value!r}")
        if name not in _POSITIVE and name not in _FRACTION and name != "ambient_c" and value < 0:
            raise PlantFileError(f"{where}.params.{name}: must be >= 0, got {value!r}")
        params[name] = float(value)
    if spec.kind == "temperature":
        params.setdefault("cooling_time_constant_s", params["time_constant_s"])
    if "wear_exponent" in params and "wear_reference_hours" not in params:
        breakdowns = station.breakdowns
        params["wear_reference_hours"] = breakdowns.mtbf_hours if breakdowns else _HOURS_WITHOUT_BREAKDOWNS
    return params


def check_plant_sensors(plant) -> None:
    """Raise PlantFileError if any sensor of `plant` has a bad kind or parameter (for `load_plant`)."""
    for station in plant.stations.values():
        for spec in station.sensors:
            sensor_params(plant, station, spec)


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """One sensor of the plant, in the plant's order (its index is the `sensor` column of every batch)."""

    index: int
    machine: str
    name: str
    kind: str
    unit: str
    low: float
    high: float
    params: dict
    station: str  # the station the machine belongs to (the machine itself unless it has several servers)
    period_s: float
    resolution: float  # reported values are multiples of it (0: not rounded)


def plant_sensors(plant) -> tuple[SensorInfo, ...]:
    """Every sensor of the plant: machine by machine in line order, sensors in their station's order."""
    infos = []
    for station in plant.stations.values():
        for machine in station.machines:
            for spec in station.sensors:
                infos.append(
                    SensorInfo(len(infos), machine, spec.name, spec.kind, spec.unit, float(spec.low),
                               float(spec.high), sensor_params(plant, station, spec), station.name,
                               float(spec.period_s or plant.sensor_period_s), float(spec.resolution))
                )
    return tuple(infos)


def sensor_metadata(plant) -> list[dict]:
    """One dict per sensor, ready for a retained ``_meta`` topic or a ``sensors`` table."""
    loc = plant.location
    prefix = f"factorylab/{loc.site}/{loc.area}/{loc.line}"
    return [
        {
            "topic": f"{prefix}/{info.machine}/{info.name}",
            "site": loc.site,
            "area": loc.area,
            "line": loc.line,
            "machine": info.machine,
            "sensor": info.name,
            "kind": info.kind,
            "unit": info.unit,
            "low": info.low,
            "high": info.high,
            "period_s": info.period_s,
            "resolution": info.resolution,  # values are multiples of it (0: not rounded), as the historian stores
        }
        for info in plant_sensors(plant)
    ]


@dataclass(frozen=True, slots=True)
class Readings:
    """True sensor values of the window [t0_s, t1_s), columnar, sensor-major (by sensor index, then seq)."""

    t0_s: float
    t1_s: float
    t_s: np.ndarray  # float64, simulation seconds of the sample
    sensor: np.ndarray  # int32, index into plant_sensors(plant)
    seq: np.ndarray  # int64, the sensor's sample counter
    value: np.ndarray  # float64, true physical value in the sensor's unit

    def __len__(self) -> int:
        return len(self.t_s)


class _Window:
    """One machine's history over one window, as arrays: what every sensor of the machine reads from.

    `times`/`codes`: the state changes from the last one at or before t0 to the last one before t1;
    `up_s`: the machine's cumulative up time (running, starved, blocked) at each change.
    """

    def __init__(self, times, codes, up_s, restart_at, speed_times, speeds, renewals, product_times, loads):
        self.times, self.codes, self.up_s, self.restart_at = times, codes, up_s, restart_at
        self.speed_times, self.speeds = speed_times, speeds
        self.renewal_times, self.renewal_up_s, self.lives, self.severity = renewals
        self.product_times, self.loads = product_times, loads

    def at(self, t: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.times, t, side="right") - 1

    def up_time(self, t: np.ndarray, i: np.ndarray) -> np.ndarray:
        up = np.isin(self.codes[i], (RUNNING, STARVED, BLOCKED))
        return self.up_s[i] + (t - self.times[i]) * up

    def wear(self, t: np.ndarray, i: np.ndarray, reference_s: float, exponent: float) -> np.ndarray:
        """The wear term at each sample: 0 when renewed, rising as the share of its life used to the power
        `exponent`, up to the renewal's severity when the life is used up (a machine without breakdowns has no
        life: it uses `reference_s` up)."""
        k = np.searchsorted(self.renewal_times, t, side="right") - 1
        lives = np.where(np.isfinite(self.lives), self.lives, reference_s)
        used = (self.up_time(t, i) - self.renewal_up_s[k]) / lives[k]
        return np.clip(used, 0.0, 1.0) ** exponent * self.severity[k]

    def speed(self, t: np.ndarray) -> np.ndarray:
        return self.speeds[np.searchsorted(self.speed_times, t, side="right") - 1]

    def load(self, t: np.ndarray) -> np.ndarray:
        return self.loads[np.searchsorted(self.product_times, t, side="right") - 1]


class _Machine:
    """One machine's state, speed, product and renewal history, read window by window.

    `i0` points at the last state change at or before the current window's start, with the up time
    accumulated up to it (`up0_s`) and the last restart (`restart0_s`), so a window only ever looks at its
    own slice of the log; `r0` is the renewal in force at the window's start, worn `renewal_up0_s`.
    """

    def __init__(self, name: str, station: str, seed: int, step_loads: dict[str, float]):
        self.name, self.station = name, station
        # A virtual first entry: idle at t=0 until the log says otherwise.
        self.times, self.codes = [0.0], [STARVED]
        self.i0, self.up0_s, self.restart0_s = 0, 0.0, -math.inf
        self.speed_times, self.speeds = [0.0], [1.0]
        self.renewal_times, self.lives, self.severity = [], [], []
        self.r0, self.renewal_up0_s = 0, 0.0
        self.severity_rng = stream(seed, "sensors", name, "wear")
        self.step_loads = step_loads  # product -> load at this machine's station
        self.product_times, self.loads = [0.0], [1.0]

    def renew(self, t_s: float, life_s: float) -> None:
        """Renewed at `t_s` with `life_s` of up time to its breakdown (NaN: none, it wears by its reference)."""
        self.renewal_times.append(t_s)
        self.lives.append(life_s)
        self.severity.append(float(self.severity_rng.uniform(*SEVERITY_RANGE)))

    def window(self, t0: float, t1: float) -> _Window:
        j = bisect.bisect_left(self.times, t1, lo=self.i0 + 1)
        times = np.asarray(self.times[self.i0 : j], dtype=float)
        codes = np.asarray(self.codes[self.i0 : j], dtype=np.int8)
        up = np.isin(codes[:-1], (RUNNING, STARVED, BLOCKED))
        up_s = np.empty(len(times))
        up_s[0] = self.up0_s
        np.cumsum(np.diff(times) * up, out=up_s[1:])
        up_s[1:] += self.up0_s
        off = np.isin(codes, _OFF_CODES)
        restarted = np.zeros(len(times), dtype=bool)
        restarted[1:] = off[:-1] & ~off[1:]
        marks = np.where(restarted, times, -math.inf)
        marks[0] = max(marks[0], self.restart0_s)
        restart_at = np.maximum.accumulate(marks)
        w = _Window(times, codes, up_s, restart_at, *self._speed_slice(t0, t1), self._renewals(t1, times, codes, up_s),
                    *self._product_slice(t0, t1))
        # Move to the window [t1, ...): the last change before t1 becomes the new anchor.
        self.i0 += len(times) - 1
        self.up0_s, self.restart0_s = float(up_s[-1]), float(restart_at[-1])
        return w

    def _renewals(self, t1: float, times, codes, up_s):
        """(times, up time at each, lives, severities) of the renewals in force from the window's start on."""
        r1 = bisect.bisect_left(self.renewal_times, t1, lo=self.r0 + 1)
        renewal_times = np.asarray(self.renewal_times[self.r0 : r1], dtype=float)
        i = np.searchsorted(times, renewal_times, side="right") - 1
        up = np.isin(codes[i], (RUNNING, STARVED, BLOCKED))
        renewal_up = up_s[i] + (renewal_times - times[i]) * up
        renewal_up[0] = self.renewal_up0_s
        lives = np.asarray(self.lives[self.r0 : r1])
        severity = np.asarray(self.severity[self.r0 : r1])
        self.r0 += len(renewal_times) - 1
        self.renewal_up0_s = float(renewal_up[-1])
        return renewal_times, renewal_up, lives, severity

    def _speed_slice(self, t0: float, t1: float):
        i = bisect.bisect_right(self.speed_times, t0) - 1
        j = bisect.bisect_left(self.speed_times, t1, lo=i + 1)
        return np.asarray(self.speed_times[i:j]), np.asarray(self.speeds[i:j])

    def _product_slice(self, t0: float, t1: float):
        i = bisect.bisect_right(self.product_times, t0) - 1
        j = bisect.bisect_left(self.product_times, t1, lo=i + 1)
        del self.product_times[:i], self.loads[:i]  # what is before the window is never read again
        return np.asarray(self.product_times[: j - i]), np.asarray(self.loads[: j - i])


class PlantSensors:
    """The plant's true sensor signals, generated window after contiguous window.

    ``window(t0, t1, state_log, setpoints, renewals, events)`` needs every record before `t1` to be in the
    logs (later ones may be there too); the logs are append-only lists in time order, as `line.py` produces
    them, and may grow between calls (the live stream). `renewals` (the line's) give the machines' wear;
    none (None or empty) derives them from the state log (see the module docstring). `events` are read only
    when a routing step declares a product load.
    """

    def __init__(self, plant, seed: int, scenario: Scenario | str | None = None):
        self.plant = plant
        self.sensors = plant_sensors(plant)
        self.scenario = as_scenario(scenario, plant)
        windows = [w for w in self.scenario.fault_windows(seed) if w.kind not in SENSOR_FAULTS]
        self._faults = {
            info.index: [w for w in windows if w.machine == info.station and info.name in w.sensors]
            for info in self.sensors
        }
        self._slowing = {name: [w for w in windows if w.machine == name and w.speed_factor != 1.0]
                         for name in plant.stations}
        self._phase_s = {
            info.index: float(stream(seed, "sensors", info.machine, info.name, "phase").uniform(0, info.period_s))
            for info in self.sensors
        }
        loads = {
            station: {product.name: step.load for product in plant.products.values() for step in product.routing
                      if step.station == station}
            for station in plant.stations
        }
        self._uses_loads = any(load != 1.0 for by_product in loads.values() for load in by_product.values())
        self._machines = {machine: _Machine(machine, station, seed, loads[station])
                          for machine, station in plant.machine_station().items()}
        self._hall = Hall(plant, seed)
        self._temperature_c = {
            info.index: info.params["ambient_c"] + self._hall.offset_c(np.zeros(1))[0]
            for info in self.sensors if info.kind == "temperature"
        }
        self._seen = {"states": 0, "setpoints": 0, "renewals": 0, "events": 0}
        self._t_next = 0.0

    def window(
        self, t0_s: float, t1_s: float, state_log: Sequence[StateChange], setpoints: Sequence[SetpointChange],
        renewals: Sequence[Renewal] | None = None, events: Sequence | None = None,
    ) -> Readings:
        """True values of every sample in [t0_s, t1_s); t0_s must be where the previous window ended (0 first)."""
        if t0_s != self._t_next or not t1_s > t0_s:
            raise ValueError(
                f"windows must be contiguous and forward: expected t0={self._t_next}, got [{t0_s}, {t1_s})"
            )
        self._t_next = t1_s
        self._ingest(state_log, setpoints, renewals, events or ())
        parts = []
        by_machine = {}
        for info in self.sensors:
            if info.machine not in by_machine:
                by_machine[info.machine] = self._machines[info.machine].window(t0_s, t1_s)
            history = by_machine[info.machine]
            t, seq = self._grid(info, t0_s, t1_s)
            if info.kind == "temperature":
                value = self._temperature(info, t0_s, t1_s, t, history)
            else:
                value = self._instant(info, t, history)
            parts.append((t, np.full(len(t), info.index, dtype=np.int32), seq, value))
        if not parts:
            parts.append((np.empty(0), np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0)))
        return Readings(t0_s, t1_s, *(np.concatenate([p[k] for p in parts]) for k in range(4)))

    def _ingest(self, state_log, setpoints, renewals, events) -> None:
        seen = self._seen
        derive = not renewals  # none given (MES logs only): derived from the state log
        if derive:
            for machine in self._machines.values():
                if not machine.renewal_times:
                    machine.renew(0.0, math.nan)
        for change in state_log[seen["states"] :]:
            machine = self._machines.get(change.machine)
            if machine is not None:
                code = STATE_CODE[change.state]
                if derive and machine.codes[-1] == DOWN and code != DOWN:
                    machine.renew(float(change.t_s), math.nan)
                machine.times.append(float(change.t_s))
                machine.codes.append(code)
        seen["states"] = len(state_log)
        for change in setpoints[seen["setpoints"] :]:
            if change.name == "speed" and change.machine in self.plant.stations:
                for machine in self.plant.stations[change.machine].machines:
                    self._machines[machine].speed_times.append(float(change.t_s))
                    self._machines[machine].speeds.append(float(change.value))
        seen["setpoints"] = len(setpoints)
        if not derive:
            for renewal in renewals[seen["renewals"] :]:
                if renewal.machine in self._machines:
                    self._machines[renewal.machine].renew(float(renewal.t_s), float(renewal.life_s))
            seen["renewals"] = len(renewals)
        for machine in self._machines.values():
            if not machine.renewal_times:  # new at t=0, with the reference life unless the log says otherwise
                machine.renew(0.0, math.nan)
        if self._uses_loads:
            for event in events[seen["events"] :]:
                if event.kind == "part_started" and event.machine in self._machines:
                    machine = self._machines[event.machine]
                    machine.product_times.append(float(event.t_s))
                    machine.loads.append(machine.step_loads.get(event.product, 1.0))
            seen["events"] = len(events)

    def _grid(self, info: SensorInfo, t0_s: float, t1_s: float):
        phase, period = self._phase_s[info.index], info.period_s
        k0 = math.ceil((t0_s - phase) / period)
        k1 = math.ceil((t1_s - phase) / period)
        seq = np.arange(max(k0, 0), max(k1, 0), dtype=np.int64)
        return seq * period + phase, seq

    def _speed(self, info: SensorInfo, t, history: _Window):
        """The machine's working speed: its setpoint, slowed by its station's active faults."""
        speed = history.speed(t)
        for fault in self._slowing[info.station]:
            speed = np.where(fault.active(t), speed * fault.speed_factor, speed)
        return speed

    def _instant(self, info: SensorInfo, t, history: _Window):
        p = info.params
        i = history.at(t)
        code = history.codes[i]
        idle, off = np.isin(code, _IDLE_CODES), np.isin(code, _OFF_CODES)
        running = code == RUNNING
        faults = [(fault, fault.level(t)) for fault in self._faults[info.index]]
        if info.kind in ("power", "vibration"):
            work = self._speed(info, t, history) * (history.load(t) if self._uses_loads else 1.0)
            wear_term = history.wear(t, i, p["wear_reference_hours"] * 3600.0, p["wear_exponent"])
        if info.kind == "power":
            running_kw = p["idle_kw"] + p["load_kw"] * work + p["wear_gain_kw"] * wear_term
            for fault, level in faults:
                if fault.kind == "bearing_wear":
                    running_kw = running_kw * (1.0 + FRICTION_POWER_PER_MM_S * fault.magnitude * level)
            value = np.where(running, running_kw, np.where(idle, p["idle_kw"], p["standby_kw"]))
            for fault, level in faults:
                if fault.kind == "energy_overconsumption":
                    value = np.where(off, value, value * (1.0 + fault.magnitude * level))
        elif info.kind == "vibration":
            running_mm_s = p["base_mm_s"] * work + p["wear_gain_mm_s"] * wear_term
            for fault, level in faults:
                if fault.kind == "bearing_wear":
                    running_mm_s = running_mm_s + fault.magnitude * level
            value = np.where(running, running_mm_s, p["rest_mm_s"])
        else:
            nominal = p["nominal_bar"] if info.kind == "pressure" else p["nominal_l_min"]
            value = np.where(running, nominal, np.where(idle, nominal * p["idle_fraction"], 0.0))
            for fault, level in faults:
                if fault.kind == "cooling_failure":
                    value = value * (1.0 - COOLANT_LOSS * level)
                elif fault.kind == "pressure_leak" and info.kind == "pressure":
                    value = value * (1.0 - fault.magnitude * level)
                elif fault.kind == "pressure_leak":  # the leak drains supply flow while the circuit is fed
                    value = np.where(off, value, value + fault.magnitude * nominal * level)
        if p["restart_overshoot"]:
            since_s = t - history.restart_at[i]
            value = np.where(off, value, value * (1.0 + p["restart_overshoot"]
                                                  * np.exp(-since_s / p["restart_time_constant_s"])))
        return value

    def _temperature(self, info: SensorInfo, t0_s, t1_s, t, history: _Window):
        """Exact first-order response over the window's piecewise-constant intervals, continuous at t0."""
        p = info.params
        faults = self._faults[info.index]
        edges = [t0_s, *history.times[1:], *history.speed_times[1:], *self._hall.edges(t0_s, t1_s)]
        edges += [e for f in faults for e in f.edges(t0_s, t1_s)]
        edges += [e for f in self._slowing[info.station] for e in (f.start_s, f.end_s) if t0_s < e < t1_s]
        if self._uses_loads:
            edges += history.product_times[1:].tolist()
        starts = np.unique(np.asarray(edges, dtype=float))
        mids = np.append((starts[:-1] + starts[1:]) / 2.0, (starts[-1] + t1_s) / 2.0)  # the input on each interval
        code = history.codes[history.at(starts)]
        work = self._speed(info, mids, history) * (history.load(starts) if self._uses_loads else 1.0)
        running = code == RUNNING
        ambient = p["ambient_c"] + self._hall.offset_c(mids)
        rise = np.zeros(len(starts))
        for fault in faults:
            level = fault.level(starts)
            if fault.kind == "cooling_failure":
                rise += fault.magnitude * level
            elif fault.kind == "bearing_wear":
                rise += FRICTION_C_PER_MM_S * fault.magnitude * level
            elif fault.kind == "energy_overconsumption":
                rise += HEATER_SHARE * fault.magnitude * (p["running_c"] - p["ambient_c"]) * level
        target = np.where(running, ambient + (p["running_c"] - p["ambient_c"]) * work + rise, ambient)
        tau = np.where(running, p["time_constant_s"], p["cooling_time_constant_s"])
        ends = np.append(starts[1:], t1_s)
        decay = np.exp(-(ends - starts) / tau)
        at_start = np.empty(len(starts))
        temperature = self._temperature_c[info.index]
        for k, (g, d) in enumerate(zip(target.tolist(), decay.tolist(), strict=True)):
            at_start[k] = temperature
            temperature = g + (temperature - g) * d
        self._temperature_c[info.index] = temperature
        seg = np.searchsorted(starts, t, side="right") - 1
        return target[seg] + (at_start[seg] - target[seg]) * np.exp(-(t - starts[seg]) / tau[seg])
