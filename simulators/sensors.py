"""Sensor physics: the true signal of every sensor, computed from the machines' state log, window by window.

Each station carries sensors of five kinds, coupled to its state (running, starved, blocked, down,
planned_stop), its speed setpoint and the scenario's physical faults. Their parameters come from the
plant file (``stations.<st>.sensors.<name>.params``); a parameter shown with a default may be left out:

==============  ===============================================================================================
kind            true value
==============  ===============================================================================================
power (kW)      running: ``idle_kw + load_kw * speed``; starved/blocked: ``idle_kw``; down/planned_stop:
                ``standby_kw`` (default 0). energy_overconsumption multiplies it by ``1 + magnitude`` while
                powered (not down/planned_stop).
temperature     first-order lag, exact per piecewise-constant interval: towards ``ambient_c + (running_c -
(°C)            ambient_c) * speed`` (+ a cooling_failure's magnitude) with ``time_constant_s`` (default 600)
                while running, towards ``ambient_c`` with ``cooling_time_constant_s`` (default: the heating
                one) otherwise. Starts at ambient at t=0 and is continuous across windows.
vibration       running: ``base_mm_s * speed + wear_gain_mm_s * (wear / wear_reference)²`` where wear is the
(mm/s)          running time since the last repair (end of a down state) and ``wear_reference_hours`` defaults
                to the station's MTBF (168 h without breakdowns); a bearing_wear fault adds a ramp up to its
                magnitude over its window. Not running: ``rest_mm_s`` (default 0.1).
pressure (bar)  running: ``nominal_bar``; starved/blocked: ``nominal_bar * idle_fraction`` (default 0.8);
                down/planned_stop: 0. A pressure_leak removes the fraction ``magnitude``.
flow (l/min)    same with ``nominal_l_min`` and ``idle_fraction`` (default 0.3).
==============  ===============================================================================================

Signals are generated with numpy over a window ``[t0, t1)`` from the state log known so far
(``np.searchsorted`` over each machine's state changes), never one SimPy event per sample. `PlantSensors`
keeps what must continue from one window to the next (temperature, wear, position in the log), so the
live stream (windows of a few seconds) and the dataset writer (windows of an hour) share it.

Every sensor samples every ``plant.sensor_period_s`` at ``t = seq * period + phase``, with a phase in
``[0, period)`` drawn once from ``stream(seed, "sensors", machine, sensor, "phase")``; ``seq`` counts from 0.
"""

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulators.errors import PlantFileError
from simulators.records import STATE_CODE, SetpointChange, StateChange
from simulators.scenarios import Scenario, as_scenario
from simulators.seeding import stream

KINDS = ("power", "temperature", "vibration", "pressure", "flow")
_REQUIRED = object()
# kind -> {param: default}; _REQUIRED means the plant file must give it; None means "derived" (see above).
PARAMS: dict[str, dict[str, object]] = {
    "power": {"idle_kw": _REQUIRED, "load_kw": _REQUIRED, "standby_kw": 0.0},
    "temperature": {
        "ambient_c": _REQUIRED, "running_c": _REQUIRED, "time_constant_s": 600.0, "cooling_time_constant_s": None,
    },
    "vibration": {"base_mm_s": _REQUIRED, "wear_gain_mm_s": _REQUIRED, "rest_mm_s": 0.1, "wear_reference_hours": None},
    "pressure": {"nominal_bar": _REQUIRED, "idle_fraction": 0.8},
    "flow": {"nominal_l_min": _REQUIRED, "idle_fraction": 0.3},
}
_POSITIVE = {"time_constant_s", "cooling_time_constant_s", "wear_reference_hours"}
_FRACTION = {"idle_fraction"}
_HOURS_WITHOUT_BREAKDOWNS = 168.0

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
    if spec.kind == "vibration" and "wear_reference_hours" not in params:
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


def plant_sensors(plant) -> tuple[SensorInfo, ...]:
    """Every sensor of the plant, station by station in plant order, sensors in station order."""
    infos = []
    for station in plant.stations.values():
        for spec in station.sensors:
            infos.append(
                SensorInfo(len(infos), station.name, spec.name, spec.kind, spec.unit, float(spec.low),
                           float(spec.high), sensor_params(plant, station, spec))
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
            "period_s": float(plant.sensor_period_s),
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


class _Machine:
    """One machine's state and speed history, read window by window.

    `i0` points at the last state change at or before the current window's start, with the running time
    accumulated up to it (`run0_s`) and that running time at the last repair (`repair0_s`), so a window
    only ever looks at its own slice of the log.
    """

    def __init__(self, name: str):
        self.name = name
        # A virtual first entry: idle at t=0 until the log says otherwise.
        self.times, self.codes = [0.0], [STARVED]
        self.i0, self.run0_s, self.repair0_s = 0, 0.0, 0.0
        self.speed_times, self.speeds = [0.0], [1.0]

    def slice(self, t0: float, t1: float):
        """Arrays over the changes from i0 to the last one before t1: times, codes, run_s, repair_s."""
        j = bisect.bisect_left(self.times, t1, lo=self.i0 + 1)
        times = np.asarray(self.times[self.i0 : j], dtype=float)
        codes = np.asarray(self.codes[self.i0 : j], dtype=np.int8)
        running = codes[:-1] == RUNNING
        run_s = np.empty(len(times))
        run_s[0] = self.run0_s
        np.cumsum(np.diff(times) * running, out=run_s[1:])
        run_s[1:] += self.run0_s
        repaired = np.zeros(len(times), dtype=bool)
        repaired[1:] = (codes[:-1] == DOWN) & (codes[1:] != DOWN)
        base = run_s.copy()
        base[0] = self.repair0_s
        repair_s = base[np.maximum.accumulate(np.where(repaired, np.arange(len(times)), 0))]
        # Move to the window [t1, ...): the last change before t1 becomes the new anchor.
        self.i0 += len(times) - 1
        self.run0_s, self.repair0_s = float(run_s[-1]), float(repair_s[-1])
        return times, codes, run_s, repair_s

    def speed_slice(self, t0: float, t1: float):
        i = bisect.bisect_right(self.speed_times, t0) - 1
        j = bisect.bisect_left(self.speed_times, t1, lo=i + 1)
        return np.asarray(self.speed_times[i:j]), np.asarray(self.speeds[i:j])


class PlantSensors:
    """The plant's true sensor signals, generated window after contiguous window.

    ``window(t0, t1, state_log, setpoints)`` needs every state change and setpoint before `t1` to be in
    the logs (later ones may be there too); the logs are append-only lists in time order, as `line.py`
    produces them, and may grow between calls (the live stream).
    """

    def __init__(self, plant, seed: int, scenario: Scenario | str | None = None):
        self.plant = plant
        self.period_s = float(plant.sensor_period_s)
        self.sensors = plant_sensors(plant)
        self.scenario = as_scenario(scenario, plant)
        windows = [w for w in self.scenario.fault_windows(seed) if w.kind not in ("sensor_stuck", "network_outage")]
        self._faults = {
            info.index: [w for w in windows if w.machine == info.machine and info.name in w.sensors]
            for info in self.sensors
        }
        self._phase_s = {
            info.index: float(stream(seed, "sensors", info.machine, info.name, "phase").uniform(0, self.period_s))
            for info in self.sensors
        }
        self._machines = {name: _Machine(name) for name in plant.stations}
        self._temperature_c = {
            info.index: info.params["ambient_c"] for info in self.sensors if info.kind == "temperature"
        }
        self._states_seen = self._setpoints_seen = 0
        self._t_next = 0.0

    def window(
        self, t0_s: float, t1_s: float, state_log: Sequence[StateChange], setpoints: Sequence[SetpointChange]
    ) -> Readings:
        """True values of every sample in [t0_s, t1_s); t0_s must be where the previous window ended (0 first)."""
        if t0_s != self._t_next or not t1_s > t0_s:
            raise ValueError(
                f"windows must be contiguous and forward: expected t0={self._t_next}, got [{t0_s}, {t1_s})"
            )
        self._t_next = t1_s
        self._ingest(state_log, setpoints)
        parts = []
        for machine in self._machines.values():
            times, codes, run_s, repair_s = machine.slice(t0_s, t1_s)
            speed_times, speeds = machine.speed_slice(t0_s, t1_s)
            for info in self.sensors:
                if info.machine != machine.name:
                    continue
                t, seq = self._grid(info.index, t0_s, t1_s)
                i = np.searchsorted(times, t, side="right") - 1
                code = codes[i]
                speed = speeds[np.searchsorted(speed_times, t, side="right") - 1]
                if info.kind == "temperature":
                    value = self._temperature(info, t0_s, t1_s, t, times, codes, speed_times, speeds)
                else:
                    wear_s = run_s[i] + (t - times[i]) * (code == RUNNING) - repair_s[i]
                    value = self._instant(info, t, code, speed, wear_s)
                parts.append((t, np.full(len(t), info.index, dtype=np.int32), seq, value))
        if not parts:
            parts.append((np.empty(0), np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0)))
        return Readings(t0_s, t1_s, *(np.concatenate([p[k] for p in parts]) for k in range(4)))

    def _ingest(self, state_log, setpoints) -> None:
        for change in state_log[self._states_seen :]:
            machine = self._machines.get(change.machine)
            if machine is not None:
                machine.times.append(float(change.t_s))
                machine.codes.append(STATE_CODE[change.state])
        self._states_seen = len(state_log)
        for change in setpoints[self._setpoints_seen :]:
            if change.name == "speed" and change.machine in self._machines:
                machine = self._machines[change.machine]
                machine.speed_times.append(float(change.t_s))
                machine.speeds.append(float(change.value))
        self._setpoints_seen = len(setpoints)

    def _grid(self, index: int, t0_s: float, t1_s: float):
        phase = self._phase_s[index]
        k0 = math.ceil((t0_s - phase) / self.period_s)
        k1 = math.ceil((t1_s - phase) / self.period_s)
        seq = np.arange(max(k0, 0), max(k1, 0), dtype=np.int64)
        return seq * self.period_s + phase, seq

    def _instant(self, info: SensorInfo, t, code, speed, wear_s):
        p = info.params
        idle, off = np.isin(code, _IDLE_CODES), np.isin(code, _OFF_CODES)
        running = code == RUNNING
        if info.kind == "power":
            not_running = np.where(idle, p["idle_kw"], p["standby_kw"])
            value = np.where(running, p["idle_kw"] + p["load_kw"] * speed, not_running)
            for fault in self._faults[info.index]:
                value = np.where(fault.active(t) & ~off, value * (1.0 + fault.magnitude), value)
            return value
        if info.kind == "vibration":
            wear = wear_s / (p["wear_reference_hours"] * 3600.0)
            value = p["base_mm_s"] * speed + p["wear_gain_mm_s"] * wear**2
            for fault in self._faults[info.index]:
                ramp = np.clip((t - fault.start_s) / (fault.end_s - fault.start_s), 0.0, 1.0)
                value = value + np.where(fault.active(t), fault.magnitude * ramp, 0.0)
            return np.where(running, value, p["rest_mm_s"])
        nominal = p["nominal_bar"] if info.kind == "pressure" else p["nominal_l_min"]
        value = np.where(running, nominal, np.where(idle, nominal * p["idle_fraction"], 0.0))
        for fault in self._faults[info.index]:
            value = np.where(fault.active(t), value * (1.0 - fault.magnitude), value)
        return value

    def _temperature(self, info, t0_s, t1_s, t, times, codes, speed_times, speeds):
        """Exact first-order response over the window's piecewise-constant intervals, continuous at t0."""
        p = info.params
        faults = self._faults[info.index]
        edges = [t0_s, *times[1:], *speed_times[1:]]
        edges += [e for f in faults for e in (f.start_s, f.end_s) if t0_s < e < t1_s]
        starts = np.unique(np.asarray(edges, dtype=float))
        code = codes[np.searchsorted(times, starts, side="right") - 1]
        speed = speeds[np.searchsorted(speed_times, starts, side="right") - 1]
        running = code == RUNNING
        rise = np.zeros(len(starts))
        for fault in faults:
            rise += np.where(fault.active(starts), fault.magnitude, 0.0)
        target = np.where(running, p["ambient_c"] + (p["running_c"] - p["ambient_c"]) * speed + rise, p["ambient_c"])
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
