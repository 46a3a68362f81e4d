"""Read and check a plant file (YAML, schema `factorylab/plant/v1`) into frozen dataclasses.

The plant file is the single description of the virtual plant: its stations (and their parallel servers),
buffers, breakdowns, sensors, products and routings, release policy, shift calendar and operating regimes.
Everything downstream (the SimPy line, the sensors, the live stream, the labs) reads the `Plant` built here,
never the YAML itself.
Checks are strict: an unknown key, a missing field or a value out of range raises `PlantFileError`
naming the file, the field path and what is allowed. The bundled `plants/default.yaml` documents the
schema by example.

Calendar times ("06:00") are clock times in UTC, the time zone of `start`.

Optional keys, each with a default that keeps a plant file written without it working as before:

=====================================  ========================================================================
key                                    meaning (default)
=====================================  ========================================================================
``stations.<st>.servers``              identical machines sharing the station's one input buffer (1). With 2 or
                                       more, each is a machine of its own named ``<st>_1``, ``<st>_2``…: its own
                                       states, breakdowns and copy of the station's sensors.
``stations.<st>.breakdowns.wear_shape``  Weibull shape k of the working time to failure, >= 1 (2.0): the
                                       breakdown hazard grows as ``wear^(k-1)`` since the last repair or
                                       maintenance, which renews the machine; k = 1 is the memoryless
                                       exponential law. The mean stays ``mtbf_hours`` whatever k.
``stations.<st>.sensors.<s>.period_s`` the sensor's own sample period, 1 s to 300 s (``sensor_period_s``)
``stations.<st>.sensors.<s>.resolution``  the step its values are reported in, as a historian rounds them
                                       (0: not rounded)
``products.<p>.routing[i].ideal_s``    the step's ideal (fastest) cycle time in seconds, the standard cycle of
                                       OEE (`simulators/kpis.py`); default: the time law's minimum (constant,
                                       triangular) or else its 5th percentile, the best cycle a normal run shows
``products.<p>.routing[i].load``       how hard the product works the station, relative to nominal (1.0): it
                                       scales the running power load, heating and vibration of its sensors
``regimes.ambient``                    the hall's temperature around each sensor's ``ambient_c``:
                                       ``day_night_c`` (half the day-night swing, warmest at 15:00),
                                       ``weekend_c`` (offset on Saturdays and Sundays, heating off),
                                       ``day_to_day_sd_c`` (the weather: a day-to-day random shift, correlated
                                       from one day to the next) — all 0 by default
``regimes.product_plan``               the product mix by weekday (``mon: {bracket: 0.8, housing: 0.2}``);
                                       days not listed release the products' ``mix``
=====================================  ========================================================================
"""

import itertools
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import yaml

from simulators.distributions import Distribution, parse_distribution
from simulators.errors import PlantFileError

SCHEMA = "factorylab/plant/v1"
SENSOR_KINDS = ("power", "temperature", "vibration", "pressure", "flow")
RELEASE_POLICIES = ("open", "conwip")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_START = "2026-01-05T06:00:00Z"  # a Monday at 06:00, the usual start of the morning shift
# Station, product, sensor and location names become MQTT topic levels.
NAME_PATTERN = re.compile(r"[a-z0-9_]+")
# Mixes may be written with a few decimals (0.333...); their sum must be 1 to this tolerance.
MIX_TOLERANCE = 1e-6
DAY_S = 86400.0
SENSOR_PERIOD_RANGE_S = (1.0, 300.0)  # a sensor's own sample period: from 1 s to 5 min
DEFAULT_WEAR_SHAPE = 2.0  # Weibull shape of the time to failure: a hazard growing linearly with wear
MAX_SERVERS = 20
AMBIENT_KEYS = ("day_night_c", "weekend_c", "day_to_day_sd_c")


@dataclass(frozen=True)
class Location:
    site: str
    area: str
    line: str


@dataclass(frozen=True)
class SensorSpec:
    """A sensor as declared; `params` are the physics parameters, checked by simulators/sensors.py."""

    name: str
    kind: str
    unit: str
    low: float
    high: float
    params: Mapping[str, float]
    period_s: float | None = None  # its own sample period; None: the plant's sensor_period_s
    resolution: float = 0.0  # reported values are multiples of it (0: not rounded)


@dataclass(frozen=True)
class Breakdowns:
    """Weibull working time to failure (shape `wear_shape`, mean `mtbf_hours`, counted in up time since the
    machine was last renewed by a repair or a maintenance) and exponential time to repair."""

    mtbf_hours: float
    mttr_hours: float
    wear_shape: float = DEFAULT_WEAR_SHAPE

    @property
    def scale_hours(self) -> float:
        """The Weibull scale: the up time by which 63 % of the machines have failed."""
        return self.mtbf_hours / math.gamma(1.0 + 1.0 / self.wear_shape)


@dataclass(frozen=True)
class Station:
    name: str
    description: str
    input_buffer: int | None  # capacity of the buffer in front of the station; None = unlimited
    speed: float  # speed factor: process times are divided by it
    breakdowns: Breakdowns | None
    scrap_rate: float  # probability that a part processed here is scrapped
    sensors: tuple[SensorSpec, ...]
    servers: int = 1  # identical machines sharing the input buffer

    @property
    def machines(self) -> tuple[str, ...]:
        """The names of its machines: the station's own name for one server, else <name>_1, <name>_2…"""
        return (self.name,) if self.servers == 1 else tuple(f"{self.name}_{k}" for k in range(1, self.servers + 1))


@dataclass(frozen=True)
class RouteStep:
    station: str
    time: Distribution
    ideal_s: float | None = None  # the ideal (fastest) cycle; None: derived from `time` (see `ideal_cycle_s`)
    load: float = 1.0  # how hard the product works the station (scales its sensors' running signals)

    @property
    def ideal_cycle_s(self) -> float:
        """The step's ideal cycle time at nominal speed: `ideal_s` if declared, else the time law's fastest
        (its minimum, or its 5th percentile where it has none)."""
        return self.ideal_s if self.ideal_s is not None else self.time.fastest_s


@dataclass(frozen=True)
class Product:
    name: str
    mix: float  # share of released parts
    routing: tuple[RouteStep, ...]


@dataclass(frozen=True)
class Release:
    """How parts enter the line: `open` (random arrivals) or `conwip` (a new part when one leaves)."""

    policy: str
    wip_cap: int | None  # conwip only
    interarrival: Distribution | None  # open only


@dataclass(frozen=True)
class Shift:
    name: str
    start_min: int  # minutes after midnight
    end_min: int  # minutes after midnight; <= start_min for a shift that ends the next day


@dataclass(frozen=True)
class Break:
    start_min: int
    minutes: int


@dataclass(frozen=True)
class Calendar:
    """When the line works: shifts on working days, minus breaks; `origin` is the wall clock of t=0.

    A shift belongs to the day it starts on, so a night shift starting Friday 22:00 runs into Saturday.
    """

    shifts: tuple[Shift, ...]
    breaks: tuple[Break, ...]
    working_days: tuple[str, ...]
    origin: datetime

    def planned_stops(self, horizon_s: float) -> list[tuple[float, float, str]]:
        """The planned stops overlapping [0, horizon_s], as (start_s, end_s, reason) clipped to that
        window, in time order; reason is "off_shift" or "break"."""
        stops = []
        for start_s, end_s, reason in self.iter_stops():
            if start_s >= horizon_s:
                break
            stops.append((start_s, min(end_s, horizon_s), reason))
        return stops

    def iter_stops(self) -> Iterator[tuple[float, float, str]]:
        """Every planned stop from t=0 on, endlessly (the line walks it as the simulation runs).

        Each day is cut at the shift and break boundaries of that day and the day before (for shifts
        crossing midnight); each piece is labelled by what covers its midpoint, and runs of equal
        labels are merged, so back-to-back shifts make no stop between them.
        """
        midnight = self.origin.replace(hour=0, minute=0, second=0, microsecond=0)
        offset_s = (self.origin - midnight).total_seconds()  # t=0 in seconds after day 0's midnight
        first_weekday = midnight.weekday()
        if not self.has_stops():
            return
        run_start, run_label = 0.0, None
        day = 0
        while True:
            for a, _, label in self._day_pieces(day, first_weekday):
                if label == run_label:
                    continue
                if run_label is not None and run_label != "working" and a > offset_s:
                    yield max(run_start, offset_s) - offset_s, a - offset_s, run_label
                run_start, run_label = a, label
            day += 1

    def has_stops(self) -> bool:
        """False when the shifts cover every hour of every day with no breaks (the line never stops)."""
        if self.breaks or len(self.working_days) < 7:
            return True
        covered = sorted((s.start_min, s.end_min if s.end_min > s.start_min else s.end_min + 1440) for s in self.shifts)
        # One day's cover must reach from its first minute to its first minute plus 24 h.
        reach = covered[0][0]
        for start, end in covered:
            if start > reach:
                return True
            reach = max(reach, end)
        return reach < covered[0][0] + 1440

    def _day_pieces(self, day: int, first_weekday: int) -> list[tuple[float, float, str]]:
        """Day `day` (0 = the day of t=0) cut into labelled pieces, in seconds after day 0's midnight."""
        shifts, breaks = [], []
        for d in (day - 1, day):
            base = d * DAY_S
            if WEEKDAYS[(first_weekday + d) % 7] in self.working_days:
                for s in self.shifts:
                    end_min = s.end_min if s.end_min > s.start_min else s.end_min + 1440
                    shifts.append((base + s.start_min * 60.0, base + end_min * 60.0))
            for b in self.breaks:
                breaks.append((base + b.start_min * 60.0, base + (b.start_min + b.minutes) * 60.0))
        day_start, day_end = day * DAY_S, (day + 1) * DAY_S
        cuts = {day_start, day_end}
        for a, b in shifts + breaks:
            cuts.update(x for x in (a, b) if day_start < x < day_end)
        edges = sorted(cuts)
        pieces = []
        for a, b in itertools.pairwise(edges):
            mid = (a + b) / 2.0
            if not any(s <= mid < e for s, e in shifts):
                label = "off_shift"
            elif any(s <= mid < e for s, e in breaks):
                label = "break"
            else:
                label = "working"
            pieces.append((a, b, label))
        return pieces


@dataclass(frozen=True)
class Ambient:
    """The hall's temperature around each sensor's ambient_c (°C): day and night, weekends, the weather."""

    day_night_c: float = 0.0
    weekend_c: float = 0.0
    day_to_day_sd_c: float = 0.0


@dataclass(frozen=True)
class Regimes:
    """Operating regimes that move the sensors' levels from one day to the next."""

    ambient: Ambient = field(default_factory=Ambient)
    # weekday -> product -> share of the parts released that day (days not listed: the products' mix)
    product_plan: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Plant:
    name: str
    location: Location
    stations: dict[str, Station]  # in line order
    products: dict[str, Product]
    release: Release
    calendar: Calendar | None  # None: the line works 24/7
    sensor_period_s: float
    start: datetime  # wall-clock time (UTC) of simulation t=0
    source: str  # the file it was read from, or "<dict>"
    regimes: Regimes = field(default_factory=Regimes)

    def machine_station(self) -> dict[str, str]:
        """Every machine of the line, in line order, with the station it belongs to."""
        return {machine: station.name for station in self.stations.values() for machine in station.machines}


def default_plant_path() -> Path:
    """The bundled demo plant, a two-product machining line."""
    return bundled_plants_dir() / "default.yaml"


def bundled_plants_dir() -> Path:
    """Where the bundled plant files live: default (the demo line), realistic (the same line seen through a
    real plant's sensor network and regimes), mm1 (a textbook queue)."""
    return Path(__file__).resolve().parent / "plants"


def bundled_plant_name(plant: "Plant") -> str | None:
    """The bundled plant `plant` was read from ("default", "realistic"…), or None for any other source."""
    source = Path(plant.source)
    if source.suffix == ".yaml" and source.resolve().parent == bundled_plants_dir():
        return source.stem
    return None


def load_plant(path: str | Path | None = None) -> Plant:
    """Read and check a plant file; None reads the bundled default plant, and a bare name without a suffix
    ("realistic") the bundled plant of that name."""
    path = default_plant_path() if path is None else Path(path)
    bundled = bundled_plants_dir() / f"{path}.yaml"
    if not path.suffix and path.parent == Path(".") and not path.exists() and bundled.is_file():
        path = bundled
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PlantFileError(f"{path}: cannot read the plant file: {error.strerror or error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PlantFileError(f"{path}: not valid YAML: {error}") from None
    return parse_plant(data, str(path))


def parse_plant(data: dict, source: str = "<dict>") -> Plant:
    """Check a plant description already loaded from YAML (or written in Python) and build the Plant."""
    root = _keys(
        data,
        source,
        required=("schema", "name", "location", "stations", "products", "release"),
        optional=("sensor_period_s", "start", "calendar", "regimes"),
    )
    if root["schema"] != SCHEMA:
        raise PlantFileError(f"{source}: schema: must be {SCHEMA!r}, got {root['schema']!r}")
    name = _text(root["name"], f"{source}: name")
    location = _location(root["location"], f"{source}: location")
    stations = _stations(root["stations"], f"{source}: stations")
    products = _products(root["products"], f"{source}: products", stations)
    release = _release(root["release"], f"{source}: release")
    period = _number(root.get("sensor_period_s", 1.0), f"{source}: sensor_period_s", low=0.0, low_open=True)
    start = _start(root.get("start", DEFAULT_START), f"{source}: start")
    calendar = None
    if root.get("calendar") is not None:
        calendar = _calendar(root["calendar"], f"{source}: calendar", start)
    regimes = _regimes(root.get("regimes") or {}, f"{source}: regimes", products)
    plant = Plant(name, location, stations, products, release, calendar, period, start, source, regimes)
    # The sensors' physics parameters are the sensor model's business; it checks them against its own table.
    from simulators.sensors import check_plant_sensors

    check_plant_sensors(plant)
    return plant


# --- sections ---------------------------------------------------------------------------------------


def _location(data: object, where: str) -> Location:
    fields = _keys(data, where, required=("site", "area", "line"))
    return Location(*(_identifier(fields[key], f"{where}.{key}") for key in ("site", "area", "line")))


def _stations(data: object, where: str) -> dict[str, Station]:
    if not isinstance(data, Mapping) or not data:
        raise PlantFileError(f"{where}: must be a non-empty mapping of station name to station, got {data!r}")
    stations = {}
    for name, body in data.items():
        here = f"{where}.{name}"
        _identifier(name, f"{where}: station name {name!r}")
        fields = _keys(
            body,
            here,
            required=(),
            optional=("description", "input_buffer", "speed", "breakdowns", "scrap_rate", "sensors", "servers"),
        )
        buffer = fields.get("input_buffer")
        if buffer is not None:
            buffer = _integer(buffer, f"{here}.input_buffer", low=1, what="an integer >= 1 or null (unlimited)")
        breakdowns = None
        if fields.get("breakdowns") is not None:
            spec = _keys(fields["breakdowns"], f"{here}.breakdowns", required=("mtbf_hours", "mttr_hours"),
                         optional=("wear_shape",))
            breakdowns = Breakdowns(
                *(
                    _number(spec[key], f"{here}.breakdowns.{key}", low=0.0, low_open=True)
                    for key in ("mtbf_hours", "mttr_hours")
                ),
                _number(spec.get("wear_shape", DEFAULT_WEAR_SHAPE), f"{here}.breakdowns.wear_shape", low=1.0,
                        high=10.0, high_open=False),
            )
        servers = _integer(fields.get("servers", 1), f"{here}.servers", low=1, what=f"an integer in [1, {MAX_SERVERS}]")
        if servers > MAX_SERVERS:
            raise PlantFileError(f"{here}.servers: must be an integer in [1, {MAX_SERVERS}], got {servers}")
        stations[name] = Station(
            name=name,
            description=_text(fields.get("description", ""), f"{here}.description", empty_ok=True),
            input_buffer=buffer,
            speed=_number(fields.get("speed", 1.0), f"{here}.speed", low=0.0, low_open=True),
            breakdowns=breakdowns,
            scrap_rate=_number(fields.get("scrap_rate", 0.0), f"{here}.scrap_rate", low=0.0, high=1.0),
            sensors=_sensors(fields.get("sensors") or {}, f"{here}.sensors"),
            servers=servers,
        )
    machines = [machine for station in stations.values() for machine in station.machines]
    for machine in machines:
        if machines.count(machine) > 1:
            raise PlantFileError(f"{where}: two machines are named {machine!r} (a station with servers: n names its "
                                 "machines <station>_1 … <station>_n); rename a station")
    return stations


def _sensors(data: object, where: str) -> tuple[SensorSpec, ...]:
    if not isinstance(data, Mapping):
        raise PlantFileError(f"{where}: must be a mapping of sensor name to sensor, got {data!r}")
    sensors = []
    for name, body in data.items():
        here = f"{where}.{name}"
        _identifier(name, f"{where}: sensor name {name!r}")
        fields = _keys(body, here, required=("kind", "unit", "range"), optional=("params", "period_s", "resolution"))
        if fields["kind"] not in SENSOR_KINDS:
            raise PlantFileError(f"{here}.kind: must be one of {', '.join(SENSOR_KINDS)}, got {fields['kind']!r}")
        span = fields["range"]
        if not isinstance(span, list | tuple) or len(span) != 2:
            raise PlantFileError(f"{here}.range: must be [low, high], got {span!r}")
        low = _number(span[0], f"{here}.range[0]")
        high = _number(span[1], f"{here}.range[1]")
        if not low < high:
            raise PlantFileError(f"{here}.range: low must be below high, got [{low:g}, {high:g}]")
        params = fields.get("params") or {}
        if not isinstance(params, Mapping):
            raise PlantFileError(f"{here}.params: must be a mapping of name to number, got {params!r}")
        values = {str(key): _number(value, f"{here}.params.{key}") for key, value in params.items()}
        period = fields.get("period_s")
        if period is not None:
            period = _number(period, f"{here}.period_s", low=SENSOR_PERIOD_RANGE_S[0],
                             high=SENSOR_PERIOD_RANGE_S[1], high_open=False)
        resolution = _number(fields.get("resolution", 0.0), f"{here}.resolution", low=0.0)
        if resolution >= high - low:
            raise PlantFileError(f"{here}.resolution: must be below the range's span ({high - low:g}), got "
                                 f"{resolution:g}")
        sensors.append(
            SensorSpec(name, fields["kind"], _text(fields["unit"], f"{here}.unit"), low, high, MappingProxyType(values),
                       period, resolution)
        )
    return tuple(sensors)


def _products(data: object, where: str, stations: dict[str, Station]) -> dict[str, Product]:
    if not isinstance(data, Mapping) or not data:
        raise PlantFileError(f"{where}: must be a non-empty mapping of product name to product, got {data!r}")
    order = {name: index for index, name in enumerate(stations)}
    products = {}
    for name, body in data.items():
        here = f"{where}.{name}"
        _identifier(name, f"{where}: product name {name!r}")
        fields = _keys(body, here, required=("mix", "routing"))
        mix = _number(fields["mix"], f"{here}.mix", low=0.0, low_open=True, high=1.0, high_open=False)
        routing = fields["routing"]
        if not isinstance(routing, list) or not routing:
            raise PlantFileError(f"{here}.routing: must be a non-empty list of {{station, time}} steps")
        steps = []
        for index, step in enumerate(routing):
            at = f"{here}.routing[{index}]"
            step_fields = _keys(step, at, required=("station", "time"), optional=("ideal_s", "load"))
            station = step_fields["station"]
            if station not in stations:
                raise PlantFileError(f"{at}.station: no station {station!r}; the stations are {', '.join(stations)}")
            if steps and order[station] <= order[steps[-1].station]:
                raise PlantFileError(
                    f"{at}.station: {station!r} comes after {steps[-1].station!r}, but a routing must follow "
                    f"the line order ({', '.join(stations)}) and visit each station at most once"
                )
            ideal = step_fields.get("ideal_s")
            if ideal is not None:
                ideal = _number(ideal, f"{at}.ideal_s", low=0.0, low_open=True)
            load = _number(step_fields.get("load", 1.0), f"{at}.load", low=0.0, low_open=True)
            steps.append(RouteStep(station, parse_distribution(step_fields["time"], f"{at}.time"), ideal, load))
        products[name] = Product(name, mix, tuple(steps))
    total = sum(product.mix for product in products.values())
    if abs(total - 1.0) > MIX_TOLERANCE:
        shares = ", ".join(f"{p.name}={p.mix:g}" for p in products.values())
        raise PlantFileError(f"{where}: the mix shares must sum to 1, got {total:g} ({shares})")
    return products


def _release(data: object, where: str) -> Release:
    policy = data.get("policy") if isinstance(data, Mapping) else None
    if policy == "conwip":
        fields = _keys(data, where, required=("policy", "wip_cap"))
        return Release("conwip", _integer(fields["wip_cap"], f"{where}.wip_cap", low=1, what="an integer >= 1"), None)
    if policy == "open":
        fields = _keys(data, where, required=("policy", "interarrival"))
        return Release("open", None, parse_distribution(fields["interarrival"], f"{where}.interarrival"))
    raise PlantFileError(
        f"{where}.policy: must be one of {', '.join(RELEASE_POLICIES)} "
        f"(e.g. {{policy: conwip, wip_cap: 12}}), got {policy!r}"
    )


def _regimes(data: object, where: str, products: dict[str, Product]) -> Regimes:
    fields = _keys(data, where, required=(), optional=("ambient", "product_plan"))
    ambient_data = _keys(fields.get("ambient") or {}, f"{where}.ambient", required=(), optional=AMBIENT_KEYS)
    ambient = Ambient(**{
        key: _number(ambient_data.get(key, 0.0), f"{where}.ambient.{key}", low=0.0 if key.endswith("_sd_c") else -50.0,
                     high=50.0, high_open=False)
        for key in AMBIENT_KEYS
    })
    plan_data = fields.get("product_plan") or {}
    if not isinstance(plan_data, Mapping):
        raise PlantFileError(f"{where}.product_plan: must be a mapping of weekday to {{product: share}}, got "
                             f"{plan_data!r}")
    plan = {}
    for day, shares in plan_data.items():
        here = f"{where}.product_plan.{day}"
        if day not in WEEKDAYS:
            raise PlantFileError(f"{where}.product_plan: {day!r} is not a weekday ({', '.join(WEEKDAYS)})")
        if not isinstance(shares, Mapping) or not shares:
            raise PlantFileError(f"{here}: must be a mapping of product to share, got {shares!r}")
        for product in shares:
            if product not in products:
                raise PlantFileError(f"{here}: no product {product!r}; the products are {', '.join(products)}")
        values = {product: _number(shares.get(product, 0.0), f"{here}.{product}", low=0.0, high=1.0, high_open=False)
                  for product in products}
        if abs(sum(values.values()) - 1.0) > MIX_TOLERANCE:
            raise PlantFileError(f"{here}: the shares must sum to 1, got {sum(values.values()):g}")
        plan[day] = MappingProxyType(values)
    return Regimes(ambient, MappingProxyType(plan))


def _start(value: object, where: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise PlantFileError(f"{where}: must be an ISO 8601 time like {DEFAULT_START!r}, got {value!r}") from None
    if not isinstance(value, datetime):
        raise PlantFileError(f"{where}: must be an ISO 8601 time like {DEFAULT_START!r}, got {value!r}")
    if value.tzinfo is None:
        raise PlantFileError(f"{where}: must give its time zone (e.g. a trailing Z for UTC), got {value}")
    return value.astimezone(UTC)


def _calendar(data: object, where: str, origin: datetime) -> Calendar:
    fields = _keys(data, where, required=("shifts",), optional=("breaks", "working_days"))
    shifts_data = fields["shifts"]
    if not isinstance(shifts_data, list) or not shifts_data:
        raise PlantFileError(f"{where}.shifts: must be a non-empty list of {{name, start, end}}")
    shifts = []
    for index, body in enumerate(shifts_data):
        at = f"{where}.shifts[{index}]"
        shift = _keys(body, at, required=("name", "start", "end"))
        start_min = _clock(shift["start"], f"{at}.start")
        end_min = _clock(shift["end"], f"{at}.end", allow_24=True)
        if end_min == start_min:
            raise PlantFileError(f"{at}: start and end must differ, got {shift['start']} to {shift['end']}")
        shifts.append(Shift(_text(shift["name"], f"{at}.name"), start_min, end_min % 1440))
    breaks = []
    for index, body in enumerate(fields.get("breaks") or []):
        at = f"{where}.breaks[{index}]"
        item = _keys(body, at, required=("start", "minutes"))
        start_min = _clock(item["start"], f"{at}.start")
        minutes = _integer(item["minutes"], f"{at}.minutes", low=1, what="a whole number of minutes >= 1")
        if not any(_inside_shift(start_min, minutes, shift) for shift in shifts):
            raise PlantFileError(f"{at}: a break must lie inside a shift, got {item['start']} for {minutes} min")
        breaks.append(Break(start_min, minutes))
    days = fields.get("working_days", list(WEEKDAYS[:5]))
    if not isinstance(days, list) or not days or any(day not in WEEKDAYS for day in days):
        raise PlantFileError(f"{where}.working_days: must be a non-empty list of {', '.join(WEEKDAYS)}, got {days!r}")
    return Calendar(tuple(shifts), tuple(breaks), tuple(days), origin)


def _inside_shift(start_min: int, minutes: int, shift: Shift) -> bool:
    end_min = shift.end_min if shift.end_min > shift.start_min else shift.end_min + 1440
    # A break after midnight may belong to a night shift that started the day before.
    return any(shift.start_min <= start and start + minutes <= end_min for start in (start_min, start_min + 1440))


# --- field checks -----------------------------------------------------------------------------------


def _keys(data: object, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Mapping:
    """Check that `data` is a mapping with all `required` keys and nothing outside required + optional."""
    if not isinstance(data, Mapping):
        raise PlantFileError(f"{where}: must be a mapping with keys {', '.join(required + optional)}, got {data!r}")
    allowed = required + optional
    for key in data:
        if key not in allowed:
            raise PlantFileError(f"{where}: unknown key {key!r}; allowed: {', '.join(allowed)}")
    for key in required:
        if key not in data:
            raise PlantFileError(f"{where}: missing key {key!r}")
    return data


def _number(
    value: object,
    where: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = True,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PlantFileError(f"{where}: must be a number, got {value!r}")
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        if high == math.inf:
            allowed = f"{'>' if low_open else '>='} {low:g}"
        else:
            allowed = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise PlantFileError(f"{where}: must be {allowed}, got {value!r}")
    return float(value)


def _integer(value: object, where: str, *, low: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise PlantFileError(f"{where}: must be {what}, got {value!r}")
    return value


def _text(value: object, where: str, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str) or not (value.strip() or empty_ok):
        raise PlantFileError(f"{where}: must be a {'' if empty_ok else 'non-empty '}string, got {value!r}")
    return value


def _identifier(value: object, where: str) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise PlantFileError(f"{where}: must be lower-case letters, digits and _ (an MQTT topic level), got {value!r}")
    return value


def _clock(value: object, where: str, *, allow_24: bool = False) -> int:
    """A "HH:MM" clock time in minutes after midnight ("24:00" only where a shift ends)."""
    # YAML 1.1 reads an unquoted 06:00 as the sexagesimal integer 360; accept it as the same minutes.
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value // 60:02d}:{value % 60:02d}"
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value) if isinstance(value, str) else None
    if match:
        hours, minutes = int(match[1]), int(match[2])
        if minutes < 60 and (hours < 24 or (allow_24 and hours == 24 and minutes == 0)):
            return hours * 60 + minutes
    raise PlantFileError(f'{where}: must be a clock time "HH:MM" (00:00 to 23:59), got {value!r}')
