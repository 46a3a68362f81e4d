"""Checks of lab2_dashboard: the brief's indicators, a replayable stream of the plant, and the truth it shows.

The lab asks for a real-time dashboard of Ligne d'usinage 1. This module is the grader's reading of the
lab's brief (which indicator needs which representation and which signals, the site's colour code for
machine states, the vibration alarm limit) and the stream the grader replays: the messages a subscriber of
the live plant would have received during a window of the learner's recorded shift, as `Message`s shaped like
paho's (`.topic`, `.payload` bytes of JSON). The notebook uses the same stream for its self-checks, so what a
learner sees and what is graded differ only in the window replayed.

A learner's dashboard (see the notebook) offers `update(topic, payload)` for one decoded message,
`refresh()` to redraw, `figures` (plotly figures by indicator), `lights` (one `ipywidgets.HTML` per machine)
and `widget` (the container to display). Every check raises AssertionError with a message that says what to
change; values are compared with the truth recomputed here from the learner's seed.
"""

import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import ipywidgets
import numpy as np
import pandas as pd

from simulators import topics
from simulators.learner import load_dataset

KINDS = ("gauge", "trend", "bar", "table", "status")
# What the brief asks for, indicator by indicator, and the representation that answers it.
REPRESENTATIONS = {
    "machine_states": "status",
    "cnc_vibration": "gauge",
    "cnc_spindle_temperature": "trend",
    "power_by_machine": "bar",
    "latest_values": "table",
}
WHY = {
    "machine_states": "the team leader reads each machine's state at a glance from across the aisle",
    "cnc_vibration": "one current value read against its range and an alarm limit",
    "cnc_spindle_temperature": "how a value has evolved over the last minutes",
    "power_by_machine": "the same quantity compared between machines",
    "latest_values": "several exact values with their unit and time, to read and note down",
}
FIGURE_TYPES = {"cnc_vibration": "indicator", "cnc_spindle_temperature": "scatter",
                "power_by_machine": "bar", "latest_values": "table"}
# The site's colour code for machine states (the andon tower's), from the brief's quality rules.
STATE_COLOURS = {"running": "#2e7d32", "starved": "#f9a825", "blocked": "#f9a825", "down": "#c62828",
                 "planned_stop": "#757575"}
VIBRATION_ALARM_MM_S = 7.1  # ISO 10816-3 zone C/D limit the brief's maintenance manager asks to show
TREND_WINDOW_S = 15 * 60.0  # the spindle temperature trend shows the last 15 minutes
GRADED_WINDOWS_MIN = ((200.0, 10.0), (210.0, 10.0))  # two successive 10-minute replays, from minute 200


@dataclass(frozen=True)
class Message:
    """One MQTT message as a subscriber's callback receives it: paho's `.topic` and `.payload` (JSON bytes)."""

    topic: str
    payload: bytes


def keep_reading(payload: dict, low: float, high: float) -> bool:
    """The filtered stream's rule (lab 1's filter, simplified): a good-quality, present value within the
    sensor's range [low, high]; anything else would mislead a reader of the dashboard."""
    value = payload.get("value")
    return (payload.get("quality") == "good" and isinstance(value, int | float) and math.isfinite(value)
            and low <= value <= high)


def signals_for(sensors: pd.DataFrame) -> dict[str, set[tuple[str, str]]]:
    """The (machine, sensor) pairs each sensor indicator of the brief needs, located in the sensor metadata."""
    pairs = lambda rows: {(row.machine, row.sensor) for row in rows.itertuples()}  # noqa: E731
    return {
        "cnc_vibration": pairs(sensors[(sensors.machine == "cnc") & (sensors.kind == "vibration")]),
        "cnc_spindle_temperature": pairs(sensors[(sensors.machine == "cnc") & (sensors.kind == "temperature")]),
        "power_by_machine": pairs(sensors[sensors.kind == "power"]),
        "latest_values": pairs(sensors[sensors.kind == "pressure"]),
    }


def recorded_messages(*, start_min: float, minutes: float, seed: int | None = None) -> list[Message]:
    """What a subscriber to ``<line>/+/+`` receives from minute `start_min` of the learner's recorded shift,
    for `minutes`: first each machine's retained state, then readings and state changes in arrival order
    (late and duplicated readings included, as on the wire)."""
    data = load_dataset(seed=seed)
    start = pd.Timestamp(data.readings.timestamp.iloc[0]).floor("h") + pd.Timedelta(minutes=start_min)
    end = start + pd.Timedelta(minutes=minutes)
    prefix = data.sensors.topic.iloc[0].rsplit("/", 2)[0]
    topic_of = {(row.machine, row.sensor): row.topic for row in data.sensors.itertuples()}

    stamp = data.readings.timestamp
    readings = data.readings[(stamp >= start) & (stamp < end)]
    arrival_ms = np.maximum.accumulate(readings.timestamp.dt.as_unit("ms").astype("int64").to_numpy())
    items = [(int(ms), 1, Message(topic_of[(machine, sensor)], _reading(when, value, unit, quality)))
             for ms, when, machine, sensor, value, unit, quality in zip(
                 arrival_ms, readings.timestamp, readings.machine, readings.sensor, readings.value, readings.unit,
                 readings.quality, strict=True)]

    states = data.states
    before = states[states.timestamp < start].groupby("machine", observed=True).tail(1)
    retained = [Message(topics.state_topic(prefix, row.machine), _state(row)) for row in before.itertuples()]
    during = states[(states.timestamp >= start) & (states.timestamp < end)]
    items += [(int(row.timestamp.value // 1_000_000), 0, Message(topics.state_topic(prefix, row.machine), _state(row)))
              for row in during.itertuples()]
    items.sort(key=lambda item: item[:2])  # stable: readings keep their arrival order
    return retained + [message for _, _, message in items]


def _iso(when: pd.Timestamp) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _reading(when, value, unit, quality) -> bytes:
    value = None if value is None or not math.isfinite(value) else float(value)
    return topics.encode({"timestamp": _iso(when), "value": value, "unit": str(unit), "quality": str(quality)})


def _state(row) -> bytes:
    reason = row.reason if isinstance(row.reason, str) else None
    return topics.encode({"timestamp": _iso(row.timestamp), "state": row.state, "reason": reason})


def filtered(messages: Iterable[Message], sensors: pd.DataFrame) -> list[tuple[str, dict]]:
    """The decoded messages a dashboard should be given: states, and readings that pass `keep_reading`."""
    ranges = {row.topic: (row.low, row.high) for row in sensors.itertuples()}
    kept = []
    for message in messages:
        payload = json.loads(message.payload)
        if message.topic.endswith(f"/{topics.STATE}") or (
                message.topic in ranges and keep_reading(payload, *ranges[message.topic])):
            kept.append((message.topic, payload))
    return kept


@dataclass(frozen=True)
class Truth:
    """What a correct dashboard shows after a stream: the newest value of each sensor (by its timestamp, so a
    late message never replaces a newer value), the spindle temperature trend, each machine's state."""

    latest: dict[tuple[str, str], tuple[pd.Timestamp, float]]
    trend: list[tuple[pd.Timestamp, float]]
    states: dict[str, str]


def truth_of(stream: Iterable[tuple[str, dict]], sensors: pd.DataFrame) -> Truth:
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


# --- the checks the notebook calls ---


def check_representations(representations: dict) -> None:
    """Each indicator of the brief has the representation that answers its need."""
    assert isinstance(representations, dict), f"REPRESENTATIONS must be a dict, got {type(representations).__name__}"
    missing = sorted(set(REPRESENTATIONS) - set(representations))
    extra = sorted(set(representations) - set(REPRESENTATIONS))
    assert not missing and not extra, (f"REPRESENTATIONS must have exactly the brief's indicators: "
                                       f"missing {missing}, unknown {extra}")
    for indicator, kind in representations.items():
        assert kind in KINDS, f"REPRESENTATIONS[{indicator!r}]: {kind!r} is not one of {KINDS}"
    wrong = [name for name in REPRESENTATIONS if representations[name] != REPRESENTATIONS[name]]
    assert not wrong, "; ".join(
        f"{name}: {representations[name]!r} does not fit; reread the brief: the need is {WHY[name]}"
        for name in wrong)


def check_signals(signals: dict, sensors: pd.DataFrame) -> None:
    """Each sensor indicator gets exactly the (machine, sensor) pairs the brief needs, located in the metadata."""
    expected = signals_for(sensors)
    assert isinstance(signals, dict), f"SIGNALS must be a dict, got {type(signals).__name__}"
    assert set(signals) == set(expected), f"SIGNALS must have the keys {sorted(expected)}, got {sorted(signals)}"
    for indicator, pairs in expected.items():
        given = {tuple(pair) for pair in signals[indicator]}
        assert given == pairs, (f"SIGNALS[{indicator!r}]: missing {sorted(pairs - given)}, not needed "
                                f"{sorted(given - pairs)}; look the sensors up in `sensors` (kind, machine)")


def _descendants(widget) -> list:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _descendants(child)
    return found


def _title(figure) -> str:
    text = figure.layout.title.text or ""
    trace = figure.data[0] if figure.data else None
    if trace is not None and trace.type == "indicator" and trace.title.text:
        text += " " + trace.title.text
    return text


def _units(sensors: pd.DataFrame) -> dict[tuple[str, str], str]:
    return {(row.machine, row.sensor): row.unit for row in sensors.itertuples()}


def check_layout(dashboard, sensors: pd.DataFrame) -> None:
    """The dashboard has the brief's indicators, each of the right kind, with titles, units and ranges."""
    figures = getattr(dashboard, "figures", None)
    assert isinstance(figures, dict) and set(figures) == set(FIGURE_TYPES), (
        f"dashboard.figures must map {sorted(FIGURE_TYPES)} to plotly figures, got "
        f"{sorted(figures) if isinstance(figures, dict) else figures!r}")
    for name, kind in FIGURE_TYPES.items():
        figure = figures[name]
        assert figure.data, f"figures[{name!r}] has no trace: add a go.{kind.capitalize()}(...) to it"
        assert figure.data[0].type == kind, f"figures[{name!r}] is a {figure.data[0].type!r} trace, expected {kind!r}"
        assert _title(figure).strip(), f"figures[{name!r}] has no title: say what it shows"
    unit = _units(sensors)
    meta = sensors.set_index(["machine", "sensor"])
    signals = signals_for(sensors)

    (vibration,) = signals["cnc_vibration"]
    gauge = figures["cnc_vibration"].data[0]
    assert "gauge" in (gauge.mode or ""), "figures['cnc_vibration']: the indicator needs mode='gauge+number'"
    assert unit[vibration] in _title(figures["cnc_vibration"]), (
        f"figures['cnc_vibration']: its title must give the unit ({unit[vibration]})")
    low, high = meta.loc[vibration, ["low", "high"]]
    shown_range = list(gauge.gauge.axis.range or ())
    assert shown_range == [low, high], (f"figures['cnc_vibration']: the gauge's axis range is {shown_range}, "
                                        f"the sensor's range in its metadata is [{low:g}, {high:g}]")
    assert gauge.gauge.threshold.value == VIBRATION_ALARM_MM_S, (
        f"figures['cnc_vibration']: mark the brief's alarm limit with gauge.threshold.value = {VIBRATION_ALARM_MM_S}")

    (temperature,) = signals["cnc_spindle_temperature"]
    layout = figures["cnc_spindle_temperature"].layout
    assert unit[temperature] in (layout.yaxis.title.text or ""), (
        f"figures['cnc_spindle_temperature']: label the y axis with the unit ({unit[temperature]})")
    assert (layout.xaxis.title.text or "").strip(), "figures['cnc_spindle_temperature']: label the x axis (time)"
    power_units = {unit[pair] for pair in signals["power_by_machine"]}
    bar_label = figures["power_by_machine"].layout.yaxis.title.text or ""
    assert all(u in bar_label for u in power_units), (
        f"figures['power_by_machine']: label the y axis with the unit ({', '.join(sorted(power_units))})")
    header = " ".join(str(value) for value in (figures["latest_values"].data[0].header.values or ())).lower()
    assert "unit" in header, "figures['latest_values']: the table needs a 'unit' column so values can be read"

    lights = getattr(dashboard, "lights", None)
    machines = set(sensors.machine)
    assert isinstance(lights, dict) and set(lights) == machines, (
        f"dashboard.lights must map every machine {sorted(machines)} to its status light")
    assert all(isinstance(light, ipywidgets.HTML) for light in lights.values()), (
        "dashboard.lights: each status light must be an ipywidgets.HTML")
    widget = getattr(dashboard, "widget", None)
    assert isinstance(widget, ipywidgets.Box), "dashboard.widget must be an ipywidgets container (VBox, HBox, Grid)"
    shown = _descendants(widget)
    assert all(any(light is w for w in shown) for light in lights.values()), (
        "dashboard.widget must contain every status light")
    outputs = [w for w in shown if isinstance(w, ipywidgets.Output)]
    assert len(outputs) >= len(FIGURE_TYPES), (
        f"dashboard.widget must contain one ipywidgets.Output per figure ({len(FIGURE_TYPES)}), found {len(outputs)}")


def _close(shown, expected: float, what: str, tolerance: float = 0.006) -> None:
    assert shown is not None, f"{what}: shows nothing, expected {expected:.3f}"
    assert abs(float(shown) - expected) <= tolerance, f"{what}: shows {float(shown):.3f}, the data say {expected:.3f}"


def check_shows(dashboard, truth: Truth, sensors: pd.DataFrame) -> None:
    """The dashboard's figures and lights show `truth` (call `dashboard.refresh()` first)."""
    signals, figures = signals_for(sensors), dashboard.figures
    (vibration,) = signals["cnc_vibration"]
    _close(figures["cnc_vibration"].data[0].value, truth.latest[vibration][1], "the CNC vibration gauge")

    bar = figures["power_by_machine"].data[0]
    shown = dict(zip(map(str, bar.x or ()), bar.y or (), strict=False))
    for machine, sensor in sorted(signals["power_by_machine"]):
        assert machine in shown, f"the power bar chart has no bar for {machine} (x must be the machine names)"
        _close(shown[machine], truth.latest[(machine, sensor)][1], f"the power bar of {machine}")

    table = figures["latest_values"].data[0]
    rows = list(zip(*[list(column) for column in table.cells.values], strict=True)) if table.cells.values else []
    unit = _units(sensors)
    for pair in sorted(signals["latest_values"]):
        row = next((row for row in rows if pair[0] in map(str, row) and pair[1] in map(str, row)), None)
        assert row is not None, f"the table has no row for {pair[0]} / {pair[1]}"
        numbers = [cell for cell in row if _number(cell) is not None]
        assert numbers, f"the table row of {pair[0]} / {pair[1]} shows no value"
        _close(_number(numbers[0]), truth.latest[pair][1], f"the table's value of {pair[0]} / {pair[1]}")
        assert unit[pair] in map(str, row), f"the table row of {pair[0]} / {pair[1]} must give its unit ({unit[pair]})"

    trend = figures["cnc_spindle_temperature"].data[0]
    x = pd.to_datetime(pd.Series(list(trend.x or ())), utc=True)
    y = list(trend.y or ())
    assert len(x) == len(y) > 0, "the spindle temperature trend shows no points"
    assert x.is_monotonic_increasing, "the trend's points must be in time order (late messages arrive out of order)"
    first, newest = truth.trend[0][0], truth.trend[-1][0]
    assert x.iloc[0] >= first and x.iloc[-1] == newest, (
        f"the trend must show the last {TREND_WINDOW_S / 60:g} minutes, {first} to {newest}: it shows "
        f"{x.iloc[0]} to {x.iloc[-1]}")
    assert abs(len(y) - len(truth.trend)) <= max(2, len(truth.trend) // 100), (
        f"the trend shows {len(y)} points, the last {TREND_WINDOW_S / 60:g} minutes hold {len(truth.trend)}")
    _close(y[-1], truth.trend[-1][1], "the trend's newest point")

    for machine, state in sorted(truth.states.items()):
        html = dashboard.lights[machine].value
        assert state in html and STATE_COLOURS[state] in html.lower(), (
            f"the status light of {machine} must say {state!r} in the site's colour {STATE_COLOURS[state]}; "
            f"it shows {html!r}")


def _number(cell) -> float | None:
    try:
        return float(cell)
    except (TypeError, ValueError):
        return None


def replay(dashboard, stream: Iterable[tuple[str, dict]]) -> None:
    for topic, payload in stream:
        dashboard.update(topic, payload)
    dashboard.refresh()


def check_replayed_values(make_dashboard: Callable, *, windows=GRADED_WINDOWS_MIN, seed: int | None = None) -> None:
    """Replay the filtered stream of each window in turn into one dashboard; after each, it shows the truth.

    A late reading with an old timestamp and a different value comes last in each window: it must not
    replace the newest value (the check names the gauge if it does)."""
    sensors = load_dataset(seed=seed).sensors
    dashboard = make_dashboard(sensors)
    seen: list[tuple[str, dict]] = []
    for start_min, minutes in windows:
        stream = filtered(recorded_messages(start_min=start_min, minutes=minutes, seed=seed), sensors)
        (vibration,) = signals_for(sensors)["cnc_vibration"]
        topic = sensors.set_index(["machine", "sensor"]).loc[vibration, "topic"]
        newest = max(pd.Timestamp(p["timestamp"]) for t, p in stream if t == topic)
        late = {"timestamp": _iso(newest - pd.Timedelta(seconds=20)), "value": 0.123, "unit": "mm/s",
                "quality": "good"}
        stream.append((topic, late))
        replay(dashboard, stream)
        seen += stream
        check_shows(dashboard, truth_of(seen, sensors), sensors)


def check_feed(make_feed: Callable, make_dashboard: Callable, *, max_refresh_hz: float = 2.0,
               seed: int | None = None) -> None:
    """`make_feed(dashboard, max_refresh_hz=..., clock=...)` gives a paho-style callback that decodes each
    message, filters it, updates the dashboard, and calls `dashboard.refresh()` at most `max_refresh_hz` times per
    second of `clock()` yet keeps refreshing while messages flow."""
    sensors = load_dataset(seed=seed).sensors
    dashboard = make_dashboard(sensors)
    refreshes = []
    redraw = dashboard.refresh
    now = [1000.0]

    def counted_refresh():
        refreshes.append(now[0])
        redraw()

    dashboard.refresh = counted_refresh
    feed = make_feed(dashboard, max_refresh_hz=max_refresh_hz, clock=lambda: now[0])
    messages = recorded_messages(start_min=300, minutes=5, seed=seed)
    (vibration,) = signals_for(sensors)["cnc_vibration"]
    topic = sensors.set_index(["machine", "sensor"]).loc[vibration, "topic"]
    newest = max(pd.Timestamp(json.loads(m.payload)["timestamp"]) for m in messages if m.topic == topic)
    for seconds, value, quality in ((1, 24.0, "bad"), (2, 99.0, "good"), (3, None, "good")):
        payload = {"timestamp": _iso(newest + pd.Timedelta(seconds=seconds)), "value": value, "unit": "mm/s",
                   "quality": quality}
        messages.append(Message(topic, topics.encode(payload)))
    step_s = 0.001
    for message in messages:
        feed(message)
        now[0] += step_s
    duration_s = len(messages) * step_s
    allowed = math.floor(duration_s * max_refresh_hz) + 1
    assert refreshes, "the feed never called dashboard.refresh(): the dashboard would never redraw"
    assert len(refreshes) <= allowed, (f"the feed called dashboard.refresh() {len(refreshes)} times in "
                                       f"{duration_s:g} s of clock(); at most {max_refresh_hz:g} per second means "
                                       f"{allowed}")
    assert len(refreshes) >= allowed // 2, (f"the feed refreshed only {len(refreshes)} times in {duration_s:g} s "
                                            f"while messages kept coming; expected about {allowed}")
    dashboard.refresh = redraw
    dashboard.refresh()
    truth = truth_of(filtered(messages, sensors), sensors)
    try:
        check_shows(dashboard, truth, sensors)
    except AssertionError as error:
        raise AssertionError(f"after the feed (is it filtering with keep_reading?): {error}") from None


def check_live(dashboard, *, timeout_s: float = 10.0, poll_s: float = 0.1) -> None:
    """Fed by the live plant, the dashboard fills within `timeout_s` and its gauge keeps changing (properties
    only: live values depend on timing)."""
    deadline = time.monotonic() + timeout_s
    gauge = dashboard.figures["cnc_vibration"].data[0]
    while gauge.value is None and time.monotonic() < deadline:
        time.sleep(poll_s)
    first = gauge.value
    assert first is not None, (f"no live value reached the CNC vibration gauge within {timeout_s:g} s: "
                               "is the feed subscribed?")
    while gauge.value == first and time.monotonic() < deadline:
        time.sleep(poll_s)
    assert gauge.value != first, (f"the CNC vibration gauge stayed at {first} for {timeout_s:g} s: "
                                  "does the feed refresh?")
    lit = [machine for machine, light in dashboard.lights.items()
           if any(state in light.value for state in STATE_COLOURS)]
    assert len(lit) == len(dashboard.lights), (
        f"status lights without a live state: {sorted(set(dashboard.lights) - set(lit))}; states are retained "
        "messages on <line>/<machine>/_state")
