"""Verdicts of lab2_dashboard (CCPM competence 2, a real-time dashboard), decided in the grader's process.

This module is the grader's reading of the lab's brief (which indicator needs which representation and which
signals, the site's colour code, the vibration alarm limit) and of what a dashboard must show after a stream:
the newest value of each sensor by timestamp, the spindle temperature's last 15 minutes, each machine's state,
recomputed here from the graded variant's observed tables for the windows the grader chose. The kernel records
the learner's answers and what its `Dashboard` and `make_feed` did on the grader's inputs (labkit.lab2_dashboard).
"""

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import plotly.io

from autograde.variants import Variant, add_dataset, observed_tables, practice_variant
from autograde.verdicts import Evidence, LabVerdicts, VerdictFailed, expect, phrase
from labkit import lab2_dashboard as kit
from labkit import plaindata
from simulators import topics

VERDICTS = LabVerdicts("lab2_dashboard")
SCENARIO, HOURS = "normal", 8.0
# What the brief asks for, indicator by indicator, and the representation that answers it.
REPRESENTATIONS = {
    "machine_states": "status",
    "cnc_vibration": "gauge",
    "cnc_spindle_temperature": "trend",
    "power_by_machine": "bar",
    "latest_values": "table",
}
WHY = {
    "machine_states": phrase("the team leader reads each machine's state at a glance from across the aisle"),
    "cnc_vibration": phrase("one current value read against its range and an alarm limit"),
    "cnc_spindle_temperature": phrase("how a value has evolved over the last minutes"),
    "power_by_machine": phrase("the same quantity compared between machines"),
    "latest_values": phrase("several exact values with their unit and time, to read and note down"),
}
FIGURE_TYPES = {"cnc_vibration": "indicator", "cnc_spindle_temperature": "scatter",
                "power_by_machine": "bar", "latest_values": "table"}
# The alarm limit the brief's maintenance manager asks to show: ISO 10816-1 (now ISO 20816-1) class I, machines up
# to 15 kW such as the CNC's 11 kW spindle motor: zone boundaries A/B 0.71, B/C 1.8, C/D 4.5 mm/s r.m.s.
VIBRATION_ALARM_MM_S = 4.5
TREND_WINDOW_S = 15 * 60.0  # the spindle temperature trend shows the last 15 minutes


# --- the grader's inputs ------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def _data(seed: int) -> SimpleNamespace:
    tables = observed_tables(SCENARIO, seed, HOURS, plant=kit.PLANT)
    return SimpleNamespace(**tables)


def grader_inputs(variant: Variant) -> dict:
    """The inputs the kernel's probes receive for `variant` (the kit's practice ones for the practice seed)."""
    return _inputs(variant.seed)


@functools.lru_cache(maxsize=16)
def _inputs(seed: int) -> dict:
    """`grader_inputs` of the variant of `seed`, drawn once (the verdicts only read them)."""
    if seed == practice_variant(VERDICTS.lab).seed:
        return {"layout_sensors": _data(seed).sensors, "replay_windows": kit.practice_replay_windows(),
                "feed_case": kit.practice_feed_case()}
    rng = np.random.default_rng([seed, 2, 1])
    sensors = _data(seed).sensors.copy()
    sensors.loc[sensors.topic == kit.vibration_topic(sensors), "high"] = float(
        rng.choice([16.0, 20.0, 30.0, 40.0, 50.0]))
    start = float(rng.integers(30, 400))
    minutes = float(rng.integers(6, 12))
    late_value = round(float(rng.uniform(0.05, 0.5)), 3)
    windows = [{"start_min": start, "minutes": minutes, "late_s": float(rng.integers(5, 60)), "late_value": late_value},
               {"start_min": start + minutes, "minutes": float(rng.integers(6, 12)),
                "late_s": float(rng.integers(5, 60)), "late_value": late_value}]
    feed = {"start_min": float(rng.integers(30, 440)), "minutes": 3.0, "step_s": float(rng.choice([0.001, 0.002])),
            "max_refresh_hz": float(rng.choice([1.0, 2.0, 4.0])),
            "extra": [[1, round(float(rng.uniform(1, 20)), 2), "bad"], [2, float(rng.integers(60, 200)), "good"],
                      [3, None, "good"], [4, -float(rng.integers(1, 9)), "good"]]}
    return {"layout_sensors": sensors, "replay_windows": windows, "feed_case": feed}


@VERDICTS.preparer
def prepare(variant: Variant, folder: Path) -> None:
    add_dataset(folder, SCENARIO, variant.seed, HOURS, plant=kit.PLANT)
    for name, value in grader_inputs(variant).items():
        plaindata.write(folder / "inputs", name, value)


# --- the brief's reading of the sensors ---------------------------------------------------------------------

def signals_for(sensors: pd.DataFrame) -> dict[str, set[tuple[str, str]]]:
    """The (machine, sensor) pairs each sensor indicator of the brief needs, located in the sensor metadata."""
    def pairs(rows):
        return {(row.machine, row.sensor) for row in rows.itertuples()}

    return {
        "cnc_vibration": pairs(sensors[(sensors.machine == "cnc") & (sensors.kind == "vibration")]),
        "cnc_spindle_temperature": pairs(sensors[(sensors.machine == "cnc") & (sensors.kind == "temperature")]),
        "power_by_machine": pairs(sensors[sensors.kind == "power"]),
        "latest_values": pairs(sensors[sensors.kind == "pressure"]),
    }


@dataclass(frozen=True)
class Truth:
    """What a correct dashboard shows after a stream: the newest value of each sensor (by its timestamp, so a
    late message never replaces a newer value), the spindle temperature trend, each machine's state."""

    latest: dict[tuple[str, str], tuple[pd.Timestamp, float]]
    trend: list[tuple[pd.Timestamp, float]]
    states: dict[str, str]


def truth_of(stream, sensors: pd.DataFrame) -> Truth:
    where = {row.topic: (row.machine, row.sensor) for row in sensors.itertuples()}
    latest: dict[tuple[str, str], tuple[pd.Timestamp, float]] = {}
    states: dict[str, str] = {}
    temperature: list[tuple[pd.Timestamp, float]] = []
    (trend_pair,) = signals_for(sensors)["cnc_spindle_temperature"]
    for topic, payload in stream:
        if topic.endswith(f"/{topics.STATE}"):
            states[topic.split("/")[-2]] = payload["state"]
            continue
        pair, when = where[topic], pd.Timestamp(payload["timestamp"])
        if pair not in latest or when >= latest[pair][0]:
            latest[pair] = (when, payload["value"])
        if pair == trend_pair:
            temperature.append((when, payload["value"]))
    newest = max(when for when, _ in temperature)
    trend = sorted(point for point in temperature if point[0] >= newest - pd.Timedelta(seconds=TREND_WINDOW_S))
    return Truth(latest, trend, states)


# --- answers ------------------------------------------------------------------------------------------------

@VERDICTS.cell("lab2_dashboard_representations_test")
def representations(evidence: Evidence, variant: Variant) -> None:
    """Each indicator of the brief has the representation that answers its need."""
    given = evidence["representations"]
    expect(isinstance(given, dict), "REPRESENTATIONS must be a dict")
    missing = sorted(set(REPRESENTATIONS) - set(given))
    extra = sorted(set(given) - set(REPRESENTATIONS))
    expect(not missing and not extra, "REPRESENTATIONS must have exactly the brief's indicators: missing {missing}, "
                                      "unknown {extra}", missing=missing, extra=extra)
    for indicator, kind in given.items():
        expect(kind in kit.KINDS, "REPRESENTATIONS[{indicator!r}]: {kind!r} is not one of {kinds}",
               indicator=indicator, kind=str(kind)[:40], kinds=kit.KINDS)
    wrong = [name for name in REPRESENTATIONS if given[name] != REPRESENTATIONS[name]]
    failures = [VerdictFailed("{name}: {kind!r} does not fit; reread the brief: the need is {need}",
                              name=name, kind=given[name], need=WHY[name]) for name in wrong]
    if failures:  # every misfit named, in the brief's order: "first; second; ...", each translated on its own
        failed = failures[-1]
        for earlier in reversed(failures[:-1]):
            failed = VerdictFailed("{failure}; {others}", failure=earlier, others=failed)
        raise failed


@VERDICTS.cell("lab2_dashboard_signals_test")
def signals(evidence: Evidence, variant: Variant) -> None:
    """Each sensor indicator gets exactly the (machine, sensor) pairs the brief needs, located in the metadata."""
    given = evidence["signals"]
    expected = signals_for(_data(variant.seed).sensors)
    expect(isinstance(given, dict), "SIGNALS must be a dict")
    expect(set(given) == set(expected), "SIGNALS must have the keys {keys}, got {got}",
           keys=sorted(expected), got=sorted(given)[:8])
    for indicator, pairs in expected.items():
        entries = given[indicator]
        expect(isinstance(entries, list) and all(isinstance(p, list) and len(p) == 2 for p in entries),
               "SIGNALS[{indicator!r}] must be a list of (machine, sensor) pairs", indicator=indicator)
        chosen = {tuple(pair) for pair in entries}
        missing, extra = len(pairs - chosen), sorted(chosen - pairs)
        expect(not missing and not extra, "SIGNALS[{indicator!r}]: {missing} pair(s) missing, not needed "
                                          "{extra}; look the sensors up in `sensors` (kind, machine)",
               indicator=indicator, missing=missing, extra=extra)


# --- the dashboard --------------------------------------------------------------------------------------------

def _figures(recorded) -> dict:
    expect(isinstance(recorded, dict) and isinstance(recorded.get("figures"), dict),
           "dashboard.figures must map {names} to plotly figures", names=sorted(FIGURE_TYPES))
    figures = recorded["figures"]
    expect(set(figures) == set(FIGURE_TYPES),
           "dashboard.figures must map {names} to plotly figures, got {got}",
           names=sorted(FIGURE_TYPES), got=sorted(figures)[:8])
    try:
        return {name: plotly.io.from_json(text, skip_invalid=True) for name, text in figures.items()}
    except (ValueError, TypeError) as error:
        raise VerdictFailed("dashboard.figures could not be read as plotly figures ({error})",
                            error=str(error)[:100]) from None


def _title(figure) -> str:
    text = figure.layout.title.text or ""
    trace = figure.data[0] if figure.data else None
    if trace is not None and trace.type == "indicator" and trace.title.text:
        text += " " + trace.title.text
    return text


def _units(sensors: pd.DataFrame) -> dict[tuple[str, str], str]:
    return {(row.machine, row.sensor): row.unit for row in sensors.itertuples()}


@VERDICTS.cell("lab2_dashboard_layout_test")
def layout(evidence: Evidence, variant: Variant) -> None:
    """A dashboard built from the grader's sensor metadata has the brief's indicators, each of the right kind,
    with titles, units, the metadata's range and the alarm limit, and one displayable widget."""
    sensors = grader_inputs(variant)["layout_sensors"]
    recorded = evidence["layout"]
    figures = _figures(recorded)
    for name, kind in FIGURE_TYPES.items():
        figure = figures[name]
        expect(bool(figure.data), "figures[{name!r}] has no trace: add a go.{trace}(...) to it",
               name=name, trace=kind.capitalize())
        expect(figure.data[0].type == kind, "figures[{name!r}] is a {found!r} trace, expected {kind!r}",
               name=name, found=figure.data[0].type, kind=kind)
        expect(bool(_title(figure).strip()), "figures[{name!r}] has no title: say what it shows", name=name)
    unit = _units(sensors)
    meta = sensors.set_index(["machine", "sensor"])
    wanted = signals_for(sensors)

    (vibration,) = wanted["cnc_vibration"]
    gauge = figures["cnc_vibration"].data[0]
    expect("gauge" in (gauge.mode or ""), "figures['cnc_vibration']: the indicator needs mode='gauge+number'")
    expect(unit[vibration] in _title(figures["cnc_vibration"]),
           "figures['cnc_vibration']: its title must give the unit ({unit})", unit=unit[vibration])
    low, high = meta.loc[vibration, ["low", "high"]]
    shown_range = [float(x) for x in (gauge.gauge.axis.range or ()) if x is not None]
    sensor_range = [float(low), float(high)]  # named: Babel's extractor splits a message call at such commas
    expect(shown_range == sensor_range,
           "figures['cnc_vibration']: the gauge's axis range must be the sensor's range [low, high] read from the "
           "sensor metadata it was given (not typed in)")
    expect(gauge.gauge.threshold.value == VIBRATION_ALARM_MM_S,
           "figures['cnc_vibration']: mark the brief's alarm limit with gauge.threshold.value = {limit}",
           limit=VIBRATION_ALARM_MM_S)

    (temperature,) = wanted["cnc_spindle_temperature"]
    trend_layout = figures["cnc_spindle_temperature"].layout
    expect(unit[temperature] in (trend_layout.yaxis.title.text or ""),
           "figures['cnc_spindle_temperature']: label the y axis with the unit ({unit})", unit=unit[temperature])
    expect(bool((trend_layout.xaxis.title.text or "").strip()),
           "figures['cnc_spindle_temperature']: label the x axis (time)")
    power_units = {unit[pair] for pair in wanted["power_by_machine"]}
    bar_label = figures["power_by_machine"].layout.yaxis.title.text or ""
    expect(all(u in bar_label for u in power_units),
           "figures['power_by_machine']: label the y axis with the unit ({units})",
           units=", ".join(sorted(power_units)))
    header = " ".join(str(value) for value in (figures["latest_values"].data[0].header.values or ())).lower()
    expect("unit" in header, "figures['latest_values']: the table needs a 'unit' column so values can be read")

    lights = recorded.get("lights")
    machines = set(sensors.machine)
    expect(isinstance(lights, dict) and set(lights) == machines,
           "dashboard.lights must map every machine {machines} to its status light", machines=sorted(machines))
    expect(recorded.get("lights_are_html") is True, "dashboard.lights: each status light must be an ipywidgets.HTML")
    expect(recorded.get("widget_is_box") is True,
           "dashboard.widget must be an ipywidgets container (VBox, HBox, Grid)")
    expect(recorded.get("lights_in_widget") is True, "dashboard.widget must contain every status light")
    outputs = recorded.get("outputs_in_widget")
    expect(isinstance(outputs, int) and outputs >= len(FIGURE_TYPES),
           "dashboard.widget must contain one ipywidgets.Output per figure ({count})", count=len(FIGURE_TYPES))


def _number(cell) -> float | None:
    if isinstance(cell, bool):
        return None
    try:
        number = float(cell)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


TOLERANCE = 0.006  # how far a shown value may be from the newest one (rounding for display)


def _close(shown, expected: float) -> bool:
    """Whether `shown`, a number (see `_number`), is the newest value `expected`."""
    return abs(shown - expected) <= TOLERANCE


def check_shows(recorded: dict, truth: Truth, sensors: pd.DataFrame) -> None:
    """The recorded figures and lights show `truth`."""
    figures = _figures(recorded)
    wanted = signals_for(sensors)
    (vibration,) = wanted["cnc_vibration"]
    shown = _number(figures["cnc_vibration"].data[0].value)
    expect(shown is not None, "the CNC vibration gauge: shows no value")
    expect(_close(shown, truth.latest[vibration][1]), "the CNC vibration gauge: shows {shown:.3f}, which is not the "
                                                      "newest value of the data (by timestamp)", shown=shown)

    bar = figures["power_by_machine"].data[0]
    bars = dict(zip(map(str, bar.x if bar.x is not None else ()), bar.y if bar.y is not None else (), strict=False))
    for machine, sensor in sorted(wanted["power_by_machine"]):
        expect(machine in bars, "the power bar chart has no bar for {machine} (x must be the machine names)",
               machine=machine)
        shown = _number(bars[machine])
        expect(shown is not None, "the power bar of {machine}: shows no value", machine=machine)
        expect(_close(shown, truth.latest[(machine, sensor)][1]), "the power bar of {machine}: shows {shown:.3f}, "
               "which is not the newest value of the data (by timestamp)", machine=machine, shown=shown)

    table = figures["latest_values"].data[0]
    columns = [list(column) for column in table.cells.values] if table.cells.values is not None else []
    expect(len({len(column) for column in columns}) <= 1, "the table's columns must all have one cell per row")
    rows = list(zip(*columns, strict=True))
    unit = _units(sensors)
    for pair in sorted(wanted["latest_values"]):
        row = next((row for row in rows if pair[0] in map(str, row) and pair[1] in map(str, row)), None)
        machine, sensor = pair
        expect(row is not None, "the table has no row for {machine} / {sensor}", machine=machine, sensor=sensor)
        numbers = [cell for cell in row if _number(cell) is not None]
        expect(bool(numbers), "the table row of {machine} / {sensor} shows no value", machine=machine, sensor=sensor)
        shown = _number(numbers[0])
        expect(_close(shown, truth.latest[pair][1]), "the table's value of {machine} / {sensor}: shows {shown:.3f}, "
               "which is not the newest value of the data (by timestamp)", machine=machine, sensor=sensor, shown=shown)
        expect(unit[pair] in map(str, row), "the table row of {machine} / {sensor} must give its unit ({unit})",
               machine=machine, sensor=sensor, unit=unit[pair])

    trend = figures["cnc_spindle_temperature"].data[0]
    try:
        x = pd.to_datetime(pd.Series(list(trend.x if trend.x is not None else ())), utc=True)
    except (ValueError, TypeError):
        raise VerdictFailed("the spindle temperature trend's x values must be timestamps") from None
    y = list(trend.y if trend.y is not None else ())
    expect(len(x) == len(y) > 0, "the spindle temperature trend shows no points")
    expect(x.is_monotonic_increasing, "the trend's points must be in time order (late messages arrive out of order)")
    first, newest = truth.trend[0][0], truth.trend[-1][0]
    expect(x.iloc[0] >= first and x.iloc[-1] == newest,
           "the trend must show the last {minutes:g} minutes up to the newest spindle temperature",
           minutes=TREND_WINDOW_S / 60)
    expect(abs(len(y) - len(truth.trend)) <= max(2, len(truth.trend) // 100),
           "the trend must show every point of the last {minutes:g} minutes, no more, no fewer",
           minutes=TREND_WINDOW_S / 60)
    shown = _number(y[-1])
    expect(shown is not None, "the trend's newest point: shows no value")
    expect(_close(shown, truth.trend[-1][1]), "the trend's newest point: shows {shown:.3f}, which is not the newest "
                                              "value of the data (by timestamp)", shown=shown)

    lights = recorded.get("lights")
    expect(isinstance(lights, dict), "dashboard.lights must map every machine to its status light")
    for machine, state in sorted(truth.states.items()):
        html = str(lights.get(machine, ""))
        expect(state in html and kit.STATE_COLOURS[state] in html.lower(),
               "the status light of {machine} must say its current state in the site's colour for that state",
               machine=machine)


@VERDICTS.cell("lab2_dashboard_replay_test")
def replay(evidence: Evidence, variant: Variant) -> None:
    """After each of the grader's windows of the variant's shift (each ending with a late reading), the
    dashboard's gauge, bars, table, trend and lights show the newest values and states of all data so far."""
    recorded = evidence["shown"]
    windows = grader_inputs(variant)["replay_windows"]
    expect(isinstance(recorded, list) and len(recorded) == len(windows), "the replay probe did not run every window")
    data = _data(variant.seed)
    seen: list = []
    for index, (window, after) in enumerate(zip(windows, recorded, strict=True)):
        seen += kit.window_stream(data, window)
        try:
            check_shows(after, truth_of(seen, data.sensors), data.sensors)
        except VerdictFailed as failed:
            if index == 0:
                raise VerdictFailed("after the first replayed window: {failure}", failure=failed) from None
            raise VerdictFailed("after the second replayed window: {failure}", failure=failed) from None


@VERDICTS.cell("lab2_dashboard_feed_test")
def feed(evidence: Evidence, variant: Variant) -> None:
    """Given the grader's messages on a fake clock, the feed passes exactly the filtered messages to
    `dashboard.update`, in order, and calls `dashboard.refresh()` at once, then at most `max_refresh_hz` times
    per second of clock, yet keeps refreshing while messages flow."""
    result = evidence["feed"]
    case = grader_inputs(variant)["feed_case"]
    expect(isinstance(result, dict) and isinstance(result.get("updates"), list)
           and isinstance(result.get("refreshes"), list), "the feed probe's result could not be read")
    data = _data(variant.seed)
    messages = kit.feed_messages(data, case)
    expected = [[topic, payload["timestamp"]] for topic, payload in kit.filtered(messages, data.sensors)]
    updates = result["updates"]
    passed = {(u[0], u[1]) for u in updates if isinstance(u, list) and len(u) == 2}
    dropped = [pair for pair in expected if tuple(pair) not in passed]
    expect(not dropped, "the feed dropped {count} message(s) the filter keeps (machine states pass through)",
           count=len(dropped))
    expect(len(updates) == len(expected),
           "the feed passed {count} message(s) too many to dashboard.update: filter readings "
           "with keep_reading and the sensor's range (bad quality, missing or out-of-range values are dropped)",
           count=len(updates) - len(expected))
    expect(updates == expected, "the feed must pass messages to dashboard.update in the order they arrive")
    refreshes = result["refreshes"]
    hz = case["max_refresh_hz"]
    duration_s = len(messages) * case["step_s"]
    allowed = math.floor(duration_s * hz + 1e-9) + 1
    expect(bool(refreshes), "the feed never called dashboard.refresh(): the dashboard would never redraw")
    expect(plaindata.is_finite_number(refreshes[0]) and abs(refreshes[0] - kit.FEED_CLOCK_START_S) < 1e-6,
           "the first message must refresh the dashboard at once")
    gaps = np.diff(np.asarray(refreshes, dtype=float))
    expect(len(refreshes) <= allowed and bool(np.all(gaps >= 1.0 / hz - 1e-9)),
           "the feed called dashboard.refresh() more often than max_refresh_hz={hz:g} times per second of clock()",
           hz=hz)
    expect(len(refreshes) >= allowed // 2,
           "the feed refreshed only {count} times in {duration_s:g} s of clock() while messages kept coming",
           count=len(refreshes), duration_s=duration_s)


@VERDICTS.cell("lab2_dashboard_live_test")
def live(evidence: Evidence, variant: Variant) -> None:
    """Fed by the live plant, the dashboard's gauge fills within seconds and keeps changing, and every
    machine's light shows a live state."""
    result = evidence["live"]
    expect(isinstance(result, dict) and isinstance(result.get("gauge"), list) and len(result["gauge"]) == 2,
           "the live probe's result could not be read")
    first, later = result["gauge"]
    expect(plaindata.is_finite_number(first), "no live value reached the CNC vibration gauge within 10 s: is the "
                                              "feed subscribed?")
    expect(plaindata.is_finite_number(later) and later != first,
           "the CNC vibration gauge did not change for 10 s: does the feed refresh?")
    lights = result.get("lights")
    machines = set(_data(variant.seed).sensors.machine)
    expect(isinstance(lights, dict) and set(lights) == machines,
           "dashboard.lights must map every machine {machines} to its light", machines=sorted(machines))
    unlit = sorted(machine for machine, html in lights.items()
                   if not any(state in str(html) for state in kit.STATE_COLOURS))
    expect(not unlit, "status lights without a live state: {unlit}; states are retained messages on "
                      "<line>/<machine>/_state", unlit=unlit)

