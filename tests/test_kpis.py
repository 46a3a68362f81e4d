"""KPIs from a run's logs: exact values on a hand-written log, the warm-up window, and OEE by the standard
definition (per rated machine, its own output, the fastest cycle as ideal)."""

import json

import pytest

from simulators.kpis import bottleneck, compute_kpis, format_kpis
from simulators.line import LineRun, simulate
from simulators.plantfile import load_plant, parse_plant
from simulators.records import MesEvent, StateChange

PLANT = parse_plant(
    {
        "schema": "factorylab/plant/v1",
        "name": "one machine",
        "location": {"site": "s", "area": "a", "line": "l"},
        "stations": {"m": {"breakdowns": {"mtbf_hours": 9, "mttr_hours": 1}}},
        "products": {"p": {"mix": 1.0, "routing": [{"station": "m", "time": {"dist": "constant", "value_s": 10}}]}},
        "release": {"policy": "conwip", "wip_cap": 1},
    },
    "kpi.yaml",
)


def _log_run() -> LineRun:
    """100 s: part 1 from 0 to 10 (good), part 2 from 10, machine down 20-40, part 2 scrapped at 50,
    planned stop 60-100 with part 3 released at 50 and still waiting."""
    states = [
        StateChange(0, "m", "running"),
        StateChange(20, "m", "down", "breakdown"),
        StateChange(40, "m", "running"),
        StateChange(50, "m", "starved"),
        StateChange(60, "m", "planned_stop", "off_shift"),
    ]
    events = [
        MesEvent(0, "part_released", None, 1, "p"),
        MesEvent(0, "part_started", "m", 1, "p"),
        MesEvent(10, "part_finished", "m", 1, "p"),
        MesEvent(10, "part_completed", "m", 1, "p"),
        MesEvent(10, "part_released", None, 2, "p"),
        MesEvent(10, "part_started", "m", 2, "p"),
        MesEvent(50, "part_finished", "m", 2, "p"),
        MesEvent(50, "part_scrapped", "m", 2, "p"),
        MesEvent(50, "part_released", None, 3, "p"),
    ]
    return LineRun(PLANT, 0, 100.0, states, events, [])


def test_kpis_of_a_hand_written_log():
    kpis = compute_kpis(_log_run())
    assert kpis["good_parts"] == 1 and kpis["scrapped_parts"] == 1
    assert kpis["throughput_per_hour"] == pytest.approx(36.0)
    assert kpis["mean_cycle_time_s"] == 10
    assert kpis["mean_wip"] == pytest.approx(1.0)
    times = kpis["stations"]["m"]["state_time_s"]
    assert times == {"running": 30, "starved": 10, "blocked": 0, "down": 20, "planned_stop": 40}
    assert kpis["stations"]["m"]["utilisation"] == pytest.approx(30 / 60)
    oee = kpis["oee"]
    assert oee == kpis["stations"]["m"]["oee"] | {"bottleneck": "m"}
    assert oee["ideal_cycle_time_s"] == 10 and (oee["good_parts"], oee["parts_out"]) == (1, 2)
    assert oee["availability"] == pytest.approx(40 / 60)
    assert oee["performance"] == pytest.approx(10 * 2 / 40)
    assert oee["quality"] == pytest.approx(0.5)
    assert oee["oee"] == pytest.approx(10 * 1 / 60)  # ideal cycle time x good parts / planned time


def test_warmup_leaves_the_start_out_of_every_kpi():
    kpis = compute_kpis(_log_run(), warmup_s=30)
    assert kpis["window_s"] == 70
    assert kpis["good_parts"] == 0 and kpis["scrapped_parts"] == 1 and kpis["mean_cycle_time_s"] is None
    assert kpis["stations"]["m"]["state_time_s"]["down"] == 10
    assert kpis["oee"]["quality"] == 0.0 and kpis["oee"]["oee"] == 0.0
    with pytest.raises(ValueError, match="warmup_s must be in"):
        compute_kpis(_log_run(), warmup_s=100)


def test_bottleneck_allows_for_breakdowns():
    plant = parse_plant(
        {
            "schema": "factorylab/plant/v1",
            "name": "two",
            "location": {"site": "s", "area": "a", "line": "l"},
            "stations": {"a": {"breakdowns": {"mtbf_hours": 1, "mttr_hours": 1}}, "b": {"speed": 0.5}},
            "products": {
                "p": {
                    "mix": 1.0,
                    "routing": [
                        {"station": "a", "time": {"dist": "exponential", "mean_s": 12}},
                        {"station": "b", "time": {"dist": "constant", "value_s": 10}},
                    ],
                }
            },
            "release": {"policy": "conwip", "wip_cap": 1},
        },
        "b.yaml",
    )
    assert bottleneck(plant) == ("a", 12.0)  # 24 s effective against b's 20 s


def _two_stations(first: dict, ideal_s: float | None = None):
    """Station a (lognormal 100 s, sd 20) feeding b (constant 50 s), a CONWIP line of 2."""
    step = {"station": "a", "time": {"dist": "lognormal", "mean_s": 100, "sd_s": 20}}
    if ideal_s is not None:
        step["ideal_s"] = ideal_s
    return parse_plant(
        {
            "schema": "factorylab/plant/v1",
            "name": "two",
            "location": {"site": "s", "area": "a", "line": "l"},
            "stations": {"a": first, "b": {"scrap_rate": 0.3}},
            "products": {"p": {"mix": 1.0, "routing": [step, {"station": "b", "time": {"dist": "constant",
                                                                                       "value_s": 50}}]}},
            "release": {"policy": "conwip", "wip_cap": 2},
        },
        "two.yaml",
    )


def test_oee_takes_the_fastest_cycle_as_ideal_and_counts_the_rated_machine_output():
    """A never-starved station a with lognormal times (mean 100 s): the ideal cycle is the law's fastest (its 5th
    percentile, 70.8 s), so its performance is about 0.7, not 1; b's 30 % scrap lowers b's quality, not a's."""
    run = simulate(_two_stations({}), hours=200, seed=3)
    kpis = compute_kpis(run)
    a = kpis["stations"]["a"]["oee"]
    assert a["ideal_cycle_time_s"] == pytest.approx(70.8, abs=0.1)
    assert a["availability"] == 1.0 and a["quality"] == 1.0
    assert a["performance"] == pytest.approx(70.8 / 100, rel=0.02)  # it always runs: ideal / mean cycle
    assert kpis["oee"]["bottleneck"] == "a" and kpis["oee"]["oee"] == pytest.approx(a["oee"])
    b = kpis["stations"]["b"]["oee"]
    assert b["quality"] == pytest.approx(0.7, abs=0.02) and b["ideal_cycle_time_s"] == 50
    # the routing step may declare the machine's rated cycle instead
    declared = compute_kpis(simulate(_two_stations({}, ideal_s=80), hours=20, seed=3))["stations"]["a"]["oee"]
    assert declared["ideal_cycle_time_s"] == 80


def test_oee_of_a_product_mix_weights_each_products_ideal_cycle_by_what_the_station_made():
    run = simulate(load_plant(), hours=112, seed=5)
    kpis = compute_kpis(run)
    cnc = kpis["stations"]["cnc"]["oee"]
    made = {product: sum(1 for e in run.events if e.kind == "part_finished" and e.machine == "cnc"
                         and e.product == product) for product in ("bracket", "housing")}
    ideal = {p.name: p.routing[1].ideal_cycle_s for p in load_plant().products.values()}
    assert cnc["parts_out"] == sum(made.values())
    run_s = kpis["window_s"] - sum(kpis["stations"]["cnc"]["state_time_s"][s] for s in ("planned_stop", "down"))
    assert cnc["performance"] == pytest.approx(sum(ideal[p] * n for p, n in made.items()) / run_s)
    assert cnc["performance"] < 0.8  # the mean cycle is well above the fastest: a speed loss OEE shows


def test_default_plant_kpis_are_consistent_and_json():
    run = simulate(load_plant(), hours=11 * 24 + 16, seed=4)  # to Friday 22:00 of the second week
    kpis = json.loads(json.dumps(compute_kpis(run, warmup_s=3600)))
    oee = kpis["oee"]
    assert oee["bottleneck"] == "cnc"
    assert 0.7 <= kpis["stations"]["cnc"]["utilisation"] <= 0.95
    assert 0 < oee["oee"] <= 1 and oee["oee"] == pytest.approx(
        oee["availability"] * oee["performance"] * oee["quality"]
    )
    planned_s = kpis["window_s"] - kpis["stations"]["cnc"]["state_time_s"]["planned_stop"]
    assert oee["oee"] == pytest.approx(oee["ideal_cycle_time_s"] * oee["good_parts"] / planned_s)
    assert 0.5 < oee["oee"] < 0.75  # a typical plant's, well under the 0.85 of world-class lines
    for station in kpis["stations"].values():
        assert sum(station["state_time_s"].values()) == pytest.approx(kpis["window_s"])
    # Little's law over calendar time: WIP = throughput x cycle time (CONWIP holds the WIP at its cap); the run
    # ends at a shift's end so that no part still in the line has waited a weekend (scrap: the other 5%).
    assert kpis["mean_wip"] == pytest.approx(kpis["throughput_per_hour"] / 3600 * kpis["mean_cycle_time_s"], rel=0.05)
    assert "OEE (at cnc)" in format_kpis(kpis)
