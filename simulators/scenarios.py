"""Fault scenarios: YAML files that inject faults into the plant's sensors, with their ground truth.

A scenario file (bundled ones live in ``simulators/scenarios/``) reads::

    name: cooling_failure                 # optional; defaults to the file's stem
    description: The mill's coolant pump fails during the shift.
    imperfections: {spike_rate: 0.002}    # optional overrides of `ImperfectionRates` (sensor defects)
    faults:
      - id: mill-cooling                  # unique within the scenario; the grader's key
        kind: cooling_failure             # one of FAULT_KINDS
        machine: mill                     # a station of the plant (network_outage: optional, all machines)
        sensors: [temperature]            # optional: default every sensor of the machine of the kinds
                                          # the fault acts on (FAULT_KINDS)
        start_h: [1.0, 3.0]               # hours after t=0: a number, or [low, high] drawn from the seed
        duration_h: [1.5, 2.0]            # hours, same form
        magnitude: 25                     # optional, kind-specific (FAULT_KINDS), default there
        buffered: false                   # network_outage only: deliver held messages when it ends
        description: ...                  # optional, copied to the ground truth

Faults whose timing is a range are *per-learner variants*: `Scenario.fault_windows(seed)` draws each start
and duration from ``stream(seed, "scenario", <fault id>)``, so a grader rebuilds a learner's ground truth
from the learner's seed. Physical faults (cooling, bearing wear, leak, over-consumption) change the true
signal in `sensors.py`; sensor faults (stuck, network outage) change only what is observed, in
`imperfections.py`.
"""

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from simulators.errors import ScenarioError
from simulators.imperfections import ImperfectionRates
from simulators.seeding import stream

# kind -> (sensor kinds it acts on, default magnitude, what the magnitude means)
FAULT_KINDS: dict[str, tuple[tuple[str, ...], float, str]] = {
    "cooling_failure": (("temperature",), 20.0, "extra °C the running machine heats up towards"),
    "bearing_wear": (("vibration",), 6.0, "extra mm/s of vibration reached at the end of the window"),
    "pressure_leak": (("pressure", "flow"), 0.35, "fraction of the pressure or flow lost"),
    "energy_overconsumption": (("power",), 0.3, "fraction of extra power drawn while powered"),
    "sensor_stuck": (("power", "temperature", "vibration", "pressure", "flow"), 0.0, "unused"),
    "network_outage": (("power", "temperature", "vibration", "pressure", "flow"), 0.0, "unused"),
}
# Faults that change what the sensors report, not the physics.
SENSOR_FAULTS = ("sensor_stuck", "network_outage")

_TOP_KEYS = {"name", "description", "imperfections", "faults"}
_FAULT_KEYS = {"id", "kind", "machine", "sensors", "start_h", "duration_h", "magnitude", "buffered", "description"}
_BUNDLED = "scenarios"


@dataclass(frozen=True, slots=True)
class FaultWindow:
    """One fault as it happens in one run: the ground truth a grader compares a learner's alerts with."""

    fault_id: str
    kind: str
    machine: str
    sensors: tuple[str, ...]
    start_s: float
    end_s: float
    magnitude: float
    buffered: bool
    description: str

    def active(self, t_s):
        """True where `t_s` (a number or a numpy array) lies in [start_s, end_s)."""
        return (t_s >= self.start_s) & (t_s < self.end_s)


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


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario, bound to the plant it was checked against."""

    name: str
    description: str
    source: str
    rates: ImperfectionRates
    faults: tuple[FaultSpec, ...] = field(default=())

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
            for machine, sensors in spec.targets:
                windows.append(
                    FaultWindow(spec.fault_id, spec.kind, machine, sensors, start_s, end_s, spec.magnitude,
                                spec.buffered, spec.description)
                )
        return tuple(sorted(windows, key=lambda w: (w.start_s, w.fault_id, w.machine)))


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
    return Scenario(name, " ".join(description.split()), source, rates, faults)


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
    if kind not in FAULT_KINDS:
        raise ScenarioError(f"{where}.kind: unknown fault kind {kind!r} (allowed: {', '.join(FAULT_KINDS)})")
    sensor_kinds, default_magnitude, _ = FAULT_KINDS[kind]
    targets = _targets(item, where, plant, kind, sensor_kinds)
    magnitude = item.get("magnitude", default_magnitude)
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
    return FaultSpec(
        fault_id, kind, targets, _hours(item, "start_h", where, allow_zero=True),
        _hours(item, "duration_h", where, allow_zero=False), float(magnitude), buffered,
        " ".join(description.split()),
    )


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

