"""Plant files: the bundled plants load, the calendar gives the planned stops, and every bad input is refused
with a message naming the file, the field and what is allowed."""

import copy
from datetime import UTC, datetime

import pytest
import yaml

from simulators.errors import PlantFileError
from simulators.plantfile import SENSOR_KINDS, default_plant_path, load_plant, parse_plant

HOUR = 3600.0
DAY = 86400.0


def test_default_plant_is_a_two_product_machining_line_with_shifts_and_conwip():
    plant = load_plant()
    assert plant.source == str(default_plant_path())
    assert 4 <= len(plant.stations) <= 5
    assert len(plant.products) >= 2
    routings = {tuple(step.station for step in p.routing) for p in plant.products.values()}
    assert len(routings) == len(plant.products)  # each product its own routing
    assert sum(s.breakdowns is not None for s in plant.stations.values()) > len(plant.stations) / 2
    for station in plant.stations.values():
        kinds = {sensor.kind for sensor in station.sensors}
        assert {"power", "temperature", "vibration"} <= kinds and kinds & {"pressure", "flow"}, station.name
    assert {s.kind for st in plant.stations.values() for s in st.sensors} == set(SENSOR_KINDS)
    assert plant.release.policy == "conwip" and plant.release.wip_cap >= 1
    assert [shift.name for shift in plant.calendar.shifts] == ["morning", "afternoon"]
    assert plant.start == datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def test_new_options_default_to_what_a_plant_file_without_them_always_meant():
    plant = parse_plant(_base(), "base.yaml")
    saw = plant.stations["saw"]
    assert saw.servers == 1 and saw.machines == ("saw",) and saw.breakdowns.wear_shape == 2.0
    assert saw.sensors[0].period_s is None and saw.sensors[0].resolution == 0.0
    step = plant.products["b"].routing[0]
    assert (step.ideal_s, step.load, step.ideal_cycle_s) == (None, 1.0, 10.0)
    assert plant.regimes.ambient.day_night_c == 0.0 and not plant.regimes.product_plan
    assert plant.machine_station() == {"saw": "saw", "cnc": "cnc"}


def test_the_realistic_plant_is_the_default_line_seen_through_a_real_sensor_network():
    default, realistic = load_plant(), load_plant("realistic")
    assert realistic.source == str(default_plant_path().parent / "realistic.yaml")
    assert list(realistic.stations) == list(default.stations)
    for name, station in realistic.stations.items():
        other = default.stations[name]
        assert (station.breakdowns, station.scrap_rate, station.input_buffer) == (
            other.breakdowns, other.scrap_rate, other.input_buffer)
    assert realistic.calendar == default.calendar and realistic.release == default.release
    assert realistic.regimes.product_plan and realistic.regimes.ambient.weekend_c < 0


def test_a_station_with_servers_names_its_machines():
    data = _base()
    data["stations"]["cnc"]["servers"] = 3
    plant = parse_plant(data, "s.yaml")
    assert plant.stations["cnc"].machines == ("cnc_1", "cnc_2", "cnc_3")
    assert list(plant.machine_station()) == ["saw", "cnc_1", "cnc_2", "cnc_3"]


def test_mm1_plant_is_one_exponential_station_with_open_arrivals_and_no_calendar():
    plant = load_plant(default_plant_path().parent / "mm1.yaml")
    assert list(plant.stations) == ["server"]
    assert plant.stations["server"].input_buffer is None
    assert plant.release.policy == "open" and plant.release.interarrival.kind == "exponential"
    assert plant.calendar is None


def test_default_calendar_stops_for_breaks_nights_and_the_weekend():
    stops = load_plant().calendar.planned_stops(7 * DAY)
    monday = [(4 * HOUR, 4.25 * HOUR, "break"), (12 * HOUR, 12.25 * HOUR, "break"), (16 * HOUR, DAY, "off_shift")]
    assert stops[:3] == monday
    # Friday 22:00 (t = 4 days + 16 h) to Monday 06:00 (t = 7 days), cut at the horizon.
    assert stops[-1] == (4 * DAY + 16 * HOUR, 7 * DAY, "off_shift")
    assert len(stops) == 5 * 3


def _calendar_plant(calendar: dict, start: str = "2026-01-05T06:00:00Z"):
    data = _base()
    data["calendar"] = calendar
    data["start"] = start
    return parse_plant(data, "cal.yaml")


def test_night_shift_runs_past_midnight_and_belongs_to_its_start_day():
    plant = _calendar_plant(
        {"shifts": [{"name": "night", "start": "22:00", "end": "06:00"}], "working_days": ["mon"]},
        start="2026-01-05T00:00:00Z",  # Monday 00:00
    )
    # Sunday's night shift is off (not a working day); Monday's runs 22:00 -> Tuesday 06:00.
    assert plant.calendar.planned_stops(3 * DAY) == [(0.0, 22 * HOUR, "off_shift"), (30 * HOUR, 3 * DAY, "off_shift")]


def test_a_break_at_the_end_of_a_shift_is_a_break_then_off_shift():
    plant = _calendar_plant(
        {"shifts": [{"name": "day", "start": "06:00", "end": "14:00"}], "breaks": [{"start": "13:30", "minutes": 30}]}
    )
    assert plant.calendar.planned_stops(DAY)[:2] == [(7.5 * HOUR, 8 * HOUR, "break"), (8 * HOUR, DAY, "off_shift")]


def test_start_inside_a_stop_begins_with_that_stop_and_round_the_clock_calendar_never_stops():
    plant = _calendar_plant({"shifts": [{"name": "day", "start": "06:00", "end": "14:00"}]}, "2026-01-05T03:00:00Z")
    assert plant.calendar.planned_stops(DAY)[0] == (0.0, 3 * HOUR, "off_shift")
    always = _calendar_plant(
        {"shifts": [{"name": "all", "start": "00:00", "end": "24:00"}], "working_days": list(_DAYS)}
    )
    assert always.calendar.planned_stops(30 * DAY) == []


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _base() -> dict:
    """A small valid plant: two stations, two products, CONWIP."""
    return {
        "schema": "factorylab/plant/v1",
        "name": "test line",
        "location": {"site": "lab", "area": "a", "line": "l1"},
        "stations": {
            "saw": {
                "input_buffer": 5,
                "breakdowns": {"mtbf_hours": 8, "mttr_hours": 0.5},
                "scrap_rate": 0.01,
                "sensors": {
                    "power": {"kind": "power", "unit": "kW", "range": [0, 10], "params": {"idle_kw": 1, "load_kw": 5}}
                },
            },
            "cnc": {"input_buffer": None},
        },
        "products": {
            "a": {"mix": 0.5, "routing": [{"station": "saw", "time": {"dist": "exponential", "mean_s": 10}}]},
            "b": {
                "mix": 0.5,
                "routing": [
                    {"station": "saw", "time": {"dist": "constant", "value_s": 10}},
                    {"station": "cnc", "time": {"dist": "normal", "mean_s": 20, "sd_s": 2}},
                ],
            },
        },
        "release": {"policy": "conwip", "wip_cap": 4},
    }


def test_base_plant_is_valid():
    plant = parse_plant(_base(), "base.yaml")
    assert plant.source == "base.yaml" and plant.calendar is None and plant.sensor_period_s == 1.0
    assert plant.stations["saw"].sensors[0].params == {"idle_kw": 1.0, "load_kw": 5.0}


def _set(path: str, value):
    """A change to the base plant: set the value at a dotted path (DELETE removes the key)."""

    def change(data):
        *parents, last = path.split(".")
        target = data
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is DELETE:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


DELETE = object()
WORKDAY = {"shifts": [{"name": "day", "start": "06:00", "end": "14:00"}]}

BAD = [
    (_set("colour", "red"), "f.yaml: unknown key 'colour'; allowed: schema, name"),
    (_set("schema", "factorylab/plant/v0"), "f.yaml: schema: must be 'factorylab/plant/v1'"),
    (_set("name", DELETE), "f.yaml: missing key 'name'"),
    (_set("location.site", "Lyon Site"), "f.yaml: location.site: must be lower-case letters"),
    (_set("stations", {}), "f.yaml: stations: must be a non-empty mapping"),
    (_set("stations.saw.colour", 1), "f.yaml: stations.saw: unknown key 'colour'; allowed: description, input_buffer"),
    (_set("stations.saw.input_buffer", 0), "f.yaml: stations.saw.input_buffer: must be an integer >= 1 or null"),
    (_set("stations.saw.input_buffer", 2.5), "stations.saw.input_buffer: must be an integer >= 1"),
    (_set("stations.saw.speed", 0), "f.yaml: stations.saw.speed: must be > 0, got 0"),
    (
        _set("stations.saw.breakdowns", {"mtbf_hours": -8, "mttr_hours": 1}),
        "stations.saw.breakdowns.mtbf_hours: must be > 0",
    ),
    (
        _set("stations.saw.breakdowns", {"mtbf_hours": 8, "mttr_hours": 0}),
        "stations.saw.breakdowns.mttr_hours: must be > 0",
    ),
    (_set("stations.saw.breakdowns", {"mtbf_hours": 8}), "stations.saw.breakdowns: missing key 'mttr_hours'"),
    (_set("stations.saw.scrap_rate", 1.0), "f.yaml: stations.saw.scrap_rate: must be in [0, 1), got 1.0"),
    (_set("stations.saw.scrap_rate", -0.1), "stations.saw.scrap_rate: must be in [0, 1)"),
    (_set("stations.saw.scrap_rate", "low"), "stations.saw.scrap_rate: must be a number, got 'low'"),
    (
        _set("stations.saw.sensors.power.kind", "noise"),
        "stations.saw.sensors.power.kind: must be one of power, temperature",
    ),
    (_set("stations.saw.sensors.power.range", [10, 0]), "stations.saw.sensors.power.range: low must be below high"),
    (_set("stations.saw.sensors.power.range", [0]), "stations.saw.sensors.power.range: must be [low, high]"),
    (_set("stations.saw.sensors.power.unit", DELETE), "stations.saw.sensors.power: missing key 'unit'"),
    (
        _set("stations.saw.sensors.power.params.idle_kw", "x"),
        "stations.saw.sensors.power.params.idle_kw: must be a number",
    ),
    (_set("stations.Big Saw", {}), "f.yaml: stations: station name 'Big Saw': must be lower-case letters"),
    (_set("products", {}), "f.yaml: products: must be a non-empty mapping"),
    (_set("products.a.mix", 0.7), "f.yaml: products: the mix shares must sum to 1, got 1.2 (a=0.7, b=0.5)"),
    (_set("products.a.mix", 0), "f.yaml: products.a.mix: must be in (0, 1], got 0"),
    (_set("products.a.routing", []), "f.yaml: products.a.routing: must be a non-empty list"),
    (
        _set("products.b.routing.1.station", "mill"),
        "products.b.routing[1].station: no station 'mill'; the stations are saw, cnc",
    ),
    (
        _set(
            "products.b.routing",
            [
                {"station": "cnc", "time": {"dist": "constant", "value_s": 1}},
                {"station": "saw", "time": {"dist": "constant", "value_s": 1}},
            ],
        ),
        "products.b.routing[1].station: 'saw' comes after 'cnc', but a routing must follow the line order",
    ),
    (
        _set("products.a.routing.0.time", {"dist": "exponential", "mean_s": 0}),
        "products.a.routing[0].time.mean_s: must be > 0",
    ),
    (
        _set("products.a.routing.0.time", {"dist": "exponential", "mean_s": -3}),
        "products.a.routing[0].time.mean_s: must be > 0",
    ),
    (_set("products.a.routing.0.tool", "t1"), "products.a.routing[0]: unknown key 'tool'; allowed: station, time"),
    (_set("release", {"policy": "push"}), "f.yaml: release.policy: must be one of open, conwip"),
    (_set("release.wip_cap", 0), "f.yaml: release.wip_cap: must be an integer >= 1, got 0"),
    (
        _set("release.interarrival", {"dist": "exponential", "mean_s": 5}),
        "release: unknown key 'interarrival'; allowed: policy, wip_cap",
    ),
    (
        _set("release", {"policy": "open", "interarrival": {"dist": "exponential", "mean_s": 0}}),
        "release.interarrival.mean_s: must be > 0",
    ),
    (_set("sensor_period_s", 0), "f.yaml: sensor_period_s: must be > 0, got 0"),
    (_set("start", "2026-01-05T06:00:00"), "f.yaml: start: must give its time zone"),
    (_set("start", "monday"), "f.yaml: start: must be an ISO 8601 time"),
    (
        _set("calendar", {"shifts": [{"name": "d", "start": "6h", "end": "14:00"}]}),
        "calendar.shifts[0].start: must be a clock time",
    ),
    (
        _set("calendar", {"shifts": [{"name": "d", "start": "06:00", "end": "06:00"}]}),
        "calendar.shifts[0]: start and end must differ",
    ),
    (_set("calendar", {"shifts": []}), "f.yaml: calendar.shifts: must be a non-empty list"),
    (
        _set("calendar", {**WORKDAY, "breaks": [{"start": "15:00", "minutes": 15}]}),
        "calendar.breaks[0]: a break must lie inside a shift",
    ),
    (
        _set("calendar", {**WORKDAY, "breaks": [{"start": "10:00", "minutes": 0}]}),
        "calendar.breaks[0].minutes: must be a whole number",
    ),
    (
        _set("calendar", {**WORKDAY, "working_days": ["monday"]}),
        "calendar.working_days: must be a non-empty list of mon, tue",
    ),
    (
        _set("calendar", {**WORKDAY, "holidays": []}),
        "f.yaml: calendar: unknown key 'holidays'; allowed: shifts, breaks, working_days",
    ),
    (_set("stations.saw.servers", 0), "f.yaml: stations.saw.servers: must be an integer in [1, 20], got 0"),
    (_set("stations.saw.servers", 21), "f.yaml: stations.saw.servers: must be an integer in [1, 20], got 21"),
    (lambda data: (_set("stations.cnc.servers", 2)(data), _set("stations.cnc_1", {})(data)),
     "stations: two machines are named 'cnc_1'"),
    (
        _set("stations.saw.breakdowns", {"mtbf_hours": 8, "mttr_hours": 1, "wear_shape": 0.5}),
        "stations.saw.breakdowns.wear_shape: must be in [1, 10], got 0.5",
    ),
    (_set("stations.saw.sensors.power.period_s", 0.5), "sensors.power.period_s: must be in [1, 300], got 0.5"),
    (_set("stations.saw.sensors.power.period_s", 600), "sensors.power.period_s: must be in [1, 300], got 600"),
    (_set("stations.saw.sensors.power.resolution", -1), "sensors.power.resolution: must be >= 0, got -1"),
    (_set("stations.saw.sensors.power.resolution", 10), "sensors.power.resolution: must be below the range's span"),
    (_set("products.a.routing.0.ideal_s", 0), "products.a.routing[0].ideal_s: must be > 0, got 0"),
    (_set("products.a.routing.0.load", -1), "products.a.routing[0].load: must be > 0, got -1"),
    (_set("regimes", {"weather": {}}), "f.yaml: regimes: unknown key 'weather'; allowed: ambient, product_plan"),
    (_set("regimes", {"ambient": {"day_night_c": "warm"}}), "regimes.ambient.day_night_c: must be a number"),
    (_set("regimes", {"ambient": {"day_to_day_sd_c": -1}}), "regimes.ambient.day_to_day_sd_c: must be in [0, 50]"),
    (_set("regimes", {"product_plan": {"monday": {"a": 1}}}), "regimes.product_plan: 'monday' is not a weekday"),
    (_set("regimes", {"product_plan": {"mon": {"z": 1}}}), "regimes.product_plan.mon: no product 'z'"),
    (_set("regimes", {"product_plan": {"mon": {"a": 0.5}}}), "regimes.product_plan.mon: the shares must sum to 1"),
]


@pytest.mark.parametrize(
    ("change", "message"), BAD, ids=[message.split(":")[1].strip() or m for m, (_, message) in enumerate(BAD)]
)
def test_bad_plant_is_refused_with_file_field_and_what_is_allowed(change, message):
    data = copy.deepcopy(_base())
    change(data)
    with pytest.raises(PlantFileError) as error:
        parse_plant(data, "f.yaml")
    assert message in str(error.value)


def test_sensor_parameters_are_checked_by_the_sensor_model():
    data = _base()
    del data["stations"]["saw"]["sensors"]["power"]["params"]["load_kw"]
    with pytest.raises(PlantFileError, match=r"f\.yaml: stations\.saw\.sensors\.power\.params\.load_kw: missing"):
        parse_plant(data, "f.yaml")


def test_unreadable_or_invalid_yaml_file_is_refused_naming_the_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PlantFileError, match=r"nope\.yaml: cannot read the plant file"):
        load_plant(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("stations: [unclosed\n")
    with pytest.raises(PlantFileError, match=r"broken\.yaml: not valid YAML"):
        load_plant(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(PlantFileError, match=r"list\.yaml: must be a mapping"):
        load_plant(listed)


def test_plant_file_round_trips_through_yaml(tmp_path):
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(_base(), sort_keys=False))
    plant = load_plant(path)
    assert plant.source == str(path)
    assert [step.station for step in plant.products["b"].routing] == ["saw", "cnc"]
