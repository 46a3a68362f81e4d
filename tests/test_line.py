"""The SimPy line: tiny simulations checked against their event logs, determinism, commands and the calendar."""

import gc
import json

import pytest
import simpy
import yaml

from simulators.errors import CommandError
from simulators.line import Line, simulate
from simulators.plantfile import default_plant_path, load_plant, parse_plant
from simulators.records import MesEvent, StateChange
from simulators.scenarios import load_scenario


def _plant(stations: dict, routing: list, release: dict, **extra):
    """A one-product plant; `routing` lists (station, constant process time in s)."""
    steps = [{"station": name, "time": {"dist": "constant", "value_s": t}} for name, t in routing]
    return parse_plant(
        {
            "schema": "factorylab/plant/v1",
            "name": "test",
            "location": {"site": "s", "area": "a", "line": "l"},
            "stations": stations,
            "products": {"p": {"mix": 1.0, "routing": steps}},
            "release": release,
            **extra,
        },
        "test.yaml",
    )


def _run(plant, until_s: float, seed: int = 1, commands=()):
    """Run to `until_s`, applying (t_s, method, *args) commands on the way; return the line."""
    env = simpy.Environment()
    line = Line(env, plant, seed)
    for t_s, method, *args in commands:
        env.run(until=t_s)
        getattr(line, method)(*args)
    env.run(until=until_s)
    return line


def _events(line, machine=None):
    return [(e.t_s, e.kind, e.part_id) for e in line.events if machine is None or e.machine == machine]


def _states(line, machine):
    return [(c.t_s, c.state, c.reason) for c in line.state_log if c.machine == machine]


ONE = {"m": {"input_buffer": None}}
OPEN_15 = {"policy": "open", "interarrival": {"dist": "constant", "value_s": 15}}


def test_single_station_processes_each_arrival_then_waits_starved():
    line = _run(_plant(ONE, [("m", 10)], OPEN_15), 40)
    assert _events(line) == [
        (15, "part_released", 1), (15, "part_started", 1),
        (25, "part_finished", 1), (25, "part_completed", 1),
        (30, "part_released", 2), (30, "part_started", 2),
    ]  # fmt: skip
    assert _states(line, "m") == [
        (0, "starved", None),
        (15, "running", None),
        (25, "starved", None),
        (30, "running", None),
    ]


def test_station_is_blocked_after_service_when_the_next_buffer_is_full():
    stations = {"fast": {"input_buffer": None}, "slow": {"input_buffer": 1}}
    line = _run(_plant(stations, [("fast", 1), ("slow", 10)], {"policy": "conwip", "wip_cap": 4}), 25)
    # slow takes part 1 at t=1; part 2 waits in its buffer from t=2; part 3 finishes at t=3 and has nowhere to go.
    assert _states(line, "fast")[:3] == [(0, "running", None), (3, "blocked", None), (11, "running", None)]
    assert (11, "part_started", 2) in _events(line, "slow")
    assert (11, "part_started", 4) in _events(line, "fast")  # part 3 moved in at t=11, fast took part 4


def test_every_station_gets_a_state_at_t0_and_conwip_releases_its_cap():
    stations = {"a": {"input_buffer": None}, "b": {"input_buffer": None}}
    line = Line(simpy.Environment(), _plant(stations, [("a", 5), ("b", 5)], {"policy": "conwip", "wip_cap": 3}), 1)
    assert [(c.machine, c.state) for c in line.state_log] == [("a", "running"), ("b", "starved")]
    assert _events(line) == [(0, "part_released", 1), (0, "part_released", 2), (0, "part_released", 3)]
    assert line.snapshot()["wip"] == 3


def test_same_seed_gives_identical_logs_and_another_seed_different_ones():
    plant = load_plant()
    first, again, other = (simulate(plant, hours=30, seed=s) for s in (5, 5, 6))
    assert first.events == again.events and first.state_log == again.state_log and len(first.events) > 1000
    assert first.events != other.events


def test_listener_receives_every_record_as_it_happens():
    received = []
    env = simpy.Environment()
    line = Line(env, load_plant(), 3, listener=received.append)
    env.run(until=20000)
    assert [r for r in received if isinstance(r, MesEvent)] == line.events
    assert [r for r in received if isinstance(r, StateChange)] == line.state_log
    assert [r.t_s for r in received] == sorted(r.t_s for r in received)


def test_half_speed_doubles_the_process_time_of_the_next_parts():
    line = _run(_plant(ONE, [("m", 10)], OPEN_15), 51, commands=[(20, "set_speed", "m", 0.5)])
    finished = [t for t, kind, _ in _events(line) if kind == "part_finished"]
    assert finished == [25, 50]  # part 2 starts at 30 at half speed: 20 s
    assert [(s.t_s, s.machine, s.name, s.value) for s in line.setpoints] == [
        (0, "m", "speed", 1.0),
        (20, "m", "speed", 0.5),
    ]


def test_maintenance_stop_shows_down_for_its_duration_and_processing_resumes_after():
    line = _run(_plant(ONE, [("m", 10)], OPEN_15), 60, commands=[(20, "maintenance_stop", "m", 7)])
    assert _states(line, "m")[1:5] == [
        (15, "running", None), (20, "down", "maintenance"), (27, "running", None), (42, "starved", None),
    ]  # fmt: skip
    assert [(e.t_s, e.kind, e.reason) for e in line.events if e.kind.startswith("downtime")] == [
        (20, "downtime_started", "maintenance"), (27, "downtime_ended", "maintenance"),
    ]  # fmt: skip
    assert (32, "part_finished", 1) in _events(line)  # 5 s done before the stop, 5 s after


def test_breakdowns_put_stations_down_and_stop_the_time_to_failure_clock():
    stations = {"m": {"input_buffer": None, "breakdowns": {"mtbf_hours": 1, "mttr_hours": 0.1}}}
    line = _run(_plant(stations, [("m", 10)], {"policy": "conwip", "wip_cap": 1}), 200 * 3600)
    downs = [c for c in line.state_log if c.state == "down"]
    assert all(c.reason == "breakdown" for c in downs)
    assert 150 < len(downs) < 250  # about one per (MTBF + MTTR) = 1.1 h
    ends = [e.t_s for e in line.events if e.kind == "downtime_ended"]
    repairs = [end - down.t_s for down, end in zip(downs, ends, strict=False)]
    assert 0.08 * 3600 < sum(repairs) / len(repairs) < 0.12 * 3600


def test_scrapped_parts_leave_the_line_and_free_their_conwip_card():
    stations = {"m": {"input_buffer": None, "scrap_rate": 0.3}, "n": {"input_buffer": None}}
    line = _run(_plant(stations, [("m", 1), ("n", 1)], {"policy": "conwip", "wip_cap": 1}), 5000)
    scrapped = {e.part_id for e in line.events if e.kind == "part_scrapped"}
    completed = {e.part_id for e in line.events if e.kind == "part_completed"}
    assert not scrapped & completed
    assert 0.25 < len(scrapped) / (len(scrapped) + len(completed)) < 0.35
    assert not any(e.part_id in scrapped for e in line.events if e.machine == "n")


def test_calendar_puts_stations_in_planned_stop_and_pauses_processing():
    calendar = {
        "shifts": [{"name": "day", "start": "06:00", "end": "14:00"}],
        "breaks": [{"start": "06:10", "minutes": 15}],
        "working_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    }
    plant = _plant(ONE, [("m", 1000)], {"policy": "conwip", "wip_cap": 1}, calendar=calendar)
    line = _run(plant, 30 * 3600)
    assert _states(line, "m")[:4] == [
        (0, "running", None), (600, "planned_stop", "break"),
        (1500, "running", None), (8 * 3600, "planned_stop", "off_shift"),
    ]  # fmt: skip
    assert _events(line)[:4] == [(0, "part_released", 1), (0, "part_started", 1), (1900, "part_finished", 1),
                                 (1900, "part_completed", 1)]  # fmt: skip
    assert (24 * 3600, "running", None) in _states(line, "m")


def test_a_plant_starting_off_shift_starts_in_planned_stop():
    calendar = {"shifts": [{"name": "day", "start": "08:00", "end": "16:00"}]}
    plant = _plant(ONE, [("m", 10)], OPEN_15, calendar=calendar)  # starts Monday 06:00
    assert _states(_run(plant, 3 * 3600), "m")[:2] == [(0, "planned_stop", "off_shift"), (7200, "running", None)]


def test_shrinking_a_buffer_keeps_its_parts_and_growing_it_admits_blocked_ones():
    stations = {"fast": {"input_buffer": None}, "slow": {"input_buffer": 3}}
    plant = _plant(stations, [("fast", 1), ("slow", 100)], {"policy": "conwip", "wip_cap": 10})
    env = simpy.Environment()
    line = Line(env, plant, 1)
    env.run(until=50)
    assert line.snapshot()["buffers"]["slow"] == {"level": 3, "capacity": 3}
    line.set_buffer("slow", 1)
    env.run(until=150)
    assert line.snapshot()["buffers"]["slow"] == {"level": 2, "capacity": 1}  # one taken, none admitted
    line.set_buffer("slow", 5)
    assert line.snapshot()["buffers"]["slow"]["level"] == 3  # the blocked part moved in at once
    env.run(until=152.5)
    assert line.snapshot()["buffers"]["slow"]["level"] == 5


def test_conwip_cap_change_releases_at_once_or_lets_wip_drain():
    plant = _plant(ONE, [("m", 10)], {"policy": "conwip", "wip_cap": 2})
    env = simpy.Environment()
    line = Line(env, plant, 1)
    env.run(until=5)
    line.set_conwip(5)
    assert line.snapshot()["wip"] == 5
    line.set_conwip(1)
    env.run(until=46)
    assert line.snapshot()["wip"] == 1 and line.snapshot()["completed"] == 4


def test_snapshot_is_json_and_describes_the_line_now():
    env = simpy.Environment()
    line = Line(env, load_plant(), 2)
    env.run(until=3600)
    snapshot = json.loads(json.dumps(line.snapshot()))
    assert snapshot["t_s"] == 3600 and snapshot["conwip"] == 6 and snapshot["wip"] == 6
    assert set(snapshot["states"]) == set(snapshot["buffers"]) == set(snapshot["speeds"]) == set(line.plant.stations)
    assert snapshot["completed"] > 10


@pytest.mark.parametrize(
    ("method", "args", "message"),
    [
        ("set_speed", ("lathe", 1.0), "unknown station 'lathe'; the stations are m"),
        ("set_speed", ("m", 1.6), "speed: m: must be a number in [0.5, 1.5], got 1.6"),
        ("set_speed", ("m", 0.4), "must be a number in [0.5, 1.5]"),
        ("set_speed", ("m", "fast"), "must be a number in [0.5, 1.5]"),
        ("set_conwip", (0,), "conwip: must be a whole number in [1, 200], got 0"),
        ("set_conwip", (201,), "conwip: must be a whole number in [1, 200]"),
        ("set_conwip", (2.5,), "conwip: must be a whole number"),
        ("set_buffer", ("m", 0), "buffer: m: must be a whole number in [1, 1000], got 0"),
        ("set_buffer", ("x", 3), "unknown station 'x'"),
        ("maintenance_stop", ("m", 0), "maintenance: m: duration_s must be in (0, 28800]"),
        ("maintenance_stop", ("m", 9 * 3600), "duration_s must be in (0, 28800]"),
    ],
)
def test_commands_out_of_range_are_refused_with_a_reason(method, args, message):
    line = _run(_plant(ONE, [("m", 10)], {"policy": "conwip", "wip_cap": 2}), 1)
    with pytest.raises(CommandError) as error:
        getattr(line, method)(*args)
    assert message in str(error.value)
    assert len(line.setpoints) == 2  # nothing applied


def test_conwip_command_on_an_open_line_and_overlapping_maintenance_are_refused():
    line = _run(_plant(ONE, [("m", 10)], OPEN_15), 1)
    with pytest.raises(CommandError, match="open arrivals"):
        line.set_conwip(5)
    line.maintenance_stop("m", 60)
    with pytest.raises(CommandError, match="already in progress"):
        line.maintenance_stop("m", 60)


def test_a_station_with_two_servers_works_on_two_parts_at_once_from_one_queue():
    """Servers m_1 and m_2 share m's buffer: parts 1 and 2 start together, part 3 waits for the first free one."""
    line = _run(_plant({"m": {"input_buffer": None, "servers": 2}}, [("m", 10)], {"policy": "conwip", "wip_cap": 3}),
                25)
    started = [(e.t_s, e.machine, e.part_id) for e in line.events if e.kind == "part_started"]
    assert started[:4] == [(0, "m_1", 1), (0, "m_2", 2), (10, "m_1", 3), (10, "m_2", 4)]
    assert _states(line, "m_1")[0] == (0, "running", None) and _states(line, "m_2")[0] == (0, "running", None)
    snapshot = line.snapshot()
    assert set(snapshot["states"]) == {"m_1", "m_2"} and set(snapshot["buffers"]) == {"m"}


def test_a_maintenance_of_a_station_stops_all_its_servers_and_of_a_machine_one():
    plant = _plant({"m": {"input_buffer": None, "servers": 2}}, [("m", 10)], OPEN_15)
    line = _run(plant, 100, commands=[(20, "maintenance_stop", "m_2", 30), (60, "maintenance_stop", "m", 10)])
    assert (20, "down", "maintenance") in _states(line, "m_2") and (20, "down", "maintenance") not in _states(
        line, "m_1")
    assert (60, "down", "maintenance") in _states(line, "m_1") and (60, "down", "maintenance") in _states(line, "m_2")


def _faulty(tmp_path, **consequences):
    """A one-station plant with a pressure sensor and a leak at 100-200 s with the given consequences."""
    air = {"kind": "pressure", "unit": "bar", "range": [0, 10], "params": {"nominal_bar": 6}}
    stations = {"m": {"input_buffer": None, "sensors": {"air": air}}}
    plant = _plant(stations, [("m", 10)], {"policy": "conwip", "wip_cap": 1})
    fault = {"id": "leak", "kind": "pressure_leak", "machine": "m", "start_h": 100 / 3600, "duration_h": 100 / 3600,
             **consequences}
    path = tmp_path / "leak.yaml"
    path.write_text(json.dumps({"faults": [fault]}))
    return plant, load_scenario(path, plant)


def test_a_fault_slows_its_station_scraps_parts_and_stops_it_for_repair_at_its_end(tmp_path):
    plant, scenario = _faulty(tmp_path, speed_factor=0.5, scrap_rate=0.9, repair_h=50 / 3600)
    env = simpy.Environment()
    line = Line(env, plant, 1, scenario=scenario)
    line.run_until(400)
    normal = simulate(plant, hours=400 / 3600, seed=1)
    assert [e for e in line.events if e.t_s < 100] == [e for e in normal.events if e.t_s < 100]  # same until then
    starts = {e.part_id: e.t_s for e in line.events if e.kind == "part_started"}
    durations = {e.part_id: e.t_s - starts[e.part_id] for e in line.events if e.kind == "part_finished"}
    assert {durations[p] for p, t in starts.items() if 100 <= t < 180} == {20}  # half speed while active
    assert {durations[p] for p, t in starts.items() if t < 100 or 250 <= t < 380} == {10}
    in_window = [e for e in line.events if e.kind in ("part_scrapped", "part_completed") and 100 < e.t_s <= 200]
    assert sum(e.kind == "part_scrapped" for e in in_window) >= len(in_window) - 2
    assert (200, "down", "pressure_leak") in _states(line, "m") and (250, "running", None) in _states(line, "m")
    assert [(e.t_s, e.kind, e.reason) for e in line.events if e.kind.startswith("downtime")] == [
        (200, "downtime_started", "pressure_leak"), (250, "downtime_ended", "pressure_leak")]


def test_sensor_faults_leave_the_line_alone(tmp_path):
    plant = load_plant()
    for name in ("sensor_stuck", "network_outage"):
        faulty = simulate(plant, hours=8, seed=2, scenario=load_scenario(name, plant))
        assert faulty.events == simulate(plant, hours=8, seed=2).events


def test_the_product_plan_sets_each_days_mix():
    """Mondays make only brackets and Tuesdays only housings; the other days follow the products' mix."""
    data = yaml.safe_load(default_plant_path().read_text())
    data["regimes"] = {"product_plan": {"mon": {"bracket": 1.0}, "tue": {"housing": 1.0}}}
    run = simulate(parse_plant(data, "plan.yaml"), hours=72, seed=3)
    released = [(e.t_s // 86400, e.product) for e in run.events if e.kind == "part_released" and e.t_s > 0]
    assert {p for day, p in released if day == 0} == {"bracket"}  # t=0 is Monday 06:00
    assert {p for day, p in released if day == 1} == {"housing"}
    assert {p for day, p in released if day == 2} == {"bracket", "housing"}


def test_running_the_line_pauses_the_garbage_collector_and_restores_it():
    env = simpy.Environment()
    line = Line(env, load_plant(), 1)
    seen = []
    env.process(_probe(env, seen))
    line.run_until(10)
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        line.run_until(20)
        assert not gc.isenabled()  # a caller's choice is left as it was
    finally:
        gc.enable()


def _probe(env, seen):
    yield env.timeout(1)
    seen.append(gc.isenabled())
