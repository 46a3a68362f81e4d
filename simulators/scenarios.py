"""Fault scenarios: YAML files that inject faults into the plant's sensors, with their ground truth.

A scenario file (bundled ones live in ``simulators/scenarios/``) reads::

    name: cooling_failure                 # optional; defaults to the file's stem
    description: The mill's coolant pump fails during the shift.
    imperfections: {spike_rate: 0.002}    # optional overrides of `ImperfectionRates` (sensor defects, noise)
    export:                               # optional: how the readings are exported
      sequence_counter: false             # no `seq` column in the dataset's readings (default: true)
      clock_steps:                        # the historian's clock steps (e.g. back an hour): every reported
        - {at_h: [2, 6], step_s: -3600}   # timestamp from at_h on moves by step_s; values stay distinct
    faults:
      - id: mill-cooling                  # unique within the scenario; the grader's key
        kind: cooling_failure             # one of faults.KINDS
        machine: mill                     # a station of the plant (network_outage: optional, all machines)
        sensors: [temperature]            # optional: default every sensor of the machine of the kinds
                                          # the fault moves (faults.KINDS)
        start_h: [1.0, 3.0]               # hours after t=0: a number, or [low, high] drawn from the seed
        duration_h: [1.5, 2.0]            # hours, same form
        magnitude: 25                     # optional, kind-specific (faults.KINDS), default there
        develop_h: 2.0                    # optional: its signature grows from nothing over these hours (0)
        erratic: 0.3                      # optional: share of that development time it hides, in bursts (0)
        speed_factor: 0.85                # optional: the station's speed x this while active (kind default)
        scrap_rate: 0.03                  # optional: scrap probability added while active (kind default)
        repair_h: 0.5                     # optional: down for repair when the window ends (kind default)
        buffered: false                   # network_outage only: deliver held messages when it ends
        description: ...                  # optional, copied to the ground truth

Faults whose timing is a range are *per-learner variants*: `Scenario.fault_windows(seed)` draws each start
and duration from ``stream(seed, "scenario", <fault id>)``, so a grader rebuilds a learner's ground truth
from the learner's seed. Physical faults (cooling, bearing wear, leak, over-consumption) change the true
signals in `sensors.py` and the line in `line.py` (see `faults.py` for each kind's signature and
consequences); sensor faults (stuck, network outage) change only what is observed, in `imperfections.py`.
"""

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from simulators.errors import ScenarioError
from simulators.faults import KINDS, FaultWindow, hidden_intervals
from simulators.imperfections import ImperfectionRates
from simulators.seeding import stream

_TOP_KEYS = {"name", "description", "imperfections", "export", "faults"}
_FAULT_KEYS = {"id", "kind", "machine", "sensors", "start_h", "duration_h", "magnitude", "buffered", "description",
               "develop_h", "erratic", "speed_factor", "scrap_rate", "repair_h"}
_EXPORT_KEYS = {"sequence_counter", "clock_steps"}
_BUNDLED = "scenarios"
MAX_REPAIR_H = 8.0
MAX_CLOCK_STEP_S = 86400.0


@dataclass(frozen=True, slots=True)
class ClockStep:
    """The historian's clock moves by `step_s` (negative: back) at a time drawn in `at_h` (hours)."""

    at_h: tuple[float, float]
    step_s: float


@dataclass(frozen=True, slots=True)
class Export:
    """How readings are exported: with the sensors' sequence counter or without, and the clock's steps."""

    sequence_counter: bool = True
    clock_steps: tuple[ClockStep, ...] = ()


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A fault as the scenario file declares it; its timing may still be a range (hours)."""

    fault_id: str
    kind: str
    targets: tuple[tuple[str, tuple[str, ...]], ...]  # (machine, sensors) pairs it hits
    start_h: tuple[float, float]
    duration_h: tuple[float, float]
    magnitude: float
    buffered: bool
    description: str
    develop_h: float | None  # None: at once, or over the whole window for a kind that develops so
    erratic: float
    speed_factor: float
    scrap_rate: float
    repair_h: float


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario, bound to the plant it was checked against."""

    name: str
    description: str
    source: str
    rates: ImperfectionRates
    faults: tuple[FaultSpec, ...] = field(default=())
    export: Export = field(default=Export())

    def fault_windows(self, seed: int) -> tuple[FaultWindow, ...]:
        """The faults' windows for this seed (one per fault and machine it hits), ordered by start."""
        windows = []
        for spec in self.faults:
            rng = stream(seed, "scenario", spec.fault_id)
            start_h = rng.uniform(*spec.start_h) if spec.start_h[1] > spec.start_h[0] else spec.start_h[0]
            length_h = (
                rng.uniform(*spec.duration_h) if spec.duration_h[1] > spec.duration_h[0] else spec.duration_h[0]
            )
            start_s = round(float(start_h) * 3600.0, 3)
            end_s = round(start_s + float(length_h) * 3600.0, 3)
            if spec.develop_h is not None:
                develop_s = min(spec.develop_h * 3600.0, end_s - start_s)
            else:
                develop_s = end_s - start_s if KINDS[spec.kind].develops_over_window else 0.0
            hidden = hidden_intervals(stream(seed, "scenario", spec.fault_id, "erratic"), start_s, develop_s,
                                      spec.erratic)
            for machine, sensors in spec.targets:
                windows.append(
                    FaultWindow(spec.fault_id, spec.kind, machine, sensors, start_s, end_s, spec.magnitude,
                                spec.buffered, spec.description, develop_s, hidden, spec.speed_factor,
                                spec.scrap_rate, round(spec.repair_h * 3600.0, 3))
                )
        return tuple(sorted(windows, key=lambda w: (w.start_s, w.fault_id, w.machine)))

    def clock_steps(self, seed: int) -> tuple[tuple[float, float], ...]:
        """(at_s, step_s) of each step of the export's clock for this seed, in time order."""
        steps = []
        for index, step in enumerate(self.export.clock_steps):
            low, high = step.at_h
            at_h = stream(seed, "scenario", "clock_step", str(index)).uniform(low, high) if high > low else low
            steps.append((round(float(at_h) * 3600.0, 3), step.step_s))
        return tuple(sorted(steps))


def list_scenarios() -> list[tuple[str, str]]:
    """(name, one-line description) of every bundled scenario, sorted by name."""
    listing = []
    for entry in sorted(resources.files("simulators").joinpath(_BUNDLED).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            data = _read(entry.read_text(encoding="utf-8"), entry.name)
            listing.append((entry.name[: -len(".yaml")], " ".join(str(data.get("description", "")).split())))
    return listing


def load_scenario(name_or_path: str | Path | None, plant) -> Scenario:
    """Load a bundled scenario by name ("cooling_failure"), or a YAML file by path, checked against `plant`.

    None means "normal". Raises ScenarioError naming the file and field for anything the plant lacks,
    an unknown fault kind, a bad value or an unreadable file.
    """
    name_or_path = "normal" if name_or_path is None else name_or_path
    text, source = _locate(name_or_path)
    data = _read(text, source)
    return _parse(data, source, Path(source).stem, plant)


def _locate(name_or_path: str | Path) -> tuple[str, str]:
    as_text = str(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or as_text.endswith((".yaml", ".yml")) or "/" in as_text
    if not looks_like_path:
        bundled = resources.files("simulators").joinpath(_BUNDLED, f"{as_text}.yaml")
        if not bundled.is_file():
            known = ", ".join(name for name, _ in list_scenarios())
            raise ScenarioError(f"{as_text}: no such bundled scenario (known: {known}); or give a YAML path")
        return bundled.read_text(encoding="utf-8"), f"{_BUNDLED}/{as_text}.yaml"
    path = Path(name_or_path)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file: {exc}") from exc


def _read(text: str, source: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: the top level must be a mapping with a 'faults' list")
    return data


def _parse(data: dict, source: str, default_name: str, plant) -> Scenario:
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ScenarioError(f"{source}: {unknown[0]}: unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{source}: name: must be a non-empty string, got {name!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError(f"{source}: description: must be a string, got {description!r}")
    rates = ImperfectionRates.from_mapping(data.get("imperfections") or {}, f"{source}: imperfections")
    faults_data = data.get("faults") or []
    if not isinstance(faults_data, list):
        raise ScenarioError(f"{source}: faults: must be a list of mappings, got {faults_data!r}")
    faults = tuple(_parse_fault(item, f"{source}: faults[{i}]", plant) for i, item in enumerate(faults_data))
    ids = [fault.fault_id for fault in faults]
    for i, fault_id in enumerate(ids):
        if fault_id in ids[:i]:
            raise ScenarioError(f"{source}: faults[{i}].id: {fault_id!r} is used twice")
    export = _parse_export(data.get("export") or {}, f"{source}: export")
    return Scenario(name, " ".join(description.split()), source, rates, faults, export)


def _parse_export(data, where: str) -> Export:
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: must be a mapping with keys {', '.join(sorted(_EXPORT_KEYS))}, got {data!r}")
    unknown = sorted(set(data) - _EXPORT_KEYS)
    if unknown:
        raise ScenarioError(f"{where}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(_EXPORT_KEYS))})")
    counter = data.get("sequence_counter", True)
    if not isinstance(counter, bool):
        raise ScenarioError(f"{where}.sequence_counter: true or false, got {counter!r}")
    steps_data = data.get("clock_steps") or []
    if not isinstance(steps_data, list):
        raise ScenarioError(f"{where}.clock_steps: must be a list of {{at_h, step_s}}, got {steps_data!r}")
    steps = []
    for index, item in enumerate(steps_data):
        at = f"{where}.clock_steps[{index}]"
        if not isinstance(item, dict) or set(item) != {"at_h", "step_s"}:
            raise ScenarioError(f"{at}: must be a mapping with exactly at_h and step_s, got {item!r}")
        step_s = item["step_s"]
        if not _is_number(step_s) or not math.isfinite(step_s) or step_s == 0 or abs(step_s) > MAX_CLOCK_STEP_S:
            raise ScenarioError(f"{at}.step_s: seconds, not 0, at most {MAX_CLOCK_STEP_S:g} either way (negative: "
                                f"the clock steps back), got {step_s!r}")
        steps.append(ClockStep(_hours(item, "at_h", at, allow_zero=True), float(step_s)))
    return Export(counter, tuple(steps))


def _parse_fault(item, where: str, plant) -> FaultSpec:
    if not isinstance(item, dict):
        raise ScenarioError(f"{where}: must be a mapping, got {item!r}")
    unknown = sorted(set(item) - _FAULT_KEYS)
    if unknown:
        raise ScenarioError(f"{where}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(_FAULT_KEYS))})")
    fault_id = item.get("id")
    if not isinstance(fault_id, str) or not fault_id:
        raise ScenarioError(f"{where}.id: must be a non-empty string, got {fault_id!r}")
    kind = item.get("kind")
    if kind not in KINDS:
        raise ScenarioError(f"{where}.kind: unknown fault kind {kind!r} (allowed: {', '.join(KINDS)})")
    fault_kind = KINDS[kind]
    targets = _targets(item, where, plant, kind, fault_kind.sensor_kinds)
    magnitude = item.get("magnitude", fault_kind.magnitude)
    if not _is_number(magnitude) or magnitude < 0:
        raise ScenarioError(f"{where}.magnitude: must be a number >= 0, got {magnitude!r}")
    if kind in ("pressure_leak",) and magnitude > 1:
        raise ScenarioError(f"{where}.magnitude: a leak loses a fraction in [0, 1], got {magnitude!r}")
    buffered = item.get("buffered", False)
    if not isinstance(buffered, bool) or (buffered and kind != "network_outage"):
        raise ScenarioError(f"{where}.buffered: true or false, and only for network_outage, got {buffered!r}")
    description = item.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError(f"{where}.description: must be a string, got {description!r}")
    physical = {"develop_h", "erratic", "speed_factor", "scrap_rate", "repair_h"} & set(item)
    if physical and not fault_kind.physical:
        raise ScenarioError(f"{where}.{sorted(physical)[0]}: only a physical fault develops or acts on the line; a "
                            f"{kind} changes what is observed only")
    develop_h = item.get("develop_h")
    if develop_h is not None and (not _is_number(develop_h) or not 0 <= develop_h <= 24 * 366):
        raise ScenarioError(f"{where}.develop_h: hours >= 0, got {develop_h!r}")
    erratic = _share(item, "erratic", 0.0, where, "a share of the development time in [0, 1]")
    if erratic and not (develop_h or fault_kind.develops_over_window):
        raise ScenarioError(f"{where}.erratic: only a fault that develops (develop_h > 0) can come and go")
    speed_factor = item.get("speed_factor", fault_kind.speed_factor)
    if not _is_number(speed_factor) or not 0.1 <= speed_factor <= 1:
        raise ScenarioError(f"{where}.speed_factor: the station's speed is multiplied by a number in [0.1, 1], got "
                            f"{speed_factor!r}")
    scrap_rate = _share(item, "scrap_rate", fault_kind.scrap_rate, where, "a probability added in [0, 1)")
    if scrap_rate >= 1:
        raise ScenarioError(f"{where}.scrap_rate: a probability added in [0, 1), got {scrap_rate!r}")
    repair_h = item.get("repair_h", fault_kind.repair_h)
    if not _is_number(repair_h) or not 0 <= repair_h <= MAX_REPAIR_H:
        raise ScenarioError(f"{where}.repair_h: hours in [0, {MAX_REPAIR_H:g}], got {repair_h!r}")
    return FaultSpec(
        fault_id, kind, targets, _hours(item, "start_h", where, allow_zero=True),
        _hours(item, "duration_h", where, allow_zero=False), float(magnitude), buffered,
        " ".join(description.split()), None if develop_h is None else float(develop_h), erratic,
        float(speed_factor), scrap_rate, float(repair_h),
    )


def _share(item: dict, key: str, default: float, where: str, what: str) -> float:
    value = item.get(key, default)
    if not _is_number(value) or not 0 <= value <= 1:
        raise ScenarioError(f"{where}.{key}: {what}, got {value!r}")
    return float(value)


def _targets(item: dict, where: str, plant, kind: str, sensor_kinds: tuple[str, ...]):
    machine = item.get("machine")
    if machine is None and kind == "network_outage":
        machines = list(plant.stations)
    elif machine in plant.stations:
        machines = [machine]
    else:
        raise ScenarioError(
            f"{where}.machine: {machine!r} is not a station of plant {plant.name!r} "
            f"(stations: {', '.join(plant.stations)})"
        )
    wanted = item.get("sensors")
    if wanted is not None and (
        not isinstance(wanted, list) or not wanted or not all(isinstance(s, str) for s in wanted)
    ):
        raise ScenarioError(f"{where}.sensors: must be a non-empty list of sensor names, got {wanted!r}")
    targets = []
    for name in machines:
        by_name = {spec.name: spec for spec in plant.stations[name].sensors}
        if wanted is None:
            sensors = tuple(s for s, spec in by_name.items() if spec.kind in sensor_kinds)
            if not sensors and machine is not None:
                raise ScenarioError(
                    f"{where}.machine: station {name!r} has no sensor of kind {' or '.join(sensor_kinds)} "
                    f"for a {kind} fault"
                )
        else:
            for sensor in wanted:
                if sensor not in by_name:
                    raise ScenarioError(
                        f"{where}.sensors: station {name!r} has no sensor {sensor!r} "
                        f"(sensors: {', '.join(by_name)})"
                    )
                if by_name[sensor].kind not in sensor_kinds:
                    raise ScenarioError(
                        f"{where}.sensors: {sensor!r} is a {by_name[sensor].kind} sensor; a {kind} fault acts "
                        f"on {' or '.join(sensor_kinds)} sensors"
                    )
            sensors = tuple(wanted)
        if sensors:
            targets.append((name, sensors))
    return tuple(targets)


def _hours(item: dict, key: str, where: str, *, allow_zero: bool) -> tuple[float, float]:
    value = item.get(key)
    bounds = value if isinstance(value, list) else [value, value]
    ok = len(bounds) == 2 and all(_is_number(b) and math.isfinite(b) for b in bounds)
    if ok:
        low, high = float(bounds[0]), float(bounds[1])
        ok = low <= high and (low >= 0 if allow_zero else low > 0)
    if not ok:
        allowed = ">= 0" if allow_zero else "> 0"
        raise ScenarioError(f"{where}.{key}: hours {allowed}, a number or [low, high], got {value!r}")
    return low, high


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def as_scenario(scenario, plant) -> Scenario:
    """Accept a loaded Scenario, a bundled name, a path or None ("normal") wherever a scenario is taken."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario, plant)

