"""Sensor imperfections: what a real IIoT sensor network does to the true signal, each defect labelled.

`Imperfections.apply` turns a window of true readings into the messages a subscriber receives (in arrival
order) plus a ground-truth row for every sample the sensor took, with the defect that hit it:

================  =====================================================================  =====================
label             what happens to the message                                            rate (field)
================  =====================================================================  =====================
(every sample)    Gaussian noise, sd ``noise_fraction`` × span, correlated over           always (not a label:
                  ``noise_correlation_s`` (AR(1), 0: white), plus an oscillation of      true_value shows it)
                  amplitude ``oscillation_fraction`` × span and period
                  ``oscillation_period_s`` (a hunting control loop; 0: none); sensor
                  clock error, sd ``jitter_s`` on the reported timestamp
``drift``         a slow calibration drift, ``drift_per_hour`` × span per hour since      per sensor,
                  t=0 up to ``drift_max_fraction`` × span (an aged sensor settles off     ``drift_sensor_fraction``
                  its calibration), sign drawn per sensor; labels its otherwise clean
                  samples
``spike``         value moved by ±``spike_min_fraction``–``spike_max_fraction`` of the   ``spike_rate``
                  span (20–50 %)
``out_of_range``  value 10–100 % of the span beyond the valid range, quality "bad"       ``out_of_range_rate``
``dropout``       the message is lost                                                    ``dropout_rate``
``duplicate``     the message arrives twice (the copy up to 2 s later)                   ``duplicate_rate``
``late``          the message arrives ``late_min_s``–``late_max_s`` late, out of order   ``late_rate``
``clock_jitter``  the reported timestamp is off by ``clock_jump_min_s``–``_max_s``        ``clock_jump_rate``
``stuck``         the sensor repeats its last value exactly for ``stuck_min_s``–          onsets per sample:
                  ``stuck_max_s`` (also a scenario's sensor_stuck fault)                 ``stuck_rate``
``gap``           the sensor sends nothing for ``gap_min_s``–``gap_max_s``               ``gap_rate``
``network_outage``  a scenario's outage: nothing arrives (or, buffered, everything         scenario only
                  arrives when it ends)
================  =====================================================================  =====================

Rates are per sample unless noted. A sample carries one label: episodes (stuck, gap, outage) take
precedence, and per-sample defects are drawn as mutually exclusive outcomes of one uniform draw.

Then what the export does, on every message: values are rounded to the sensor's ``resolution`` (plant
file; 0: not rounded), as a historian stores them, and the reported timestamps follow the scenario's clock
steps (``export.clock_steps``: from each step on, timestamps move by its ``step_s``, so a step back repeats
an hour of timestamps with other values). Neither is a label: `readings_truth` keeps the true time.

Determinism does not depend on how the run is cut into windows: draws come in blocks of `BLOCK` samples
per sensor, from ``stream(seed, "imperfections", machine, sensor, str(block))``, indexed by ``seq``.
The object is stateful: it remembers open episodes, the last value (for a stuck sensor) and the
messages held back (late or buffered), so windows must be applied in order; `flush` returns what is
still held when the run ends.
"""

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import numpy as np

from simulators.errors import ScenarioError
from simulators.seeding import stream

DEFECTS = (
    "ok", "drift", "spike", "out_of_range", "dropout", "duplicate", "late", "clock_jitter", "stuck", "gap",
    "network_outage",
)
DEFECT_CODE = {name: code for code, name in enumerate(DEFECTS)}
QUALITIES = ("good", "bad")
BLOCK = 3600  # samples per random block and sensor

# Per-sample outcomes, in the order their probability bands are stacked on the uniform draw.
_OUTCOMES = ("spike", "out_of_range", "dropout", "duplicate", "late", "clock_jitter", "stuck", "gap")
_EPISODES = ("stuck", "gap")


@dataclass(frozen=True, slots=True)
class ImperfectionRates:
    """How often each defect happens (defaults: a plausible factory network); a scenario may override any."""

    noise_fraction: float = 0.005  # noise sd as a fraction of the sensor's span (high - low)
    noise_correlation_s: float = 0.0  # time constant of the noise's correlation (AR(1)); 0: white noise
    oscillation_fraction: float = 0.0  # amplitude of a periodic oscillation, fraction of span; 0: none
    oscillation_period_s: float = 600.0
    jitter_s: float = 0.005  # sd of the sensor clock's error on every timestamp, seconds
    drift_sensor_fraction: float = 0.1  # probability that a sensor drifts
    drift_per_hour: float = 0.001  # drift of a drifting sensor, fraction of span per hour
    # its largest offset, fraction of span: 3 %, past a usual calibration tolerance yet a working sensor (reached in
    # 30 h at the default rate; without a bound a two-week run had sensors off by a third of their span)
    drift_max_fraction: float = 0.03
    spike_min_fraction: float = 0.2  # a spike moves the value by this to spike_max_fraction of the span
    spike_max_fraction: float = 0.5
    spike_rate: float = 0.001
    out_of_range_rate: float = 0.0005
    dropout_rate: float = 0.002
    duplicate_rate: float = 0.002
    late_rate: float = 0.002
    late_min_s: float = 2.0
    late_max_s: float = 30.0
    clock_jump_rate: float = 0.0005
    clock_jump_min_s: float = 0.5
    clock_jump_max_s: float = 5.0
    stuck_rate: float = 0.00002  # onsets per sample
    stuck_min_s: float = 30.0
    stuck_max_s: float = 600.0
    gap_rate: float = 0.00005  # onsets per sample
    gap_min_s: float = 10.0
    gap_max_s: float = 300.0

    @classmethod
    def from_mapping(cls, mapping: Mapping, where: str) -> "ImperfectionRates":
        """Defaults overridden by `mapping`; ScenarioError naming `where` and the field if one is bad."""
        if not isinstance(mapping, Mapping):
            raise ScenarioError(f"{where}: must be a mapping of rate names to numbers, got {mapping!r}")
        names = [f.name for f in fields(cls)]
        for key, value in mapping.items():
            if key not in names:
                raise ScenarioError(f"{where}.{key}: unknown imperfection (allowed: {', '.join(names)})")
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ScenarioError(f"{where}.{key}: must be a finite number >= 0, got {value!r}")
            if (key.endswith("_rate") or key.endswith("_fraction")) and value > 1:
                raise ScenarioError(f"{where}.{key}: a probability or fraction must be <= 1, got {value!r}")
        rates = cls(**{key: float(value) for key, value in mapping.items()})
        if sum(rates.outcome_rates()) > 1:
            raise ScenarioError(f"{where}: the per-sample rates add up to more than 1")
        if rates.oscillation_fraction and not rates.oscillation_period_s:
            raise ScenarioError(f"{where}.oscillation_period_s: must be > 0 for an oscillation, got 0")
        for low, high in (("late_min_s", "late_max_s"), ("clock_jump_min_s", "clock_jump_max_s"),
                          ("stuck_min_s", "stuck_max_s"), ("gap_min_s", "gap_max_s"),
                          ("spike_min_fraction", "spike_max_fraction")):
            if getattr(rates, low) > getattr(rates, high):
                raise ScenarioError(f"{where}.{low}: must be <= {high}, got {getattr(rates, low)}")
        return rates

    def outcome_rates(self) -> tuple[float, ...]:
        """Per-sample probabilities in the order of `_OUTCOMES`."""
        return (self.spike_rate, self.out_of_range_rate, self.dropout_rate, self.duplicate_rate, self.late_rate,
                self.clock_jump_rate, self.stuck_rate, self.gap_rate)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Observed:
    """Messages as a subscriber receives them, in arrival order (columnar)."""

    arrival_s: np.ndarray  # float64, simulation time the message arrives
    timestamp_s: np.ndarray  # float64, sample time as the sensor's clock reports it
    sensor: np.ndarray  # int32, index into sensors.plant_sensors(plant)
    seq: np.ndarray  # int64, the sensor's sample counter (a duplicate repeats it)
    value: np.ndarray  # float64, reported value in the sensor's unit
    quality: np.ndarray  # int8, index into QUALITIES

    def __len__(self) -> int:
        return len(self.arrival_s)


@dataclass(frozen=True, slots=True)
class Truth:
    """One row per sample the sensors took (lost ones included), by time then sensor."""

    t_s: np.ndarray  # float64, true sample time
    sensor: np.ndarray  # int32
    seq: np.ndarray  # int64
    true_value: np.ndarray  # float64
    defect: np.ndarray  # int8, index into DEFECTS

    def __len__(self) -> int:
        return len(self.t_s)


def _ar1(innovations: np.ndarray, keep: float, previous: float) -> np.ndarray:
    """y[n] = keep * y[n-1] + sqrt(1 - keep^2) * innovations[n], from y[-1] = previous: unit-variance noise
    correlated over samples. Computed as a prefix scan (log2(n) vector passes, each adding the terms `step`
    samples back), so a window of an hour costs a dozen numpy operations, not a Python loop per sample."""
    total = innovations * math.sqrt(1.0 - keep * keep)
    step, weight = 1, keep
    while step < len(total) and weight > 0.0:
        shifted = total[:-step] * weight
        total[step:] += shifted
        step, weight = step * 2, weight * weight
    return total + previous * keep ** np.arange(1, len(total) + 1)


def _empty_observed() -> Observed:
    return Observed(np.empty(0), np.empty(0), np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0),
                    np.empty(0, np.int8))


def _concat(batches, cls):
    return cls(*(np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(cls)))


def _take(batch, order):
    return type(batch)(*(getattr(batch, f.name)[order] for f in fields(batch)))


class Imperfections:
    """Applies the defects of `rates` (default: the scenario's) and the scenario's sensor faults."""

    def __init__(self, plant, seed: int, scenario=None, rates: ImperfectionRates | None = None):
        # Imported here: scenarios.py needs ImperfectionRates from this module.
        from simulators.faults import SENSOR_FAULTS
        from simulators.scenarios import as_scenario
        from simulators.sensors import plant_sensors

        self.seed = seed
        self.sensors = plant_sensors(plant)
        scenario = as_scenario(scenario, plant)
        self.rates = rates if rates is not None else scenario.rates
        self._clock_steps = scenario.clock_steps(seed)
        self._noise_state: dict[int, float] = {}  # the last correlated noise value of each sensor
        self._oscillation_phase = {}  # a phase per sensor: the control loops of a plant do not hunt in step
        for info in self.sensors if self.rates.oscillation_fraction else ():
            rng = stream(seed, "imperfections", info.machine, info.name, "oscillation")
            self._oscillation_phase[info.index] = float(rng.uniform(0.0, 2.0 * math.pi))
        self._edges = np.cumsum(self.rates.outcome_rates())
        windows = [w for w in scenario.fault_windows(seed) if w.kind in SENSOR_FAULTS]
        self._faults = {
            info.index: [w for w in windows if w.machine == info.machine and info.name in w.sensors]
            for info in self.sensors
        }
        self._drift_per_s, self._drift_max = {}, {}
        for info in self.sensors:
            rng = stream(seed, "imperfections", info.machine, info.name, "drift")
            drifts, sign = rng.random() < self.rates.drift_sensor_fraction, 1.0 if rng.random() < 0.5 else -1.0
            span = info.high - info.low
            self._drift_per_s[info.index] = sign * self.rates.drift_per_hour * span / 3600.0 if drifts else 0.0
            self._drift_max[info.index] = self.rates.drift_max_fraction * span
        self._blocks: dict[int, dict[int, tuple]] = {info.index: {} for info in self.sensors}
        self._episode: dict[int, tuple[int, float, float]] = {}  # sensor -> (defect code, end_s, stuck value)
        self._fault_value: dict[tuple[int, str], float] = {}  # value a scenario-stuck sensor repeats
        self._last_value: dict[int, float] = {}  # last clean value (true + noise + drift) of each sensor
        self._held = _empty_observed()

    def _draws(self, info, k0: int, k1: int) -> np.ndarray:
        """Rows noise, jitter, u, a, b (standard normal, normal, uniform x3) for samples seq in [k0, k1)."""
        cache = self._blocks[info.index]
        first, last = k0 // BLOCK, (k1 - 1) // BLOCK
        for block in list(cache):
            if block < first:
                del cache[block]
        parts = []
        for block in range(first, last + 1):
            if block not in cache:
                rng = stream(self.seed, "imperfections", info.machine, info.name, str(block))
                cache[block] = np.vstack(
                    [rng.standard_normal(BLOCK), rng.standard_normal(BLOCK), rng.random((3, BLOCK))]
                )
            lo, hi = max(k0 - block * BLOCK, 0), min(k1 - block * BLOCK, BLOCK)
            parts.append(cache[block][:, lo:hi])
        return parts[0] if len(parts) == 1 else np.hstack(parts)

    def apply(self, readings) -> tuple[Observed, Truth]:
        """Observed messages arriving in [readings.t0_s, readings.t1_s) and the truth of every sample taken."""
        bounds = np.searchsorted(readings.sensor, np.arange(len(self.sensors) + 1))
        observed, truth = [self._held], []
        for info in self.sensors:
            lo, hi = bounds[info.index], bounds[info.index + 1]
            if hi > lo:
                obs, tru = self._sensor(info, readings.t_s[lo:hi], readings.seq[lo:hi], readings.value[lo:hi])
                observed.append(obs)
                truth.append(tru)
        everything = _concat(observed, Observed)
        everything = _take(everything, np.lexsort((everything.seq, everything.sensor, everything.arrival_s)))
        now = everything.arrival_s < readings.t1_s
        self._held = _take(everything, ~now)
        truth = _concat(truth, Truth) if truth else Truth(*(np.empty(0),) * 5)
        return _take(everything, now), _take(truth, np.lexsort((truth.sensor, truth.t_s)))

    def flush(self) -> Observed:
        """Messages still held back (late or buffered) when the run ends, in arrival order."""
        held, self._held = self._held, _empty_observed()
        return held

    def _noise(self, info, noise: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The sensor's noise in its unit: the standard normal draws, correlated and oscillating as the rates say."""
        rates = self.rates
        span = info.high - info.low
        if rates.noise_correlation_s:
            keep = math.exp(-info.period_s / rates.noise_correlation_s)
            previous = self._noise_state.get(info.index)
            if previous is None:  # a stationary start: the first sample is a plain unit normal
                previous, noise = float(noise[0]), noise[1:]
                noise = np.concatenate([[previous], _ar1(noise, keep, previous)])
            else:
                noise = _ar1(noise, keep, previous)
            self._noise_state[info.index] = float(noise[-1])
        value = noise * (rates.noise_fraction * span)
        if rates.oscillation_fraction:
            phase = self._oscillation_phase[info.index]
            angle = 2 * np.pi * t / rates.oscillation_period_s + phase
            value = value + rates.oscillation_fraction * span * np.sin(angle)
        return value

    def _sensor(self, info, t, seq, true):
        rates, n = self.rates, len(t)
        span = info.high - info.low
        noise, jitter, u, a, b = self._draws(info, int(seq[0]), int(seq[-1]) + 1)
        drift = np.clip(self._drift_per_s[info.index] * t, -self._drift_max[info.index], self._drift_max[info.index])
        clean = true + self._noise(info, noise, t) + drift
        value = clean.copy()
        defect = np.full(n, DEFECT_CODE["drift" if self._drift_per_s[info.index] else "ok"], dtype=np.int8)
        episode, held_values = self._episodes(info, t, clean, u, a)
        outcome = np.searchsorted(self._edges, u, side="right")  # index into _OUTCOMES, len = none
        outcome[episode >= 0] = len(_OUTCOMES)
        for k, name in enumerate(_OUTCOMES[: -len(_EPISODES)]):
            defect[outcome == k] = DEFECT_CODE[name]
        sign = np.where(b < 0.5, -1.0, 1.0)
        spike = outcome == _OUTCOMES.index("spike")
        low, high = rates.spike_min_fraction, rates.spike_max_fraction
        value[spike] += sign[spike] * (low + (high - low) * a[spike]) * span
        oor = outcome == _OUTCOMES.index("out_of_range")
        beyond = (0.1 + 0.9 * a[oor]) * span
        value[oor] = np.where(sign[oor] > 0, info.high + beyond, info.low - beyond)
        quality = np.where(oor, QUALITIES.index("bad"), QUALITIES.index("good")).astype(np.int8)

        timestamp = t + jitter * rates.jitter_s
        jump = outcome == _OUTCOMES.index("clock_jitter")
        jump_s = rates.clock_jump_min_s + a[jump] * (rates.clock_jump_max_s - rates.clock_jump_min_s)
        timestamp[jump] += sign[jump] * jump_s
        arrival = t.copy()
        late = outcome == _OUTCOMES.index("late")
        arrival[late] += rates.late_min_s + a[late] * (rates.late_max_s - rates.late_min_s)
        lost = outcome == _OUTCOMES.index("dropout")

        # Episodes and scenario faults override the per-sample outcomes.
        stuck = episode == DEFECT_CODE["stuck"]
        value[stuck] = held_values[stuck]
        defect[episode >= 0] = episode[episode >= 0]
        lost |= episode == DEFECT_CODE["gap"]
        for fault in self._faults[info.index]:
            hit = fault.active(t)
            if not hit.any():
                continue
            if fault.kind == "sensor_stuck":
                value[hit] = self._fault_stuck_value(info, fault, hit, clean)
                quality[hit] = QUALITIES.index("good")
                timestamp[hit] = t[hit] + jitter[hit] * rates.jitter_s
                arrival[hit] = t[hit]
                lost[hit] = False
                defect[hit] = DEFECT_CODE["stuck"]
            else:
                value[hit], quality[hit] = clean[hit], QUALITIES.index("good")
                timestamp[hit] = t[hit] + jitter[hit] * rates.jitter_s
                defect[hit] = DEFECT_CODE["network_outage"]
                if fault.buffered:
                    arrival[hit] = fault.end_s
                    lost[hit] = False
                else:
                    lost[hit] = True
        self._last_value[info.index] = float(clean[-1])
        if info.resolution:  # as the historian stores it; a rounded multiple of 0.1 printed as 0.1, not 0.1000…02
            decimals = max(0, -math.floor(math.log10(info.resolution))) + 6
            value = np.round(np.round(value / info.resolution) * info.resolution, decimals)
        for at_s, step_s in self._clock_steps:
            timestamp = np.where(t >= at_s, timestamp + step_s, timestamp)

        copies = np.where(lost, 0, np.where(defect == DEFECT_CODE["duplicate"], 2, 1))
        rows = np.repeat(np.arange(n), copies)
        second = np.zeros(len(rows), dtype=bool)
        second[1:] = rows[1:] == rows[:-1]
        sensor = np.full(len(rows), info.index, dtype=np.int32)
        observed = Observed(arrival[rows] + second * 2.0 * b[rows], timestamp[rows], sensor, seq[rows], value[rows],
                            quality[rows])
        truth = Truth(t, np.full(n, info.index, dtype=np.int32), seq, true, defect)
        return observed, truth

    def _episodes(self, info, t, clean, u, a) -> tuple[np.ndarray, np.ndarray]:
        """Defect code of the stuck/gap episode covering each sample (-1: none), and the value it holds."""
        rates, n = self.rates, len(t)
        code = np.full(n, -1, dtype=np.int8)
        values = np.full(n, np.nan)
        stuck_code, gap_code = DEFECT_CODE["stuck"], DEFECT_CODE["gap"]
        open_episode = self._episode.pop(info.index, None)
        if open_episode is not None:
            kind, end_s, held = open_episode
            j = int(np.searchsorted(t, end_s, side="left"))
            code[:j], values[:j] = kind, held
            if j == n:
                self._episode[info.index] = open_episode
        first_band = self._edges[len(_OUTCOMES) - len(_EPISODES) - 1]
        for i in np.flatnonzero((u >= first_band) & (u < self._edges[-1])):
            if code[i] >= 0:
                continue
            if u[i] < self._edges[_OUTCOMES.index("stuck")]:
                kind, low, high = stuck_code, rates.stuck_min_s, rates.stuck_max_s
            else:
                kind, low, high = gap_code, rates.gap_min_s, rates.gap_max_s
            end_s = float(t[i] + low + a[i] * (high - low))
            held = float(clean[i - 1]) if i > 0 else self._last_value.get(info.index, float(clean[i]))
            j = int(np.searchsorted(t, end_s, side="left"))
            code[i:j], values[i:j] = kind, held
            if j == n:
                self._episode[info.index] = (kind, end_s, held)
        return code, values

    def _fault_stuck_value(self, info, fault, hit, clean) -> float:
        """The value the sensor froze at when the fault began: its last clean value before the window."""
        key = (info.index, fault.fault_id)
        if key not in self._fault_value:
            first = int(np.argmax(hit))
            self._fault_value[key] = (
                float(clean[first - 1]) if first > 0 else self._last_value.get(info.index, float(clean[first]))
            )
        return self._fault_value[key]
